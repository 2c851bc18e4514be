"""Stream event handlers, mirroring openai-python's `AssistantEventHandler` and async twin.

`AssistantEventHandler` / `AsyncAssistantEventHandler` fire the SDK's `on_*` callbacks, in the
SDK's order, from a stream of `store.events` events; `accumulate_*` are the pure snapshot merges
they share.
"""

from assistants.streaming.accumulate import accumulate_delta, accumulate_event, accumulate_run_step
from assistants.streaming.handler import (
    AssistantEventHandler,
    AsyncAssistantEventHandler,
    AsyncEventSource,
    EventSource,
)

__all__ = [
    "AssistantEventHandler",
    "AsyncAssistantEventHandler",
    "AsyncEventSource",
    "EventSource",
    "accumulate_delta",
    "accumulate_event",
    "accumulate_run_step",
]
