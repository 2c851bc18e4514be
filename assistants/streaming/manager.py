"""Run streams for the client: typed event iterators and the `stream()` context managers.

- `AsyncEventStream`: the typed events of one run stream (`async for event in stream`), each
  with its `seq`; `close()` stops it. What `runs.create(..., stream=True)` and
  `runs.stream_events(...)` return on the async client.
- `EventStream`: the same on the sync client. A task on the client's event loop pumps the async
  stream into a thread-safe queue, so a blocking reader costs no thread hop per event.
- `AsyncAssistantStreamManager` / `AssistantStreamManager`: what `runs.stream(...)` returns;
  entering creates the run and hands back the event handler, driven by the stream.

Handlers may be ours (`assistants.AssistantEventHandler`) or the openai SDK's own
(`openai.AssistantEventHandler` subclasses): those are fed the SDK's event types, converted from
ours, so an app's existing handler works unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from anyio.from_thread import BlockingPortal

from assistants.streaming.pump import BlockingIterator
from store.events import StreamEvent, parse_event
from store.types import RunEvent

H = TypeVar("H")
AH = TypeVar("AH")


class AsyncEventStream:
    """The typed events of one run stream, in order, each once."""

    def __init__(self, source: AsyncIterator[RunEvent]) -> None:
        self._source = source

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> StreamEvent:
        event = await self._source.__anext__()
        return parse_event(event.event, event.data, event.seq)

    def raw(self) -> AsyncIterator[RunEvent]:
        """The same events untyped, exactly as logged (the server streams these as SSE)."""
        return self._source

    async def close(self) -> None:
        """Stop following the run (the run itself goes on)."""
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


class EventStream(BlockingIterator[StreamEvent]):
    """The typed events of one run stream, for blocking code (see the module docstring)."""

    def __init__(self, portal: BlockingPortal, stream: AsyncEventStream) -> None:
        super().__init__(portal, stream, stream.close)
        self._stream = stream


# --- the openai SDK's handlers ------------------------------------------------------------------


def _is_sdk_handler(handler: object) -> bool:
    return any(cls.__module__.startswith("openai.") for cls in type(handler).__mro__)


def _sdk_adapter() -> Callable[[dict[str, Any]], Any]:
    """How the SDK's own stream builds events (`construct_type`: unknown names pass through)."""
    from openai._models import construct_type  # noqa: PLC0415  (the app's openai package)
    from openai.types.beta import AssistantStreamEvent  # noqa: PLC0415

    return lambda value: construct_type(type_=AssistantStreamEvent, value=value)


def _to_sdk(adapter: Callable[[dict[str, Any]], Any], event: StreamEvent) -> Any:
    return adapter(event.model_dump(mode="json", exclude={"seq"}))


class _SdkStream:
    """Our events as the SDK's, for an `openai.AssistantEventHandler` (sync)."""

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream
        self._adapter = _sdk_adapter()

    def __iter__(self) -> Iterator[Any]:
        for event in self._stream:
            yield _to_sdk(self._adapter, event)

    def close(self) -> None:
        self._stream.close()


class _AsyncSdkStream:
    """Our events as the SDK's, for an `openai.AsyncAssistantEventHandler`."""

    def __init__(self, stream: AsyncEventStream) -> None:
        self._stream = stream
        self._adapter = _sdk_adapter()

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for event in self._stream:
            yield _to_sdk(self._adapter, event)

    async def close(self) -> None:
        await self._stream.close()


# --- managers -----------------------------------------------------------------------------------


class AsyncAssistantStreamManager(Generic[AH]):
    """`async with client.threads.runs.stream(...) as handler:` (the run starts on entering)."""

    def __init__(
        self,
        request: Callable[[], Awaitable[AsyncEventStream]],
        *,
        event_handler: AH,
        requested_handler: object | None = None,
    ) -> None:
        self.request = request
        self.event_handler = event_handler
        self.requested_handler = requested_handler
        self._stream: AsyncEventStream | None = None

    async def __aenter__(self) -> AH:
        self._stream = await self.request()
        handler: Any = self.event_handler
        handler._init(_AsyncSdkStream(self._stream) if _is_sdk_handler(handler) else self._stream)
        return self.event_handler

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await self._stream.close()


class AssistantStreamManager(Generic[H]):
    """`with client.threads.runs.stream(...) as handler:` (the run starts on entering)."""

    def __init__(self, request: Callable[[], EventStream], *, event_handler: H) -> None:
        self.request = request
        self.event_handler = event_handler
        self._stream: EventStream | None = None

    def __enter__(self) -> H:
        self._stream = self.request()
        handler: Any = self.event_handler
        handler._init(_SdkStream(self._stream) if _is_sdk_handler(handler) else self._stream)
        return self.event_handler

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.close()
