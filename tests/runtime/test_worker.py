"""The embedded worker and the executor: runs execute, pause for tools, fail, cancel, expire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from assistants import AsyncClient, BadRequestError
from assistants.testing import FunctionModel, ModelRequest, ScriptedModel, tool_call
from runtime.providers.base import Chunk, ProviderCallError, TextDelta
from tests.conftest import WEATHER_TOOL

FAST: dict[str, Any] = {
    "poll_seconds": 0.05,
    "sweep_seconds": 0.05,
    "lease_seconds": 2.0,
    "stop_grace_seconds": 2.0,
}
F_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
G_TOOL = {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}}


async def _thread(client: AsyncClient, text: str = "hello") -> str:
    return (await client.threads.create(messages=[{"role": "user", "content": text}])).id


async def test_text_run__completes_with_the_echoed_message(live_client: AsyncClient) -> None:
    """A run with no tools completes; the answer contains the user's message verbatim."""
    assistant = await live_client.assistants.create(model="test")
    thread_id = await _thread(live_client, "ping 42")
    with anyio.fail_after(10):
        run = await live_client.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=assistant.id
        )
    assert run.status == "completed"
    assert run.completed_at is not None
    assert run.expires_at is None
    assert run.usage is not None
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens > 0
    messages = await live_client.threads.messages.list(thread_id, run_id=run.id)
    assert len(messages.data) == 1
    answer = messages.data[0]
    assert answer.role == "assistant"
    assert answer.status == "completed"
    assert answer.assistant_id == assistant.id
    assert "ping 42" in answer.content[0].text.value  # type: ignore[union-attr]
    steps = await live_client.threads.runs.steps.list(run.id, thread_id=thread_id)
    assert [s.type for s in steps.data] == ["message_creation"]
    assert steps.data[0].step_details.message_creation.message_id == answer.id  # type: ignore[union-attr]
    assert steps.data[0].usage is not None


async def test_tool_round_trip__pauses_then_completes_with_the_output(
    live_client: AsyncClient,
) -> None:
    """requires_action carries schema-valid arguments; the outputs come back verbatim."""
    assistant = await live_client.assistants.create(model="test", tools=[WEATHER_TOOL])
    thread_id = await _thread(live_client, "weather? get_weather")
    with anyio.fail_after(10):
        run = await live_client.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=assistant.id
        )
        assert run.status == "requires_action"
        assert run.required_action is not None
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        assert call.id.startswith("call_")
        assert call.function.name == "get_weather"
        args = json.loads(call.function.arguments)
        assert isinstance(args["city"], str)
        assert args["unit"] in ("c", "f")
        steps = await live_client.threads.runs.steps.list(run.id, thread_id=thread_id)
        (tool_step,) = steps.data
        assert tool_step.status == "in_progress"
        assert tool_step.usage is None
        run = await live_client.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread_id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "21C, dry"}],
        )
    assert run.status == "completed"
    assert run.expires_at is None
    step = await live_client.threads.runs.steps.retrieve(
        tool_step.id, thread_id=thread_id, run_id=run.id
    )
    assert step.status == "completed"
    assert step.step_details.tool_calls[0].function.output == "21C, dry"  # type: ignore[union-attr]
    assert step.usage is not None
    messages = await live_client.threads.messages.list(thread_id, run_id=run.id)
    assert "21C, dry" in messages.data[0].content[0].text.value  # type: ignore[union-attr]
    steps = await live_client.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc")
    assert run.usage is not None
    assert run.usage.total_tokens == sum(s.usage.total_tokens for s in steps.data if s.usage)


async def test_parallel_calls__distinct_call_ids_all_required(live_client: AsyncClient) -> None:
    """Two tools named in the message are called in parallel, each with its own call id."""
    assistant = await live_client.assistants.create(model="test", tools=[F_TOOL, G_TOOL])
    thread_id = await _thread(live_client, "use f and g")
    with anyio.fail_after(10):
        run = await live_client.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=assistant.id
        )
        calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        assert [c.function.name for c in calls] == ["f", "g"]
        assert len({c.id for c in calls}) == 2
        with pytest.raises(BadRequestError) as missing:
            await live_client.threads.runs.submit_tool_outputs(
                run.id,
                thread_id=thread_id,
                tool_outputs=[{"tool_call_id": calls[0].id, "output": "1"}],
            )
        assert missing.value.message == (
            f"Expected tool outputs for call_ids {[c.id for c in calls]!r}, got {[calls[0].id]!r}"
        )
        run = await live_client.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread_id,
            run_id=run.id,
            tool_outputs=[
                {"tool_call_id": c.id, "output": f"out-{c.function.name}"} for c in calls
            ],
        )
    assert run.status == "completed"
    text = (await live_client.threads.messages.list(thread_id)).data[0].content[0].text.value  # type: ignore[union-attr]
    assert "out-f" in text
    assert "out-g" in text


async def test_parallel_calls_off__one_call_per_round(live_client: AsyncClient) -> None:
    """With parallel_tool_calls false, the model is asked for (and makes) a single call."""
    assistant = await live_client.assistants.create(model="test", tools=[F_TOOL, G_TOOL])
    thread_id = await _thread(live_client, "use f and g")
    with anyio.fail_after(10):
        run = await live_client.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=assistant.id, parallel_tool_calls=False
        )
    assert run.parallel_tool_calls is False
    assert len(run.required_action.submit_tool_outputs.tool_calls) == 1  # type: ignore[union-attr]


async def _scripted(model: Any, **options: Any) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", providers={"m": model}, **FAST, **options
    ) as client:
        yield client


async def test_multi_round__two_tool_rounds_then_text_with_usage_summed() -> None:
    """Several tool rounds in one run; usage on the run sums every model call."""
    model = ScriptedModel([[tool_call("f", x=1)], [tool_call("g", y=2)], "all done"])
    async for client in _scripted(model):
        assistant = await client.assistants.create(model="m", tools=[F_TOOL, G_TOOL])
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            for expected in ("f", "g"):
                call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
                assert call.function.name == expected
                run = await client.threads.runs.submit_tool_outputs_and_poll(
                    thread_id=thread_id,
                    run_id=run.id,
                    tool_outputs=[{"tool_call_id": call.id, "output": expected * 3}],
                )
        assert run.status == "completed"
        assert len(model.requests) == 3
        last = model.requests[-1].messages
        assert [m.role for m in last[-4:]] == ["assistant", "tool", "assistant", "tool"]
        assert [m.content for m in last if m.role == "tool"] == ["fff", "ggg"]
        steps = (
            await client.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc")
        ).data
        assert [s.type for s in steps] == ["tool_calls", "tool_calls", "message_creation"]
        assert run.usage is not None
        assert run.usage.total_tokens == sum(s.usage.total_tokens for s in steps if s.usage)


async def test_submit_twice__second_is_refused_with_the_status() -> None:
    """Submitting outputs twice: the second gets the API's 400 naming the run's status."""
    model = ScriptedModel([[tool_call("f")], "ok"])
    async for client in _scripted(model):
        assistant = await client.assistants.create(model="m", tools=[F_TOOL])
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
            outputs = [{"tool_call_id": call.id, "output": "1"}]
            first = await client.threads.runs.submit_tool_outputs(
                run.id, thread_id=thread_id, tool_outputs=outputs
            )
            assert first.status == "queued"
            assert first.required_action is None
            with pytest.raises(BadRequestError) as info:
                await client.threads.runs.submit_tool_outputs(
                    run.id, thread_id=thread_id, tool_outputs=outputs
                )
            assert info.value.message.startswith('Runs in status "')
            assert info.value.message.endswith('" do not accept tool outputs.')
            done = await client.threads.runs.poll(run.id, thread_id)
        assert done.status == "completed"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Rate limit reached (429)", "rate_limit_exceeded"),
        ("upstream 500", "server_error"),
        ("context too long", "invalid_prompt"),
    ],
)
async def test_provider_error__run_fails_with_last_error(message: str, code: Any) -> None:
    """A provider failure ends the run `failed` with the error's code and message."""
    error = ProviderCallError(message, code=code)
    async for client in _scripted(ScriptedModel([error])):
        assistant = await client.assistants.create(model="m")
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
        assert run.status == "failed"
        assert run.failed_at is not None
        assert run.last_error is not None
        assert run.last_error.code == code
        assert run.last_error.message == error.message
        # The thread is free again.
        await client.threads.messages.create(thread_id, role="user", content="again")


async def test_stream_breaks_mid_message__message_incomplete_with_partial_text() -> None:
    """A stream that breaks mid-message: message `incomplete` keeps its text, run `failed`."""

    async def answer(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("partial ")
        yield TextDelta("answer")
        raise ProviderCallError("The stream broke after 2 chunks.")

    async for client in _scripted(FunctionModel(answer)):
        assistant = await client.assistants.create(model="m")
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
        assert run.status == "failed"
        message = (await client.threads.messages.list(thread_id, run_id=run.id)).data[0]
        assert message.status == "incomplete"
        assert message.incomplete_details is not None
        assert message.incomplete_details.reason == "run_failed"
        assert message.content[0].text.value == "partial answer"  # type: ignore[union-attr]
        (step,) = (await client.threads.runs.steps.list(run.id, thread_id=thread_id)).data
        assert step.status == "failed"
        assert step.last_error is not None


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (tool_call("f", "{not json"), "not valid JSON"),
        (tool_call("nope"), "unknown tool 'nope'"),
        (tool_call("", "{}"), "without a function name"),
        (tool_call("f", "[1, 2]"), "not a JSON object"),
    ],
)
async def test_bad_tool_calls__fail_the_run_with_a_clear_message(call: Any, expected: str) -> None:
    """Invalid arguments, unknown or empty tool names fail the run; nothing is dropped silently."""
    async for client in _scripted(ScriptedModel([[call]])):
        assistant = await client.assistants.create(model="m", tools=[F_TOOL])
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
        assert run.status == "failed"
        assert run.last_error is not None
        assert run.last_error.code == "server_error"
        assert expected in run.last_error.message


async def test_cancel_during_streaming__run_cancelled_message_incomplete() -> None:
    """Cancel while the model streams: the stream is interrupted, the run ends `cancelled`."""
    started = anyio.Event()
    never = anyio.Event()

    async def answer(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("Hello")
        started.set()
        await never.wait()
        yield TextDelta(" never sent")

    async for client in _scripted(FunctionModel(answer), delta_flush_count=1):
        assistant = await client.assistants.create(model="m")
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create(thread_id, assistant_id=assistant.id)
            await started.wait()
            cancelling = await client.threads.runs.cancel(run.id, thread_id=thread_id)
            assert cancelling.status in ("cancelling", "cancelled")
            run = await client.threads.runs.poll(run.id, thread_id)
        assert run.status == "cancelled"
        assert run.cancelled_at is not None
        message = (await client.threads.messages.list(thread_id, run_id=run.id)).data[0]
        assert message.status == "incomplete"
        assert message.incomplete_details.reason == "run_cancelled"  # type: ignore[union-attr]
        assert message.content[0].text.value == "Hello"  # type: ignore[union-attr]
        (step,) = (await client.threads.runs.steps.list(run.id, thread_id=thread_id)).data
        assert step.status == "cancelled"
        store = await client.store()
        names = [e.event for e in await store.log.read_events(run.id)]
        assert names[-4:] == [
            "thread.run.cancelling",
            "thread.message.incomplete",
            "thread.run.step.cancelled",
            "thread.run.cancelled",
        ]


async def test_cancel_requires_action__tool_step_cancelled() -> None:
    """Cancelling a paused run ends it at once; its tool_calls step is cancelled."""
    async for client in _scripted(ScriptedModel([[tool_call("f")]])):
        assistant = await client.assistants.create(model="m", tools=[F_TOOL])
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
        run = await client.threads.runs.cancel(run.id, thread_id=thread_id)
        assert run.status == "cancelled"
        assert run.required_action is None
        (step,) = (await client.threads.runs.steps.list(run.id, thread_id=thread_id)).data
        assert step.status == "cancelled"
        assert step.cancelled_at is not None


async def test_budgets__completion_budget_makes_the_run_incomplete() -> None:
    """max_completion_tokens exhausted: run `incomplete` (max_completion_tokens), message too."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", **FAST) as client:
        assistant = await client.assistants.create(model="test")
        thread_id = await _thread(client, "word " * 600)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id, max_completion_tokens=256
            )
        assert run.status == "incomplete"
        assert run.incomplete_details is not None
        assert run.incomplete_details.reason == "max_completion_tokens"
        assert run.usage is not None
        assert run.usage.completion_tokens <= 256
        message = (await client.threads.messages.list(thread_id, run_id=run.id)).data[0]
        assert message.status == "incomplete"
        assert message.incomplete_details.reason == "max_tokens"  # type: ignore[union-attr]


async def test_budgets__prompt_budget_too_small_makes_the_run_incomplete() -> None:
    """Instructions alone over max_prompt_tokens: `incomplete` with reason max_prompt_tokens."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", **FAST) as client:
        assistant = await client.assistants.create(model="test", instructions="rule. " * 400)
        thread_id = await _thread(client)
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id, max_prompt_tokens=256
            )
        assert run.status == "incomplete"
        assert run.incomplete_details.reason == "max_prompt_tokens"  # type: ignore[union-attr]


async def test_context__instructions_variables_truncation_and_overrides() -> None:
    """The model sees interpolated instructions + additional ones, and only the last N messages."""
    model = ScriptedModel(["one"])
    async for client in _scripted(model):
        assistant = await client.assistants.create(model="m", instructions="You help {{name}}.")
        thread = await client.threads.create(
            messages=[{"role": "user", "content": f"m{i}"} for i in range(5)]
        )
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread.id,
                assistant_id=assistant.id,
                variables={"name": "Ada"},
                additional_instructions="Be {{tone}}.",
                extra_body={"variables": {"name": "Ada", "tone": "kind"}},
                truncation_strategy={"type": "last_messages", "last_messages": 2},
                temperature=0.3,
            )
        assert run.status == "completed"
        assert run.instructions == "You help Ada.\n\nBe kind."
        (request,) = model.requests
        assert request.temperature == 0.3
        assert [(m.role, m.content) for m in request.messages] == [
            ("system", "You help Ada.\n\nBe kind."),
            ("user", "m3"),
            ("user", "m4"),
        ]
        with pytest.raises(BadRequestError) as info:
            await client.threads.runs.create(thread.id, assistant_id=assistant.id)
        assert info.value.param == "variables.name"
        assert "Missing variable 'name'" in info.value.message


async def test_unknown_model__400_at_run_creation_not_a_failed_run(
    live_client: AsyncClient,
) -> None:
    """An unresolvable model name is refused when the run is created, naming the model."""
    assistant = await live_client.assistants.create(model="test")
    thread_id = await _thread(live_client)
    with pytest.raises(BadRequestError) as info:
        await live_client.threads.runs.create(
            thread_id, assistant_id=assistant.id, model="mystery-9000"
        )
    assert info.value.code == "model_not_found"
    assert "'mystery-9000'" in info.value.message
    with pytest.raises(BadRequestError):
        await live_client.assistants.create(model="mystery-9000")
    assert (await live_client.threads.runs.list(thread_id)).data == []


async def test_deleted_assistant__queued_run_still_completes() -> None:
    """A run keeps the settings it was created with: deleting its assistant does not break it."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        assistant = await client.assistants.create(model="test", instructions="x")
        thread_id = await _thread(client)
        run = await client.threads.runs.create(thread_id, assistant_id=assistant.id)
        await client.assistants.delete(assistant.id)
        from runtime.worker import Worker

        worker = Worker(await client.store(), client.settings.model_copy(update=FAST))
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(10):
                done = await client.threads.runs.poll(run.id, thread_id)
            await worker.stop()
        assert done.status == "completed"
        assert done.assistant_id == assistant.id


def test_without_context_manager__asyncio_starts_the_worker_in_the_background() -> None:
    """`AsyncClient()` used without `async with` (as apps use AsyncOpenAI()) still runs runs."""
    import asyncio

    async def main() -> str:
        client = AsyncClient(database_url="sqlite+aiosqlite:///:memory:")
        try:
            assistant = await client.assistants.create(model="test")
            thread_id = await _thread(client, "no context manager")
            with anyio.fail_after(10):
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread_id, assistant_id=assistant.id
                )
            return run.status
        finally:
            await client.aclose()

    assert asyncio.run(main()) == "completed"


def test_without_context_manager__trio_gets_a_clear_error() -> None:
    """Under trio the embedded worker needs `async with`; the error says so."""
    import trio

    from assistants.errors import ConfigurationError

    async def main() -> None:
        client = AsyncClient(database_url="sqlite+aiosqlite:///:memory:")
        try:
            await client.assistants.create(model="test")
        finally:
            await client.aclose()

    with pytest.raises(ConfigurationError, match="async with AsyncClient"):
        trio.run(main)
