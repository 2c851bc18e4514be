"""What the generated sync resources (`assistants._sync_generated`) share.

`SyncResource` holds the async resource it drives and the client's blocking portal; the helpers
turn what an async method returned into its blocking counterpart: an `AsyncPaginator` into an
iterable `SyncCursorPage`, an `AsyncEventStream` into an `EventStream`, an
`AsyncAssistantStreamManager` into an `AssistantStreamManager`. No other logic lives here.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from anyio.from_thread import BlockingPortal

from assistants.pagination import AsyncPaginator, SyncCursorPage
from assistants.resources._base import Resource
from assistants.streaming.completions import CompletionStream
from assistants.streaming.handler import AssistantEventHandler
from assistants.streaming.manager import (
    AssistantStreamManager,
    AsyncAssistantStreamManager,
    AsyncEventStream,
    EventStream,
)
from assistants.streaming.prompts import AsyncPromptRunStream, PromptRunStream
from runtime.completions import AsyncCompletionStream
from store.types import Model

AR = TypeVar("AR", bound=Resource)
M = TypeVar("M", bound=Model)
T = TypeVar("T")


class SyncResource(Generic[AR]):
    """A resource of `Client`: the async resource's methods, blocking (see the generated module)."""

    def __init__(self, target: AR, portal: BlockingPortal) -> None:
        self._target = target
        self._portal = portal


def pages(portal: BlockingPortal, paginator: AsyncPaginator[M]) -> SyncCursorPage[M]:
    """The first page, fetched now; iterating it fetches the next pages through the portal."""
    return SyncCursorPage(portal.call(paginator.first_page), portal.call)


def events(portal: BlockingPortal, stream: AsyncEventStream) -> EventStream:
    """The run's events, read from a blocking thread."""
    return EventStream(portal, stream)


def events_or(portal: BlockingPortal, result: T | AsyncEventStream) -> T | EventStream:
    """`stream=True` results become an `EventStream`; anything else is returned as it is."""
    if isinstance(result, AsyncEventStream):
        return EventStream(portal, result)
    return result


def completion_stream(portal: BlockingPortal, stream: AsyncCompletionStream) -> CompletionStream:
    """A streamed completion, read from a blocking thread."""
    return CompletionStream(portal, stream)


def completion_stream_or(
    portal: BlockingPortal, result: T | AsyncCompletionStream
) -> T | CompletionStream:
    """`stream=True` results become a `CompletionStream`; anything else is returned as it is."""
    if isinstance(result, AsyncCompletionStream):
        return CompletionStream(portal, result)
    return result


def prompt_run_stream(portal: BlockingPortal, stream: AsyncPromptRunStream) -> PromptRunStream:
    """A streamed prompt run, read from a blocking thread."""
    return PromptRunStream(portal, stream)


def prompt_run_stream_or(
    portal: BlockingPortal, result: T | AsyncPromptRunStream
) -> T | PromptRunStream:
    """`stream=True` results become a `PromptRunStream`; anything else is returned as it is."""
    if isinstance(result, AsyncPromptRunStream):
        return PromptRunStream(portal, result)
    return result


def manager(
    portal: BlockingPortal, async_manager: AsyncAssistantStreamManager[Any]
) -> AssistantStreamManager[Any]:
    """A `with` stream manager: entering makes the async request, events arrive on this thread."""
    handler = async_manager.requested_handler or AssistantEventHandler()
    return AssistantStreamManager(
        lambda: EventStream(portal, portal.call(async_manager.request)), event_handler=handler
    )
