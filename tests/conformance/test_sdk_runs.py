"""Runs through the SDK's polling helpers: tool round trips (single, parallel, multi-round),
cancel, thread-and-run, `poll` with an interval, failures, and the poll headers.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistants.testing import FunctionModel, ModelRequest, PlannedCall, tool_call
from runtime.providers.base import ProviderCallError
from tests.conformance.conftest import LiveServer
from tests.conformance.support import TIME, WEATHER, echo_outputs, function_calls, serve, text_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai
    from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput


def rounds(request: ModelRequest) -> str | list[PlannedCall]:
    """Calls get_weather, then get_time, then answers with both outputs: a run of two rounds.

    A user message saying "fail" makes the call fail instead.
    """
    last_user = next((m for m in reversed(request.messages) if m.role == "user"), None)
    if last_user is not None and "fail" in str(last_user.content):
        raise ProviderCallError("The model is unavailable.", code="server_error")
    outputs = [str(m.content) for m in request.messages if m.role == "tool"]
    if not outputs:
        return [tool_call("get_weather", city="Paris")]
    if len(outputs) == 1:
        return [tool_call("get_time", zone="CET")]
    return "Done: " + " / ".join(outputs)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    providers = {"rounds": FunctionModel(rounds, name="rounds")}
    with serve(tmp_path_factory.mktemp("runs"), providers=providers) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[openai.OpenAI]:
    sdk = server.sdk()
    try:
        yield sdk
    finally:
        sdk.close()


@pytest.fixture
def idle(tmp_path: Path) -> Iterator[openai.OpenAI]:
    """The SDK on a server with no worker: runs stay queued."""
    with serve(tmp_path, worker=False) as live:
        sdk = live.sdk()
        try:
            yield sdk
        finally:
            sdk.close()


def test_create_and_poll__function_tool_round_trip(client: openai.OpenAI) -> None:
    """create_and_poll stops at requires_action; submit_tool_outputs_and_poll completes it."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "get_weather?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    (call,) = function_calls(run)
    assert call.id.startswith("call_")
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"]
    assert run.required_action is not None
    assert run.required_action.type == "submit_tool_outputs"
    assert run.expires_at is not None

    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "22C"}],
    )
    assert done.status == "completed"
    assert done.required_action is None
    assert done.expires_at is None
    reply = client.beta.threads.messages.list(thread.id).data[0]
    assert text_of(reply) == "Tool results: 22C"
    assert reply.run_id == run.id


def test_parallel_tool_calls__submitted_together(client: openai.OpenAI) -> None:
    """Two tools named in the message are called in parallel and answered in one submit."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER, TIME])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "get_weather and get_time"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    calls = function_calls(run)
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2
    outputs: list[ToolOutput] = [
        {"tool_call_id": calls[1].id, "output": "noon"},  # order of outputs does not matter
        {"tool_call_id": calls[0].id, "output": "rain"},
    ]
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=outputs
    )
    assert done.status == "completed"
    assert text_of(client.beta.threads.messages.list(thread.id).data[0]) == (
        "Tool results: rain; noon"
    )
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    details = steps[0].step_details
    assert details.type == "tool_calls"
    got = {c.id: c.function.output for c in details.tool_calls if c.type == "function"}
    assert got == {calls[0].id: "rain", calls[1].id: "noon"}


def test_parallel_tool_calls_off__one_call(client: openai.OpenAI) -> None:
    """`parallel_tool_calls=False` makes the model call one tool at a time."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER, TIME])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "get_weather and get_time"}]
    )
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, parallel_tool_calls=False
    )
    assert [c.function.name for c in function_calls(run)] == ["get_weather"]
    assert run.parallel_tool_calls is False


def test_multi_round__two_pauses_then_completed(client: openai.OpenAI) -> None:
    """A model that calls tools twice pauses twice; each submit resumes the same run."""
    assistant = client.beta.assistants.create(model="rounds", tools=[WEATHER, TIME])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "plan my day"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert [c.function.name for c in function_calls(run)] == ["get_weather"]
    first_expiry = run.expires_at
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=echo_outputs(run)
    )
    assert [c.function.name for c in function_calls(run)] == ["get_time"]
    assert run.expires_at == first_expiry  # never extended
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=echo_outputs(run)
    )
    assert run.status == "completed"
    assert text_of(client.beta.threads.messages.list(thread.id).data[0]) == (
        "Done: get_weather-ok / get_time-ok"
    )
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "tool_calls", "message_creation"]
    assert {s.status for s in steps} == {"completed"}


def test_tool_choice__named_function_and_none(client: openai.OpenAI) -> None:
    """A named `tool_choice` picks that tool; "none" makes the model answer in text."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER, TIME])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "get_weather"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert [c.function.name for c in function_calls(run)] == ["get_time"]
    assert run.tool_choice is not None
    assert run.tool_choice != "auto"
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status in {"cancelling", "cancelled"}
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice="none"
    )
    assert run.status == "completed"
    assert run.tool_choice == "none"


def test_cancel__paused_run(client: openai.OpenAI) -> None:
    """A run waiting at requires_action cancels; its tool step is cancelled; the thread unlocks."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "get_weather"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status in {"cancelling", "cancelled"}
    final = client.beta.threads.runs.poll(run.id, thread.id)
    assert final.status == "cancelled"
    assert final.cancelled_at is not None
    assert final.required_action is None
    (step,) = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert step.status == "cancelled"
    assert step.cancelled_at is not None
    client.beta.threads.messages.create(thread.id, role="user", content="unlocked")


def test_cancel__queued_run(idle: openai.OpenAI) -> None:
    """A queued run nobody executes cancels; the thread then accepts a new run."""
    assistant = idle.beta.assistants.create(model="test")
    thread = idle.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = idle.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert run.status == "queued"
    cancelled = idle.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.id == run.id
    assert cancelled.status in {"cancelling", "cancelled"}
    final = idle.beta.threads.runs.poll(run.id, thread.id, poll_interval_ms=5)
    assert final.status == "cancelled"
    assert final.cancelled_at is not None
    assert final.expires_at is None
    again = idle.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert again.status == "queued"


def test_create_and_run_poll__new_thread(client: openai.OpenAI) -> None:
    """create_and_run_poll makes a thread, runs it to the end, and reports the new thread."""
    assistant = client.beta.assistants.create(model="test")
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "bonjour"}], "metadata": {"k": "v"}},
        metadata={"run": "yes"},
    )
    assert run.status == "completed"
    assert run.metadata == {"run": "yes"}
    thread = client.beta.threads.retrieve(run.thread_id)
    assert thread.metadata == {"k": "v"}
    texts = [text_of(m) for m in client.beta.threads.messages.list(thread.id, order="asc")]
    assert texts == ["bonjour", "You said: bonjour"]


def test_create_and_run_poll__with_tools(client: openai.OpenAI) -> None:
    """create_and_run_poll with run-level tools pauses; the pause is resumed by submit."""
    assistant = client.beta.assistants.create(model="test")
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "get_time"}]},
        tools=[TIME],
    )
    assert [c.function.name for c in function_calls(run)] == ["get_time"]
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=run.thread_id, tool_outputs=echo_outputs(run)
    )
    assert done.status == "completed"


def test_poll__with_interval_and_headers(client: openai.OpenAI) -> None:
    """`runs.poll(poll_interval_ms=...)` returns the final run; run GETs carry the poll hint."""
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    final = client.beta.threads.runs.poll(run.id, thread.id, poll_interval_ms=10)
    assert final.status == "completed"
    raw = client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id)
    assert int(raw.headers["openai-poll-after-ms"]) > 0
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.parse().status == "completed"


def test_failed_run__last_error(client: openai.OpenAI) -> None:
    """A model failure ends the run `failed` with `last_error`; the thread unlocks."""
    assistant = client.beta.assistants.create(model="rounds", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "please fail"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed"
    assert run.failed_at is not None
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert run.last_error.message
    client.beta.threads.messages.create(thread.id, role="user", content="still usable")


def test_token_budget__incomplete(client: openai.OpenAI) -> None:
    """create_and_poll returns an `incomplete` run when max_completion_tokens cuts the reply."""
    assistant = client.beta.assistants.create(model="test")
    prompt = " ".join(f"word{i}" for i in range(400))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": prompt}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=256
    )
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage is not None
    assert run.usage.completion_tokens <= 256
    assert run.expires_at is None
    message = client.beta.threads.messages.list(thread.id).data[0]
    assert message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "max_tokens"
    assert message.incomplete_at is not None
    assert prompt.startswith(text_of(message).removeprefix("You said: "))
    client.beta.threads.messages.create(thread.id, role="user", content="unlocked")


async def test_async__create_and_poll_round_trip(server: LiveServer) -> None:
    """The async SDK's create_and_poll and submit_tool_outputs_and_poll complete a tool run."""
    async with server.async_sdk() as client:
        assistant = await client.beta.assistants.create(model="test", tools=[WEATHER])
        thread = await client.beta.threads.create(
            messages=[{"role": "user", "content": "get_weather"}]
        )
        run = await client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread.id, tool_outputs=echo_outputs(run)
        )
        assert run.status == "completed"
        later = await client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "x"}]}
        )
        assert later.status == "requires_action"
        cancelled = await client.beta.threads.runs.cancel(later.id, thread_id=later.thread_id)
        assert cancelled.status in {"cancelling", "cancelled"}
        final = await client.beta.threads.runs.poll(later.id, later.thread_id, poll_interval_ms=5)
        assert final.status == "cancelled"
