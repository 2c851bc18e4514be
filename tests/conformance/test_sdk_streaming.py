"""Streaming through the sync SDK: the helper streams with a handler recording every callback,
and raw `stream=True` iteration, checked against CONTRACT §8.3's event order.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistants.testing import FunctionModel, ModelRequest, PlannedCall
from runtime.providers.base import ProviderCallError
from tests.conformance.conftest import LiveServer
from tests.conformance.support import (
    INCLUDE_CONTENT,
    RUN_STOP_EVENTS,
    TIME,
    WEATHER,
    Gate,
    Recorder,
    check_text_stream,
    check_tool_pause,
    collapse,
    echo_outputs,
    expected_text_run,
    function_calls,
    milestones,
    serve,
    text_of,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai
    from openai.types.beta import AssistantStreamEvent
    from openai.types.beta.threads import Text


def broken(request: ModelRequest) -> str | list[PlannedCall]:
    raise ProviderCallError("The upstream model is down.", code="server_error")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    providers = {"broken": FunctionModel(broken, name="broken")}
    with serve(tmp_path_factory.mktemp("stream"), providers=providers) as live:
        yield live


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    try:
        yield g
    finally:
        g.opened.set()  # frees a thread left waiting by a failed test


@pytest.fixture
def client(server: LiveServer) -> Iterator[openai.OpenAI]:
    sdk = server.sdk()
    try:
        yield sdk
    finally:
        sdk.close()


def paused_thread(client: openai.OpenAI) -> tuple[str, str]:
    """An assistant with two tools and a thread whose message names both."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER, TIME])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "get_weather and get_time"}]
    )
    return assistant.id, thread.id


def test_stream__handler_sees_every_callback_up_to_the_pause(client: openai.OpenAI) -> None:
    """runs.stream: step, tool-call created/delta/done for two parallel calls, then on_end."""
    assistant, thread = paused_thread(client)
    rec = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread, assistant_id=assistant, event_handler=rec, include=[INCLUDE_CONTENT]
    ) as stream:
        assert stream is rec
        stream.until_done()
    run = rec.get_final_run()
    assert run.status == "requires_action"
    assert len(function_calls(run)) == 2
    check_tool_pause(rec, run)
    with pytest.raises(RuntimeError, match="No messages found"):
        rec.get_final_messages()
    (step,) = rec.get_final_run_steps()
    assert (step.type, step.status) == ("tool_calls", "in_progress")
    assert step.step_details.type == "tool_calls"
    accumulated = [(c.id, c.function.arguments) for c in step.step_details.tool_calls]  # type: ignore[union-attr]
    assert accumulated == [(c.id, c.function.arguments) for c in function_calls(run)]
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread).status == "requires_action"


def test_submit_tool_outputs_stream__continues_with_text(client: openai.OpenAI) -> None:
    """submit_tool_outputs_stream starts with the tool step's completion, then streams the reply."""
    assistant, thread = paused_thread(client)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread, assistant_id=assistant)
    rec = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread, run_id=run.id, tool_outputs=echo_outputs(run), event_handler=rec
    ) as stream:
        stream.until_done()
    assert rec.events[0] == "thread.run.step.completed"
    assert "thread.run.created" not in rec.events
    assert collapse(rec.events) == ["thread.run.step.completed", *expected_text_run()[1:]]
    text = "Tool results: get_weather-ok; get_time-ok"
    check_text_stream(rec, text, prefix=["on_run_step_done"])
    tool_step_id, status = rec.args("on_run_step_done")[0]
    assert status == "completed"
    assert rec.get_final_run().status == "completed"
    (message,) = rec.get_final_messages()
    assert text_of(message) == text
    # The SDK keeps the snapshots of steps created in this stream only (as first created,
    # plus deltas): the reply's step.
    (step,) = rec.get_final_run_steps()
    assert step.id != tool_step_id
    assert step.type == "message_creation"


def test_create_and_run_stream__thread_created_first(client: openai.OpenAI) -> None:
    """create_and_run_stream: thread.created, then the text run's sequence."""
    assistant = client.beta.assistants.create(model="test")
    rec = Recorder()
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "stream me please"}]},
        event_handler=rec,
    ) as stream:
        stream.until_done()
    assert collapse(rec.events) == ["thread.created", *expected_text_run()]
    check_text_stream(rec, "You said: stream me please")
    run = rec.get_final_run()
    assert run.status == "completed"
    (message,) = rec.get_final_messages()
    assert (message.thread_id, message.run_id) == (run.thread_id, run.id)
    (step,) = rec.get_final_run_steps()
    assert step.step_details.type == "message_creation"
    assert step.step_details.message_creation.message_id == message.id


def test_stream__text_deltas_iterator(client: openai.OpenAI) -> None:
    """`stream.text_deltas` yields the reply's fragments, which join to the message text."""
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "one two three"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        text = "".join(stream.text_deltas)
        assert text == "You said: one two three"
        assert stream.get_final_run().status == "completed"
        assert [text_of(m) for m in stream.get_final_messages()] == [text]


def test_stream__default_handler_and_current_state(client: openai.OpenAI) -> None:
    """The default handler exposes the live state: current event, run and snapshots."""
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "state"}])
    with client.beta.threads.runs.create_and_stream(
        thread_id=thread.id, assistant_id=assistant.id
    ) as stream:
        seen: list[str] = []
        for event in stream:
            seen.append(event.event)
            assert stream.current_event is None or stream.current_event.event == event.event
            if event.event == "thread.message.completed":
                snapshot = stream.current_message_snapshot
                assert snapshot is not None
                assert text_of(snapshot) == "You said: state"
        assert stream.current_run is not None
        assert stream.current_run.status == "completed"
    assert collapse(seen) == expected_text_run()


def raw_events(stream: Any) -> list[Any]:
    """Every event of a raw stream (typed `AssistantStreamEvent`s, read field by field)."""
    events: list[AssistantStreamEvent] = list(stream)
    assert events, "empty stream"
    return events


def test_raw_stream__text_run_events_and_payloads(client: openai.OpenAI) -> None:
    """runs.create(stream=True): §8.3's order, typed payloads, deltas consistent with the end."""
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "raw please now"}])
    events = raw_events(
        client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
    )
    names = [e.event for e in events]
    assert collapse(names) == expected_text_run()
    assert names[-1] in RUN_STOP_EVENTS

    by_name: dict[str, list[Any]] = {}
    for event in events:
        by_name.setdefault(event.event, []).append(event.data)
    (created,) = by_name["thread.run.created"]
    assert created.status == "queued"
    assert created.expires_at == created.created_at + 600
    (started,) = by_name["thread.run.in_progress"]
    assert started.started_at is not None
    (step,) = by_name["thread.run.step.created"]
    assert (step.type, step.status) == ("message_creation", "in_progress")
    (message,) = by_name["thread.message.created"]
    assert (message.status, message.content, message.role) == ("in_progress", [], "assistant")
    assert (message.run_id, message.assistant_id) == (created.id, assistant.id)
    assert step.step_details.message_creation.message_id == message.id

    deltas = by_name["thread.message.delta"]
    assert len(deltas) >= 2
    text = ""
    for i, delta in enumerate(deltas):
        assert delta.id == message.id
        assert delta.object == "thread.message.delta"
        (part,) = delta.delta.content
        assert (part.index, part.type) == (0, "text")
        text += part.text.value
        # annotations come once, with the first fragment (a repeat would be appended again)
        assert part.text.annotations == ([] if i == 0 else None)
    (completed,) = by_name["thread.message.completed"]
    assert completed.status == "completed"
    assert completed.completed_at is not None
    assert text_of(completed) == text == "You said: raw please now"
    (done,) = by_name["thread.run.completed"]
    assert done.status == "completed"
    assert done.usage is not None
    assert done.expires_at is None


def test_raw_stream__tool_call_fragments(client: openai.OpenAI) -> None:
    """A tool-call stream: empty step first, id and name only in each call's first fragment."""
    assistant, thread = paused_thread(client)
    events = raw_events(
        client.beta.threads.runs.create(thread, assistant_id=assistant, stream=True)
    )
    names = [e.event for e in events]
    assert names[-1] == "thread.run.requires_action"
    assert "thread.run.step.completed" not in names
    step = next(e.data for e in events if e.event == "thread.run.step.created")
    assert step.step_details.type == "tool_calls"
    assert step.step_details.tool_calls == []

    args: dict[int, str] = {}
    ids: dict[int, str] = {}
    for event in events:
        if event.event != "thread.run.step.delta":
            continue
        assert event.data.id == step.id
        details = event.data.delta.step_details
        assert details is not None
        assert details.type == "tool_calls"
        for call in details.tool_calls or []:
            assert call.type == "function"
            assert call.function is not None
            if call.index not in ids:
                assert call.id is not None
                assert call.function.name is not None
                ids[call.index] = call.id
            else:
                assert call.id is None
                assert call.function.name is None
            args[call.index] = args.get(call.index, "") + (call.function.arguments or "")
    run = events[-1].data
    calls = function_calls(run)
    assert [ids[i] for i in sorted(ids)] == [c.id for c in calls]
    assert [args[i] for i in sorted(args)] == [c.function.arguments for c in calls]


def test_raw_submit_tool_outputs_stream(client: openai.OpenAI) -> None:
    """submit_tool_outputs(stream=True): no run.created, the step completes first, then text."""
    assistant, thread = paused_thread(client)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread, assistant_id=assistant)
    events = raw_events(
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread, tool_outputs=echo_outputs(run), stream=True
        )
    )
    assert collapse([e.event for e in events]) == [
        "thread.run.step.completed",
        *expected_text_run()[1:],
    ]
    step = events[0].data
    assert step.status == "completed"
    assert step.step_details.type == "tool_calls"
    assert [c.function.output for c in step.step_details.tool_calls] == [
        "get_weather-ok",
        "get_time-ok",
    ]
    queued = events[1].data
    assert (queued.status, queued.required_action) == ("queued", None)
    assert queued.expires_at == run.expires_at


def test_raw_create_and_run_stream(client: openai.OpenAI) -> None:
    """threads.create_and_run(stream=True) opens with thread.created carrying the new thread."""
    assistant = client.beta.assistants.create(model="test")
    events = raw_events(
        client.beta.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "x"}], "metadata": {"m": "1"}},
            stream=True,
        )
    )
    assert collapse([e.event for e in events]) == ["thread.created", *expected_text_run()]
    thread = events[0].data
    assert thread.object == "thread"
    assert thread.metadata == {"m": "1"}
    assert events[1].data.thread_id == thread.id


def test_stream__failed_run_ends_with_run_failed(client: openai.OpenAI) -> None:
    """A model failure streams thread.run.failed (with last_error) and the handler ends cleanly."""
    assistant = client.beta.assistants.create(model="broken")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    rec = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=rec
    ) as stream:
        stream.until_done()
    assert rec.events[-1] == "thread.run.failed"
    assert "on_exception" not in rec.names()
    assert rec.log[-1] == ("on_end", None)
    run = rec.get_final_run()
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    events = raw_events(
        client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
    )
    assert events[-1].event == "thread.run.failed"


class CancelOnFirstText(Recorder):
    """Cancels its own run (over another connection) as soon as the first text arrives."""

    def __init__(self, client: openai.OpenAI, thread_id: str) -> None:
        super().__init__()
        self.client = client
        self.thread_id = thread_id
        self.cancel_status: str | None = None

    def on_text_created(self, text: Text) -> None:
        super().on_text_created(text)
        run = self.current_run
        assert run is not None
        self.cancel_status = self.client.beta.threads.runs.cancel(
            run.id, thread_id=self.thread_id
        ).status


def test_stream__cancel_mid_message(tmp_path: Path, gate: Gate) -> None:
    """Cancelling a run mid-message streams cancelling, the open message and step closed, cancelled."""
    with serve(tmp_path, providers={"gated": gate.model()}) as live, live.sdk() as client:
        assistant = client.beta.assistants.create(model="gated")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        with live.sdk() as canceller:
            rec = CancelOnFirstText(canceller, thread.id)
            with client.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=rec
            ) as stream:
                stream.until_done()
        assert rec.cancel_status == "cancelling"
        assert collapse(rec.events)[-4:] == [
            "thread.run.cancelling",
            "thread.message.incomplete",
            "thread.run.step.cancelled",
            "thread.run.cancelled",
        ]
        assert milestones(rec.log) == [
            "on_run_step_created",
            "on_message_created",
            "on_text_created",
            "on_text_done",
            "on_message_done",
            "on_run_step_done",
            "on_end",
        ]
        assert rec.args("on_text_done") == ["Hello"]
        ((_, status, text),) = rec.args("on_message_done")
        assert (status, text) == ("incomplete", "Hello")
        ((_, step_status),) = rec.args("on_run_step_done")
        assert step_status == "cancelled"
        run = rec.get_final_run()
        assert run.status == "cancelled"
        assert run.cancelled_at is not None
        message = client.beta.threads.messages.list(thread.id).data[0]
        assert message.status == "incomplete"
        assert message.incomplete_details is not None
        assert message.incomplete_details.reason == "run_cancelled"


def test_stream__token_budget_ends_incomplete(client: openai.OpenAI) -> None:
    """A reply cut by max_completion_tokens streams message.incomplete, then run.incomplete."""
    assistant = client.beta.assistants.create(model="test")
    prompt = " ".join(f"word{i}" for i in range(400))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": prompt}])
    rec = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=256, event_handler=rec
    ) as stream:
        stream.until_done()
    assert collapse(rec.events)[-4:] == [
        "thread.message.delta",
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
    ]
    run = rec.get_final_run()
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    (message,) = rec.get_final_messages()
    assert message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "max_tokens"
    assert "".join(d for d, _ in rec.args("on_text_delta")) == text_of(message)
