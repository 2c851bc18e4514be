"""Our stream handlers against the official SDK's: same callbacks, order, arguments and state.

Every scenario of `stream_scenarios` is fed, as typed events, to a recording subclass of our
handler and of the SDK's (`stream_judge`); the two logs, the `get_final_*()` results and the
exception raised, if any, must be identical. Sync scenarios have a test each; the async handlers
run every scenario on asyncio and trio.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest

from assistants.streaming import AssistantEventHandler, AsyncAssistantEventHandler
from store.events import ThreadMessageDelta, UnknownEvent
from tests.assistants.stream_judge import (
    CALLBACKS,
    AsyncFakeStream,
    FakeStream,
    Outcome,
    assert_same,
    our_events,
    recording,
    run_async,
    run_sync,
    sdk_events,
)
from tests.assistants.stream_scenarios import SCENARIOS, Event, wire

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.lib.streaming import AssistantEventHandler as SDKHandler
    from openai.lib.streaming import AsyncAssistantEventHandler as AsyncSDKHandler


def events_of(scenario: str) -> list[Event]:
    return wire(SCENARIOS[scenario]())


def check_sync(scenario: str) -> Outcome:
    """Run `scenario` through both sync handlers, assert identical outcomes, return ours."""
    events = events_of(scenario)
    ours = run_sync(AssistantEventHandler, our_events(events))
    assert_same(ours, run_sync(SDKHandler, sdk_events(events)))
    return ours


def names(outcome: Outcome) -> list[str]:
    return [entry[0] for entry in outcome.log]


def args_of(outcome: Outcome, callback: str) -> list[list[Any]]:
    return [entry[1] for entry in outcome.log if entry[0] == callback]


# --- sync scenarios -----------------------------------------------------------------------------


def test_text_run__callbacks_match_the_sdk() -> None:
    """A text-only run: one message streamed in several fragments, then completed."""
    ours = check_sync("text_run")
    assert args_of(ours, "on_text_created") == [[{"value": "Hello", "annotations": []}]]
    assert [a[1]["value"] for a in args_of(ours, "on_text_delta")][-1] == (
        "Hello! The weather in Paris is sunny, 22 °C."
    )
    fragment = ["on_event", "on_text_delta", "on_message_delta"]
    assert names(ours) == [
        *["on_event"] * 3,  # run created, queued, in_progress
        *["on_event", "on_run_step_created", "on_event"],
        *["on_event", "on_message_created", "on_event"],
        *["on_event", "on_text_created", "on_text_delta", "on_message_delta"],
        *fragment * 5,
        *["on_event", "on_text_done", "on_message_done"],
        *["on_event", "on_run_step_done"],
        *["on_event", "on_end"],
    ]


def test_thread_and_run__callbacks_match_the_sdk() -> None:
    """create_and_run: `thread.created` first, then the text-only run."""
    check_sync("thread_and_run")


def test_function_call_run__callbacks_match_the_sdk() -> None:
    """A function call streamed up to `requires_action`: created on the first fragment."""
    ours = check_sync("function_call_run")
    tool_callbacks = [n for n in names(ours) if n.startswith("on_tool_call")]
    assert tool_callbacks == [
        "on_tool_call_created",
        "on_tool_call_delta",
        "on_tool_call_delta",
        "on_tool_call_delta",
        "on_tool_call_done",
    ]
    created = args_of(ours, "on_tool_call_created")[0][0]
    assert created["function"] == {"name": "get_weather", "arguments": "", "output": None}
    assert ours.finals["get_final_messages"] == "RuntimeError: No messages found"


def test_parallel_calls_run__callbacks_match_the_sdk() -> None:
    """Two tool calls whose fragments interleave, one chunk carrying two fragments."""
    ours = check_sync("parallel_calls_run")
    step = ours.finals["get_final_run_steps"][0]
    calls = step["step_details"]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == [
        '{"city": "Paris"}',
        '{"city": "Tokyo", "unit": "c"}',
    ]


def test_continuation__callbacks_match_the_sdk() -> None:
    """The submit-tool-outputs stream: step completed first, no `run.created`."""
    check_sync("continuation")


def test_multi_round_run__callbacks_match_the_sdk() -> None:
    """Two code interpreter steps and two messages in one stream (the tool index is not reset)."""
    ours = check_sync("multi_round_run")
    # The second step's first fragment has the same index: the SDK calls it a delta.
    assert names(ours).count("on_tool_call_created") == 1


def test_second_round__callbacks_match_the_sdk() -> None:
    """A continuation that pauses again on a new tool call."""
    check_sync("second_round")


def test_cancelled_run__callbacks_match_the_sdk() -> None:
    """Cancelled mid-message: cancelling, message incomplete, step cancelled, cancelled."""
    ours = check_sync("cancelled_run")
    assert ours.finals["get_final_run"]["status"] == "cancelled"


def test_failed_run__callbacks_match_the_sdk() -> None:
    """Failed during a tool call, then a bare `error` event (ignored by the handlers)."""
    ours = check_sync("failed_run")
    assert names(ours).count("on_tool_call_done") == 2
    assert ours.finals["get_final_run"]["status"] == "failed"


def test_incomplete_run__callbacks_match_the_sdk() -> None:
    """An incomplete run: message incomplete on max tokens."""
    check_sync("incomplete_run")


def test_expired_run__callbacks_match_the_sdk() -> None:
    """An expired run with a tool call in progress."""
    check_sync("expired_run")


def test_image_then_text_run__callbacks_match_the_sdk() -> None:
    """image_file, text and image_url blocks: each index change ends the previous block."""
    ours = check_sync("image_then_text_run")
    ends = [n for n in names(ours) if n in ("on_image_file_done", "on_text_done")]
    assert ends == ["on_image_file_done", "on_text_done"]


def test_refusal_and_citation_run__callbacks_match_the_sdk() -> None:
    """A text block with a file citation fragment, then a refusal block."""
    ours = check_sync("refusal_and_citation_run")
    done = args_of(ours, "on_text_done")[0][0]
    assert done["annotations"][0]["file_citation"]["file_id"] == "file-Gu1de"


def test_unknown_event_run__callbacks_match_the_sdk() -> None:
    """An unknown `thread.*` event fires `on_event` only."""
    ours = check_sync("unknown_event_run")
    unknown = [e for e in ours.log if e[0] == "on_event" and e[2]["event"].endswith("future_event")]
    assert len(unknown) == 1


def test_partial_fragment_run__callbacks_match_the_sdk() -> None:
    """A first function fragment without `arguments` is kept, partial, like the SDK keeps it."""
    ours = check_sync("partial_fragment_run")
    assert args_of(ours, "on_tool_call_created")[0][0]["function"]["arguments"] is None


def test_all_scenarios__have_a_sync_test() -> None:
    """Every scenario is exercised by a named sync test above."""
    tested = {
        name.removeprefix("test_").removesuffix("__callbacks_match_the_sdk")
        for name in globals()
        if name.endswith("__callbacks_match_the_sdk") and "async" not in name
    }
    assert tested == set(SCENARIOS)


# --- async scenarios ----------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_async_handler__callbacks_match_the_sdk(scenario: str) -> None:
    """The async handlers agree on every scenario, and with the sync handler."""
    events = events_of(scenario)
    ours = await run_async(AsyncAssistantEventHandler, our_events(events))
    assert_same(ours, await run_async(AsyncSDKHandler, sdk_events(events)))
    assert_same(ours, run_sync(AssistantEventHandler, our_events(events)))


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("callback", ["on_event", "on_text_created", "on_text_delta", "on_end"])
def test_raising_callback__reaches_on_exception_and_propagates(callback: str) -> None:
    """A callback's exception fires `on_exception`, then `on_end`, and is re-raised."""
    events = events_of("text_run")
    ours = run_sync(AssistantEventHandler, our_events(events), fail_on=callback)
    assert_same(ours, run_sync(SDKHandler, sdk_events(events), fail_on=callback))
    assert ours.raised == f"ValueError: boom in {callback}"
    if callback != "on_end":
        assert names(ours)[-2:] == ["on_exception", "on_end"]
        assert ours.log[-2][1] == [ours.raised]


# The SDK leaves its inner `_aiter_events` generator suspended when a callback raises; trio
# reports it when collected. Ours leaves none (the fake stream's iterator is not a generator).
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <async_generator object _aiter_events"
    ":pytest.PytestUnraisableExceptionWarning"
)
async def test_raising_async_callback__reaches_on_exception_and_propagates() -> None:
    """The async handler: on_exception, on_end, re-raise, as the SDK's."""
    events = events_of("function_call_run")
    kwargs: dict[str, Any] = {"fail_on": "on_tool_call_delta"}
    ours = await run_async(AsyncAssistantEventHandler, our_events(events), **kwargs)
    assert_same(ours, await run_async(AsyncSDKHandler, sdk_events(events), **kwargs))
    assert names(ours)[-2:] == ["on_exception", "on_end"]


@pytest.mark.parametrize("error", [TimeoutError("read timed out"), ConnectionError("reset")])
def test_stream_error__fires_on_timeout_only_for_timeouts(error: Exception) -> None:
    """A stream error mid-way: on_timeout (timeouts only), on_exception, on_end, re-raised."""
    events = events_of("text_run")[:9]
    ours = run_sync(AssistantEventHandler, our_events(events), error=error)
    assert_same(ours, run_sync(SDKHandler, sdk_events(events), error=error))
    expected = ["on_exception", "on_end"]
    if isinstance(error, TimeoutError):
        expected.insert(0, "on_timeout")
    assert names(ours)[-len(expected) :] == expected


async def test_async_stream_timeout__fires_on_timeout() -> None:
    """The async handler treats a timeout as the SDK's does."""
    events = events_of("text_run")[:9]
    error = TimeoutError("read timed out")
    ours = await run_async(AsyncAssistantEventHandler, our_events(events), error=error)
    assert_same(ours, await run_async(AsyncSDKHandler, sdk_events(events), error=error))
    assert names(ours)[-3:] == ["on_timeout", "on_exception", "on_end"]


def test_delta_before_created__raises_like_the_sdk() -> None:
    """A step delta for an unknown step, and a message delta before any message, raise."""
    for scenario, index in (("function_call_run", 5), ("text_run", 7)):
        events = events_of(scenario)[:3] + events_of(scenario)[index : index + 1]
        ours = run_sync(AssistantEventHandler, our_events(events))
        assert_same(ours, run_sync(SDKHandler, sdk_events(events)))
        assert ours.raised is not None


# --- drive contract -----------------------------------------------------------------------------


def test_reuse_guard__a_second_stream_raises_the_sdk_error() -> None:
    """`_init` twice raises RuntimeError with the SDK's message."""
    ours, sdk = AssistantEventHandler(), SDKHandler()
    ours._init(FakeStream([]))
    sdk._init(FakeStream([]))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError) as mine:
        ours._init(FakeStream([]))
    with pytest.raises(RuntimeError) as theirs:
        sdk._init(FakeStream([]))  # type: ignore[arg-type]
    assert str(mine.value) == str(theirs.value)
    assert "cannot be shared between multiple streams" in str(mine.value)


async def test_async_reuse_guard__a_second_stream_raises_the_sdk_error() -> None:
    """The async handler's guard has the same message."""
    ours, sdk = AsyncAssistantEventHandler(), AsyncSDKHandler()
    ours._init(AsyncFakeStream([]))
    sdk._init(AsyncFakeStream([]))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError) as mine:
        ours._init(AsyncFakeStream([]))
    with pytest.raises(RuntimeError) as theirs:
        sdk._init(AsyncFakeStream([]))  # type: ignore[arg-type]
    assert str(mine.value) == str(theirs.value)


def test_unstarted_handler__raises_like_the_sdk() -> None:
    """Reading a handler that has no stream raises the SDK's RuntimeError, without callbacks."""
    ours, sdk = recording(AssistantEventHandler), recording(SDKHandler)
    with pytest.raises(RuntimeError, match="Stream has not been started yet"):
        ours.until_done()
    with pytest.raises(RuntimeError, match="Stream has not been started yet"):
        sdk.until_done()
    assert ours.log == sdk.log == []


def test_iteration__yields_each_event_after_its_callbacks() -> None:
    """`for event in handler` yields the events in order, each once its callbacks have fired."""
    events = our_events(events_of("text_run"))
    handler = recording(AssistantEventHandler)
    handler._init(FakeStream(events))
    seen = []
    for event in handler:
        seen.append(event)
        assert handler.log[-1][0] != "on_end"
        assert handler.current_event is None
    assert seen == events
    assert handler.log[-1][0] == "on_end"
    assert next(iter(handler), None) is None


async def test_async_iteration__yields_each_event() -> None:
    """`async for event in handler` yields the events in order."""
    events = our_events(events_of("parallel_calls_run"))
    handler = AsyncAssistantEventHandler()
    handler._init(AsyncFakeStream(events))
    assert [event async for event in handler] == events


def test_text_deltas__match_the_sdk() -> None:
    """`text_deltas` yields the text fragments, as the SDK's does."""
    events = events_of("refusal_and_citation_run") + events_of("text_run")[6:-1]
    ours, sdk = AssistantEventHandler(), SDKHandler()
    ours._init(FakeStream(our_events(events)))
    sdk._init(FakeStream(sdk_events(events)))  # type: ignore[arg-type]
    assert list(ours.text_deltas) == list(sdk.text_deltas)
    assert "".join(ours.text_deltas) == ""


async def test_async_text_deltas__match_the_sdk() -> None:
    """The async `text_deltas` yields the same fragments."""
    events = events_of("text_run")
    ours, sdk = AsyncAssistantEventHandler(), AsyncSDKHandler()
    ours._init(AsyncFakeStream(our_events(events)))
    sdk._init(AsyncFakeStream(sdk_events(events)))  # type: ignore[arg-type]
    mine = [value async for value in ours.text_deltas]
    assert mine == [value async for value in sdk.text_deltas]
    assert "".join(mine) == "Hello! The weather in Paris is sunny, 22 °C."


def test_close__closes_the_stream() -> None:
    """`close()` closes the stream (and does nothing before `_init`)."""
    handler = AssistantEventHandler()
    handler.close()
    stream = FakeStream([])
    handler._init(stream)
    handler.close()
    assert stream.closed


async def test_async_close__closes_the_stream() -> None:
    """The async `close()` awaits the stream's close."""
    handler = AsyncAssistantEventHandler()
    await handler.close()
    stream = AsyncFakeStream([])
    handler._init(stream)
    await handler.close()
    assert stream.closed


def test_unknown_event__is_parsed_and_yielded() -> None:
    """Unknown `thread.*` events reach the consumer as `UnknownEvent`, data untouched."""
    handler = AssistantEventHandler()
    handler._init(FakeStream(our_events(events_of("unknown_event_run"))))
    unknown = [e for e in handler if isinstance(e, UnknownEvent)]
    assert [(e.event, e.data["hint"], e.seq) for e in unknown] == [
        ("thread.run.future_event", 1, 3)
    ]


def test_snapshots__are_not_mutated_by_later_events() -> None:
    """Snapshots handed to callbacks stay as they were (each delta gives a new message)."""
    kept: list[Any] = []

    class Keeper(AssistantEventHandler):
        def on_message_delta(self, delta: Any, snapshot: Any) -> None:
            kept.append((snapshot, snapshot.model_dump(mode="json")))

    handler = Keeper()
    events = our_events(events_of("text_run"))
    handler._init(FakeStream(events))
    handler.until_done()
    assert all(obj.model_dump(mode="json") == then for obj, then in kept)
    assert len(kept) == sum(isinstance(e, ThreadMessageDelta) for e in events)


@pytest.mark.parametrize(
    ("ours", "sdk"),
    [(AssistantEventHandler, SDKHandler), (AsyncAssistantEventHandler, AsyncSDKHandler)],
)
def test_public_surface__matches_the_sdk(ours: type[Any], sdk: type[Any]) -> None:
    """Same public methods and properties, same callback parameter names, sync or async alike."""

    def public(cls: type[Any]) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("__") or n in ("__iter__", "__aiter__")}

    sdk_names = {n for n in public(sdk) if not n.startswith("_") or n in ("_init", "__iter__")}
    assert sdk_names - public(ours) == set()
    for name in CALLBACKS:
        mine, theirs = getattr(ours, name), getattr(sdk, name)
        assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(theirs)
        assert list(inspect.signature(mine).parameters) == list(
            inspect.signature(theirs).parameters
        )
