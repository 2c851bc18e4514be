"""Differential harness: drive our handlers and the official SDK's over the same events.

Each handler is subclassed so that every callback records its name, its arguments (as JSON) and
the handler's live state (`current_event`, `current_run`, the step and message snapshots) at that
moment; a run also records what `get_final_*()` return (or the RuntimeError they raise), and the
exception the stream raised, if any. Our log must equal the SDK's.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pydantic

from store.events import EVENT_NAMES, parse_event
from tests.assistants.stream_scenarios import Event

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai._models import construct_type
    from openai.types.beta import AssistantStreamEvent as SDKStreamEvent

SDK_EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(SDKStreamEvent)

CALLBACKS = (
    "on_end",
    "on_event",
    "on_run_step_created",
    "on_run_step_delta",
    "on_run_step_done",
    "on_tool_call_created",
    "on_tool_call_delta",
    "on_tool_call_done",
    "on_exception",
    "on_timeout",
    "on_message_created",
    "on_message_delta",
    "on_message_done",
    "on_text_created",
    "on_text_delta",
    "on_text_done",
    "on_image_file_done",
)
FINALS = ("get_final_run", "get_final_messages", "get_final_run_steps")


def our_events(events: list[Event]) -> list[Any]:
    return [parse_event(name, data, seq=seq) for seq, (name, data) in enumerate(events)]


def sdk_events(events: list[Event]) -> list[Any]:
    """SDK-typed events; unknown names are built as the SDK's own stream builds them."""
    out = []
    for name, data in events:
        payload = {"event": name, "data": data}
        if name in EVENT_NAMES:
            out.append(SDK_EVENTS.validate_python(payload))
        else:
            out.append(construct_type(type_=SDKStreamEvent, value=payload))
    return out


def dump(value: Any) -> Any:
    """JSON of a callback argument: models dumped, events as name and data, errors as text."""
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, list):
        return [dump(item) for item in value]
    if isinstance(value, pydantic.BaseModel):
        fields = type(value).model_fields
        if "event" in fields and "data" in fields:
            # Compare what both sides define: our `seq` and the SDK's `enabled` are extras.
            name = getattr(value, "event", None)
            data = value.model_dump(mode="json", warnings=False)["data"]
            return {"event": name, "data": data if name in EVENT_NAMES else "<ignored>"}
        return value.model_dump(mode="json", warnings=False)
    return value


def state(handler: Any) -> dict[str, Any]:
    """The handler's live state, through its public properties."""
    try:
        step = dump(handler.current_run_step_snapshot)
    except KeyError as exc:
        step = dump(exc)
    current = handler.current_event
    return {
        "event": None if current is None else current.event,
        "run": dump(handler.current_run),
        "step": step,
        "message": dump(handler.current_message_snapshot),
    }


def _sync_recorder(name: str) -> Any:
    def callback(self: Any, *args: Any) -> None:
        self.log.append((name, [dump(a) for a in args], state(self)))
        if name == self.fail_on:
            raise ValueError(f"boom in {name}")

    return callback


def _async_recorder(name: str) -> Any:
    async def callback(self: Any, *args: Any) -> None:
        self.log.append((name, [dump(a) for a in args], state(self)))
        if name == self.fail_on:
            raise ValueError(f"boom in {name}")

    return callback


def recording(
    base: type[Any], fail_on: str | None = None, callbacks: tuple[str, ...] = CALLBACKS
) -> Any:
    """An instance of `base` whose `callbacks` record into `.log` (and raise on `fail_on`); the
    others are left as `base` has them."""
    is_async = inspect.iscoroutinefunction(base.on_event)
    make = _async_recorder if is_async else _sync_recorder
    namespace: dict[str, Any] = {name: make(name) for name in callbacks}
    handler = type(f"Recording{base.__name__}", (base,), namespace)()
    handler.log = []
    handler.fail_on = fail_on
    return handler


class FakeStream:
    """The sync drive contract: iterable events, `close()`; raises `error` after the events."""

    def __init__(self, events: list[Any], error: Exception | None = None) -> None:
        self.events = events
        self.error = error
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        yield from self.events
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True


class AsyncFakeStream:
    """The async drive contract: async-iterable events, `async close()`."""

    def __init__(self, events: list[Any], error: Exception | None = None) -> None:
        self.events = events
        self.error = error
        self.closed = False
        self._position = 0

    def __aiter__(self) -> AsyncFakeStream:
        # An iterator object, not an async generator: nothing is left to finalize when the
        # reader stops early.
        return self

    async def __anext__(self) -> Any:
        if self._position < len(self.events):
            self._position += 1
            return self.events[self._position - 1]
        if self.error is not None:
            raise self.error
        raise StopAsyncIteration

    async def close(self) -> None:
        self.closed = True


@dataclass
class Outcome:
    """Everything observable of one handler run."""

    log: list[Any]
    raised: str | None = None
    finals: dict[str, Any] = field(default_factory=dict)


def run_sync(
    base: type[Any],
    events: list[Any],
    *,
    error: Exception | None = None,
    fail_on: str | None = None,
    callbacks: tuple[str, ...] = CALLBACKS,
) -> Outcome:
    handler = recording(base, fail_on, callbacks)
    handler._init(FakeStream(events, error))
    outcome = Outcome(handler.log)
    try:
        handler.until_done()
    except Exception as exc:
        outcome.raised = dump(exc)
    for name in FINALS:
        try:
            outcome.finals[name] = dump(getattr(handler, name)())
        except RuntimeError as exc:
            outcome.finals[name] = dump(exc)
    return outcome


async def run_async(
    base: type[Any],
    events: list[Any],
    *,
    error: Exception | None = None,
    fail_on: str | None = None,
    callbacks: tuple[str, ...] = CALLBACKS,
) -> Outcome:
    handler = recording(base, fail_on, callbacks)
    handler._init(AsyncFakeStream(events, error))
    outcome = Outcome(handler.log)
    try:
        await handler.until_done()
    except Exception as exc:
        outcome.raised = dump(exc)
    for name in FINALS:
        try:
            outcome.finals[name] = dump(await getattr(handler, name)())
        except RuntimeError as exc:
            outcome.finals[name] = dump(exc)
    return outcome


def assert_same(ours: Outcome, sdk: Outcome) -> None:
    """Equal outcomes; on a difference, the first differing callback is reported alone."""
    for position, (mine, theirs) in enumerate(zip(ours.log, sdk.log, strict=False)):
        assert mine == theirs, f"callback #{position} differs"
    assert [entry[0] for entry in ours.log] == [entry[0] for entry in sdk.log]
    assert ours.raised == sdk.raised
    assert ours.finals == sdk.finals
