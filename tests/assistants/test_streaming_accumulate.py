"""Snapshot accumulation (CONTRACT §8.5) and event parsing, checked against the SDK's merge."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pydantic
import pytest

from assistants.streaming import (
    AssistantEventHandler,
    AsyncAssistantEventHandler,
    accumulate_delta,
    accumulate_event,
    accumulate_run_step,
)
from store.deltas import FunctionToolCallDelta
from store.events import (
    ErrorEvent,
    ThreadMessageDelta,
    ThreadRunCreated,
    UnknownEvent,
    parse_event,
)
from store.types import FileSearchToolCall, FunctionToolCall, Message, RunStep, TextContentBlock
from tests.assistants.stream_judge import (
    assert_same,
    our_events,
    run_async,
    run_sync,
    sdk_events,
)
from tests.assistants.stream_scenarios import (
    SCENARIOS,
    Event,
    calls_delta,
    completed_run,
    message,
    message_delta,
    run,
    run_start,
    text,
    text_part,
    tool_step,
    wire,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.lib.streaming import AssistantEventHandler as SDKHandler
    from openai.lib.streaming import AsyncAssistantEventHandler as AsyncSDKHandler
    from openai.lib.streaming._deltas import accumulate_delta as sdk_accumulate_delta

MERGES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "strings concatenate": ({"a": "Hel"}, {"a": "lo"}),
    "numbers add": ({"n": 1, "f": 0.5}, {"n": 2, "f": 0.25}),
    "bools count as numbers": ({"b": True}, {"b": True}),
    "nested objects merge": ({"o": {"x": "a", "y": 1}}, {"o": {"x": "b", "z": None}}),
    "index and type are overwritten": ({"index": 1, "type": "text"}, {"index": 2, "type": "text"}),
    "a missing key is set": ({"a": "x"}, {"b": {"c": [1]}}),
    "a null key is set": ({"a": None}, {"a": "x"}),
    "a null delta changes nothing": ({"a": "x"}, {"a": None}),
    "mismatched types keep the accumulator": ({"a": "x"}, {"a": 1}),
    "indexed entries merge in place": (
        {"l": [{"index": 0, "v": "a"}]},
        {"l": [{"index": 0, "v": "b"}, {"index": 1, "v": "c"}]},
    ),
    "a first indexed list merges fragments of one entry": (
        {},
        {"l": [{"index": 0, "v": "a"}, {"index": 0, "v": "b", "n": 1}]},
    ),
    "an empty list takes indexed entries": ({"l": []}, {"l": [{"index": 0, "v": "a"}]}),
    "lists of primitives append": ({"l": [1, 2]}, {"l": [3]}),
    "an empty list appends primitives": ({"l": []}, {"l": ["a"]}),
    "primitives then indexed entries append": ({"l": ["a"]}, {"l": [{"index": 0}]}),
    "a tool call fragment": (
        {"tool_calls": []},
        {
            "tool_calls": [
                {"index": 0, "id": "call_1", "function": {"arguments": "", "output": None}}
            ]
        },
    ),
}

FAILURES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "an indexed list with a non-dict entry": (
        {"l": [{"index": 0}]},
        {"l": [{"index": 0}, 5]},
    ),
    "an indexed list with an entry without index": (
        {"l": [{"index": 0}]},
        {"l": [{"index": 0}, {"v": 1}]},
    ),
    "a non-integer index": ({"l": [{"index": 0}]}, {"l": [{"index": "0"}]}),
}


@pytest.mark.parametrize("case", list(MERGES))
def test_accumulate_delta__merges_like_the_sdk(case: str) -> None:
    """Each §8.5 rule gives the SDK's result."""
    acc, delta = MERGES[case]
    expected = sdk_accumulate_delta(copy.deepcopy(acc), copy.deepcopy(delta))  # type: ignore[arg-type]
    assert accumulate_delta(copy.deepcopy(acc), copy.deepcopy(delta)) == expected


@pytest.mark.parametrize("case", list(FAILURES))
def test_accumulate_delta__rejects_what_the_sdk_rejects(case: str) -> None:
    """Malformed indexed lists raise the SDK's exception type."""
    acc, delta = FAILURES[case]
    with pytest.raises((TypeError, RuntimeError)) as theirs:
        sdk_accumulate_delta(copy.deepcopy(acc), copy.deepcopy(delta))  # type: ignore[arg-type]
    with pytest.raises(type(theirs.value)):
        accumulate_delta(copy.deepcopy(acc), copy.deepcopy(delta))


def test_accumulate_delta__applies_the_rules() -> None:
    """Strings concatenate, numbers add, objects merge, index/type overwrite, null is set."""
    acc: dict[str, Any] = {
        "index": 0,
        "type": "text",
        "text": {"value": "Hello", "annotations": []},
        "usage": {"total_tokens": 10},
        "output": None,
    }
    delta = {
        "index": 0,
        "type": "text",
        "text": {"value": "Hello"},
        "usage": {"total_tokens": 5},
        "output": "ok",
    }
    assert accumulate_delta(acc, delta) == {
        "index": 0,
        "type": "text",
        "text": {"value": "HelloHello", "annotations": []},
        "usage": {"total_tokens": 15},
        "output": "ok",
    }


def test_accumulate_delta__merges_index_keyed_lists_entry_by_entry() -> None:
    """Annotations with their own index merge into place; new ones are inserted."""
    acc: dict[str, Any] = {"annotations": [{"index": 0, "type": "file_path", "text": "sandbox:"}]}
    delta = {
        "annotations": [
            {"index": 0, "type": "file_path", "text": "/a.csv", "end_index": 7},
            {"index": 1, "type": "file_citation", "text": "【1】"},
        ]
    }
    assert accumulate_delta(acc, delta)["annotations"] == [
        {"index": 0, "type": "file_path", "text": "sandbox:/a.csv", "end_index": 7},
        {"index": 1, "type": "file_citation", "text": "【1】"},
    ]


def test_accumulate_delta__never_modifies_the_delta() -> None:
    """Values taken from the delta are copies: merging again does not alias the delta."""
    delta = {"l": [{"index": 0, "v": "a"}, {"index": 0, "v": "b"}], "o": {"x": ["1"]}}
    before = copy.deepcopy(delta)
    acc = accumulate_delta({}, delta)
    accumulate_delta(acc, delta)
    assert delta == before
    assert acc == {"l": [{"index": 0, "v": "abab"}], "o": {"x": ["1", "1"]}}


def test_accumulate_delta__appends_lists_without_index() -> None:
    """A list of objects without `index` is appended (the SDK raises on it instead)."""
    acc: dict[str, Any] = {"results": [{"file_id": "a"}]}
    assert accumulate_delta(acc, {"results": [{"file_id": "b"}]}) == {
        "results": [{"file_id": "a"}, {"file_id": "b"}]
    }


def _created_with_text() -> list[Event]:
    """A stream whose `message.created` already holds text: deltas append to it."""
    return wire(
        [
            *run_start(),
            ("thread.message.created", message("msg_H1", "in_progress", [text("Hello")])),
            message_delta("msg_H1", text_part(0, "Hello")),
            (
                "thread.message.completed",
                message("msg_H1", "completed", [text("HelloHello")], completed_at=1),
            ),
            completed_run(),
        ]
    )


def test_created_with_text__deltas_append_to_it_like_the_sdk() -> None:
    """ "Hello" in `message.created` plus the delta "Hello" gives "HelloHello" (§8.5, 1)."""
    events = _created_with_text()
    ours = run_sync(AssistantEventHandler, our_events(events))
    assert_same(ours, run_sync(SDKHandler, sdk_events(events)))
    deltas = [entry[1] for entry in ours.log if entry[0] == "on_text_delta"]
    assert deltas == [
        [{"value": "Hello", "annotations": None}, {"value": "HelloHello", "annotations": []}]
    ]
    assert "on_text_created" not in [entry[0] for entry in ours.log]


def test_accumulate_event__leaves_the_given_snapshot_alone() -> None:
    """A delta gives a new message; the previous snapshot and the event are unchanged."""
    created, delta = our_events(_created_with_text())[3:5]
    snapshot, opened = accumulate_event(created, None)
    assert isinstance(snapshot, Message)
    assert snapshot is created.data
    assert opened == []
    updated, opened = accumulate_event(delta, snapshot)
    assert updated is not None
    assert opened == []
    block = updated.content[0]
    assert isinstance(block, TextContentBlock)
    assert block.text.value == "HelloHello"
    assert snapshot.model_dump(mode="json") == created.data.model_dump(mode="json")
    assert accumulate_event(our_events(run_start())[0], updated) == (updated, [])


def test_accumulate_event__reports_opened_blocks_and_needs_a_snapshot() -> None:
    """A fragment at a new index opens a block (returned); a delta before any message raises."""
    created = parse_event("thread.message.created", message("msg_1", "in_progress", []))
    delta = parse_event(*message_delta("msg_1", text_part(0, "Hi", first=True)))
    snapshot, _ = accumulate_event(created, None)
    updated, opened = accumulate_event(delta, snapshot)
    assert isinstance(delta, ThreadMessageDelta)
    assert opened == delta.data.delta.content
    assert isinstance(updated, Message)
    assert updated.content[0].model_dump() == {
        "type": "text",
        "text": {"value": "Hi", "annotations": []},
        "index": 0,
    }
    with pytest.raises(RuntimeError, match="no previous snapshot"):
        accumulate_event(delta, None)


def test_accumulate_run_step__merges_tool_calls_and_needs_the_step() -> None:
    """Step deltas merge into the created step; a delta for an unknown step is a KeyError."""
    created = parse_event("thread.run.step.created", tool_step("step_1", "in_progress", []))
    step = accumulate_run_step(created, {})
    assert isinstance(step, RunStep)
    fragments = [
        {"index": 0, "id": "fs_1", "type": "file_search", "file_search": {}},
        {"index": 1, "id": "call_1", "type": "function", "function": {"name": "f"}},
    ]
    delta = parse_event(*calls_delta("step_1", *fragments))
    merged = accumulate_run_step(delta, {"step_1": step})
    assert merged is not None
    assert merged.step_details.type == "tool_calls"
    search, call = merged.step_details.tool_calls
    assert isinstance(search, FileSearchToolCall)
    assert search.id == "fs_1"
    # Still partial (no arguments yet): built without validation, `arguments` None.
    assert isinstance(call, FunctionToolCall)
    assert call.function.name == "f"
    assert call.function.__dict__["arguments"] is None
    more = parse_event(
        *calls_delta("step_1", {"index": 1, "type": "function", "function": {"arguments": "{}"}})
    )
    done = accumulate_run_step(more, {"step_1": merged})
    assert done is not None
    assert RunStep.model_validate(done.model_dump()) == done
    assert accumulate_run_step(parse_event("thread.run.created", run("queued")), {}) is None
    with pytest.raises(KeyError):
        accumulate_run_step(delta, {})


def test_parse_event__types_known_events_and_keeps_seq() -> None:
    """Known names give their model; `seq` is kept and `data` validated."""
    event = parse_event("thread.run.created", run("queued"), seq=7)
    assert isinstance(event, ThreadRunCreated)
    assert (event.seq, event.data.status) == (7, "queued")
    error = parse_event("error", {"message": "m", "type": "server_error"})
    assert isinstance(error, ErrorEvent)
    assert error.seq is None
    fragment = parse_event(*calls_delta("s", {"index": 0, "type": "function"}))
    assert fragment.data.delta.step_details.tool_calls == [FunctionToolCallDelta(index=0)]  # type: ignore[union-attr]
    with pytest.raises(pydantic.ValidationError):
        parse_event("thread.run.created", {"id": "run_1"})


def test_parse_event__unknown_thread_events_are_kept_others_rejected() -> None:
    """An unknown `thread.*` name gives `UnknownEvent`; other names raise ValueError."""
    event = parse_event("thread.run.future_event", {"x": 1}, seq=2)
    assert isinstance(event, UnknownEvent)
    assert (event.event, event.data, event.seq) == ("thread.run.future_event", {"x": 1}, 2)
    for name in ("done", "ping", ""):
        with pytest.raises(ValueError, match="Unknown stream event"):
            parse_event(name, "[DONE]")


# A handler overriding only some callbacks: the message snapshot is then built only when read
# (a callback, `current_message_snapshot`, `get_final_messages()`), and must be what the SDK's is.
SOME_CALLBACKS = [
    (),
    ("on_text_delta",),
    ("on_event",),
    ("on_text_done", "on_message_done"),
    ("on_text_created", "on_text_delta", "on_text_done"),
]


@pytest.mark.parametrize("cut", [False, True], ids=["whole", "cut mid-way"])
@pytest.mark.parametrize("callbacks", SOME_CALLBACKS, ids="+".join)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_handler_with_some_callbacks__sees_the_sdks_snapshots(
    scenario: str, callbacks: tuple[str, ...], cut: bool
) -> None:
    """The state each overridden callback reads, and the final objects, equal the SDK's; also
    for a stream ending mid-way, a message's last fragments unread by any callback."""
    events = wire(SCENARIOS[scenario]())
    if cut:
        events = events[: len(events) * 2 // 3]
    ours = run_sync(AssistantEventHandler, our_events(events), callbacks=callbacks)
    assert_same(ours, run_sync(SDKHandler, sdk_events(events), callbacks=callbacks))
    assert {entry[0] for entry in ours.log} <= {*callbacks, "on_exception", "on_end"}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_async_handler_with_some_callbacks__sees_the_sdks_snapshots(scenario: str) -> None:
    """The same for the async handlers, overriding only `on_text_delta`."""
    events = wire(SCENARIOS[scenario]())
    kwargs: dict[str, Any] = {"callbacks": ("on_text_delta",)}
    ours = await run_async(AsyncAssistantEventHandler, our_events(events), **kwargs)
    assert_same(ours, await run_async(AsyncSDKHandler, sdk_events(events), **kwargs))
