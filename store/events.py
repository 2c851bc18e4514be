"""Typed stream events, in OpenAI's exact wire shapes (Assistants API v2).

A stream is a sequence of `(event name, JSON data)` pairs (CONTRACT §8.2). `parse_event` turns one
pair into a model of the `AssistantStreamEvent` union, discriminated on `event`; full-object events
carry the `store.types` models, delta events carry the `*Delta` models of `store.deltas`, whose
fields are all optional except the `index` and `type` that drive accumulation (CONTRACT §8.5).
Every event has an extra `seq`: its position in the run's event log, when known.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, TypeAlias, get_args

from pydantic import Field, TypeAdapter

from store.deltas import MessageDeltaEvent, RunStepDeltaEvent
from store.types import Message, Model, Run, RunStep, Thread


class ErrorObject(Model):
    """`data` of the spec's bare `error` event."""

    message: str
    type: str
    code: str | None = None
    param: str | None = None


# --- events ---------------------------------------------------------------------------------


class _Event(Model):
    seq: int | None = None
    """Position of the event in its run's log (our extension; None when unknown)."""


class _RunEvent(_Event):
    """`data` is the full run, as of this event."""

    data: Run


class _StepEvent(_Event):
    """`data` is the full run step, as of this event."""

    data: RunStep


class _MessageEvent(_Event):
    """`data` is the full message, as of this event."""

    data: Message


class ThreadCreated(_Event):
    event: Literal["thread.created"] = "thread.created"
    data: Thread
    enabled: bool | None = None


class ThreadRunCreated(_RunEvent):
    event: Literal["thread.run.created"] = "thread.run.created"


class ThreadRunQueued(_RunEvent):
    event: Literal["thread.run.queued"] = "thread.run.queued"


class ThreadRunInProgress(_RunEvent):
    event: Literal["thread.run.in_progress"] = "thread.run.in_progress"


class ThreadRunRequiresAction(_RunEvent):
    event: Literal["thread.run.requires_action"] = "thread.run.requires_action"


class ThreadRunCompleted(_RunEvent):
    event: Literal["thread.run.completed"] = "thread.run.completed"


class ThreadRunIncomplete(_RunEvent):
    event: Literal["thread.run.incomplete"] = "thread.run.incomplete"


class ThreadRunFailed(_RunEvent):
    event: Literal["thread.run.failed"] = "thread.run.failed"


class ThreadRunCancelling(_RunEvent):
    event: Literal["thread.run.cancelling"] = "thread.run.cancelling"


class ThreadRunCancelled(_RunEvent):
    event: Literal["thread.run.cancelled"] = "thread.run.cancelled"


class ThreadRunExpired(_RunEvent):
    event: Literal["thread.run.expired"] = "thread.run.expired"


class ThreadRunStepCreated(_StepEvent):
    event: Literal["thread.run.step.created"] = "thread.run.step.created"


class ThreadRunStepInProgress(_StepEvent):
    event: Literal["thread.run.step.in_progress"] = "thread.run.step.in_progress"


class ThreadRunStepCompleted(_StepEvent):
    event: Literal["thread.run.step.completed"] = "thread.run.step.completed"


class ThreadRunStepFailed(_StepEvent):
    event: Literal["thread.run.step.failed"] = "thread.run.step.failed"


class ThreadRunStepCancelled(_StepEvent):
    event: Literal["thread.run.step.cancelled"] = "thread.run.step.cancelled"


class ThreadRunStepExpired(_StepEvent):
    event: Literal["thread.run.step.expired"] = "thread.run.step.expired"


class ThreadMessageCreated(_MessageEvent):
    event: Literal["thread.message.created"] = "thread.message.created"


class ThreadMessageInProgress(_MessageEvent):
    event: Literal["thread.message.in_progress"] = "thread.message.in_progress"


class ThreadMessageCompleted(_MessageEvent):
    event: Literal["thread.message.completed"] = "thread.message.completed"


class ThreadMessageIncomplete(_MessageEvent):
    event: Literal["thread.message.incomplete"] = "thread.message.incomplete"


class ThreadRunStepDelta(_Event):
    event: Literal["thread.run.step.delta"] = "thread.run.step.delta"
    data: RunStepDeltaEvent


class ThreadMessageDelta(_Event):
    event: Literal["thread.message.delta"] = "thread.message.delta"
    data: MessageDeltaEvent


class ErrorEvent(_Event):
    event: Literal["error"] = "error"
    data: ErrorObject


class UnknownEvent(_Event):
    """A `thread.*` event this version does not know: handlers pass it to `on_event` only."""

    event: str
    data: Any = None


AssistantStreamEvent: TypeAlias = Annotated[
    ThreadCreated
    | ThreadRunCreated
    | ThreadRunQueued
    | ThreadRunInProgress
    | ThreadRunRequiresAction
    | ThreadRunCompleted
    | ThreadRunIncomplete
    | ThreadRunFailed
    | ThreadRunCancelling
    | ThreadRunCancelled
    | ThreadRunExpired
    | ThreadRunStepCreated
    | ThreadRunStepInProgress
    | ThreadRunStepDelta
    | ThreadRunStepCompleted
    | ThreadRunStepFailed
    | ThreadRunStepCancelled
    | ThreadRunStepExpired
    | ThreadMessageCreated
    | ThreadMessageInProgress
    | ThreadMessageDelta
    | ThreadMessageCompleted
    | ThreadMessageIncomplete
    | ErrorEvent,
    Field(discriminator="event"),
]

StreamEvent: TypeAlias = AssistantStreamEvent | UnknownEvent
"""What a stream yields: a known event, or one to ignore."""

EVENT_NAMES: frozenset[str] = frozenset(
    name
    for cls in get_args(get_args(AssistantStreamEvent)[0])
    for name in get_args(cls.model_fields["event"].annotation)
)
"""Every event name of the union (`thread.run.created`, ..., `error`)."""


@functools.cache
def _adapter() -> TypeAdapter[AssistantStreamEvent]:
    """The whole union's validator, built on first use: building it costs ~20 ms, which an import
    of the package should not pay when it never parses a stream."""
    return TypeAdapter(AssistantStreamEvent)


def parse_event(event: str, data: Any, seq: int | None = None) -> StreamEvent:
    """Validate one `(event name, JSON data)` pair of a stream.

    Known names give their typed event (pydantic's `ValidationError` if `data` does not fit). An
    unknown `thread.*` name gives an `UnknownEvent`, since the spec asks clients to ignore events
    they do not know; any other name (`done` included: it is not an event) raises `ValueError`.
    """
    payload: dict[str, Any] = {"event": event, "data": data}
    if seq is not None:
        payload["seq"] = seq
    delta = _deltas().get(event)
    if delta is not None:
        return delta.validate_python(payload)
    if event in EVENT_NAMES:
        return _adapter().validate_python(payload)
    if event.startswith("thread."):
        return UnknownEvent.model_validate(payload)
    raise ValueError(f"Unknown stream event {event!r}: expected `error` or a `thread.*` name.")


# Token deltas are most of a stream: they are validated as their own event class, not tried
# against the whole union (what validating through the union gives, at a fraction of the cost).
@functools.cache
def _deltas() -> dict[str, TypeAdapter[ThreadMessageDelta] | TypeAdapter[ThreadRunStepDelta]]:
    return {
        "thread.message.delta": TypeAdapter(ThreadMessageDelta),
        "thread.run.step.delta": TypeAdapter(ThreadRunStepDelta),
    }
