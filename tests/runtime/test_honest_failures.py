"""Runs that fail say why, and report the tokens the provider spent before they failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from assistants import AsyncClient
from assistants.testing import (
    Finish,
    FunctionModel,
    ModelRequest,
    ProviderCallError,
    ScriptedModel,
    TextDelta,
    UsageChunk,
    tool_call,
)
from runtime.providers.base import Chunk
from tests.runtime.providers.fake_server import DONE, FakeServer, Reply, delta, usage

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
MEMORY = "sqlite+aiosqlite:///:memory:"


async def _run(client: AsyncClient, model: str, **run: Any) -> Any:
    assistant = await client.assistants.create(model=model, tools=[WEATHER, TIME])
    thread = await client.threads.create(messages=[{"role": "user", "content": "Weather?"}])
    with anyio.fail_after(20):
        return await client.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20, **run
        )


def _usage(run: Any) -> tuple[int, int, int]:
    assert run.usage is not None
    return (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens)


def _text_reply(prompt: int, completion: int) -> Reply:
    """llama-server with a template that has no tools: it answers in text and finishes."""
    return Reply(
        events=[
            delta(role="assistant", content="I would check "),
            delta(content="the weather."),
            delta(finish="stop"),
            usage(prompt, completion),
            DONE,
        ]
    )


# --- forced tool_choice ---------------------------------------------------------------------


async def test_forced_tool_choice__llama_server_answering_text_fails_the_run(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`required` answered with text: failed (server_error) naming the model and the template."""
    monkeypatch.setenv("LLAMACPP_BASE_URL", server.base_url)
    server.queue(_text_reply(40, 6))
    async with AsyncClient(database_url=MEMORY, poll_seconds=0.05) as client:
        run = await _run(client, "llamacpp/qwen", tool_choice="required")
        messages = await client.threads.messages.list(run.thread_id)
    assert server.requests[0].body["tool_choice"] == "required"
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert run.last_error.message == (
        "The model 'llamacpp/qwen' answered without calling a tool although tool_choice was "
        "'required'. The likely cause is a chat template without tool support; see "
        "llama-server --chat-template-file (and --jinja)."
    )
    assert _usage(run) == (40, 6, 46)
    assert run.required_action is None
    (answer, _) = messages.data
    assert answer.role == "assistant"
    assert answer.status == "incomplete"


async def test_forced_tool_choice__a_named_function_answered_with_text_fails(
    anyio_backend: str,
) -> None:
    """A named function choice answered with text fails the run, naming the function."""
    model = ScriptedModel(["It is probably sunny."])
    async with AsyncClient(
        database_url=MEMORY, poll_seconds=0.05, providers={"scripted": model}
    ) as client:
        run = await _run(
            client,
            "scripted",
            tool_choice={"type": "function", "function": {"name": "get_time"}},
        )
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert run.last_error.message == (
        "The model 'scripted' answered without calling a tool although tool_choice named the "
        "function 'get_time'. The likely cause is a model, or a chat template on its server, "
        "without tool support."
    )
    prompt, completion, total = _usage(run)
    assert prompt > 0
    assert completion > 0
    assert total == prompt + completion


async def test_forced_tool_choice__a_call_pauses_and_later_turns_may_answer_in_text(
    anyio_backend: str,
) -> None:
    """The obligation holds for the first call only: after the outputs, text completes the run."""
    model = ScriptedModel([[tool_call("get_weather", city="Paris")], "Sunny in Paris."])
    async with AsyncClient(
        database_url=MEMORY, poll_seconds=0.05, providers={"scripted": model}
    ) as client:
        run = await _run(client, "scripted", tool_choice="required")
        assert run.status == "requires_action"
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        with anyio.fail_after(20):
            run = await client.threads.runs.submit_tool_outputs_and_poll(
                thread_id=run.thread_id,
                run_id=run.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "22C"}],
                poll_interval_ms=20,
            )
    assert run.status == "completed"


async def test_forced_tool_choice__auto_answered_with_text_completes(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an obligation, the same text answer is a completed run."""
    monkeypatch.setenv("LLAMACPP_BASE_URL", server.base_url)
    server.queue(_text_reply(40, 6))
    async with AsyncClient(database_url=MEMORY, poll_seconds=0.05) as client:
        run = await _run(client, "llamacpp/qwen")
    assert run.status == "completed"
    assert _usage(run) == (40, 6, 46)


async def test_forced_tool_choice__cut_short_by_the_token_budget_is_incomplete(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forced choice whose answer hit `max_completion_tokens` ends incomplete, not failed."""
    monkeypatch.setenv("LLAMACPP_BASE_URL", server.base_url)
    server.queue(
        Reply(events=[delta(content="Let me think"), delta(finish="length"), usage(40, 256), DONE])
    )
    async with AsyncClient(database_url=MEMORY, poll_seconds=0.05) as client:
        run = await _run(client, "llamacpp/qwen", tool_choice="required", max_completion_tokens=256)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert _usage(run) == (40, 256, 296)


# --- usage on failure -----------------------------------------------------------------------


async def test_usage_on_failure__a_stream_that_reported_usage_then_broke(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops after the usage event, before [DONE]: failed, with that usage."""
    monkeypatch.setenv("OLLAMA_BASE_URL", server.base_url)
    server.queue(
        Reply(
            events=[
                delta(role="assistant", content="Hello"),
                delta(content=" there"),
                usage(25, 3),
                DONE,
            ],
            drop_after=3,
        )
    )
    async with AsyncClient(database_url=MEMORY, poll_seconds=0.05) as client:
        run = await _run(client, "ollama/qwen")
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert "broke after output had begun" in run.last_error.message
    assert _usage(run) == (25, 3, 28)


async def test_usage_on_failure__a_model_that_failed_after_its_usage(anyio_backend: str) -> None:
    """A provider error after text and usage: failed, with the usage it reported."""

    async def answer(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("Partial")
        yield UsageChunk(prompt_tokens=12, completion_tokens=2)
        raise ProviderCallError("The upstream went away", code="server_error")

    model = FunctionModel(answer)
    async with AsyncClient(
        database_url=MEMORY, poll_seconds=0.05, providers={"function": model}
    ) as client:
        run = await _run(client, "function")
    assert run.status == "failed"
    assert _usage(run) == (12, 2, 14)


async def test_usage_on_failure__a_failed_model_before_a_fallback_counts(
    anyio_backend: str,
) -> None:
    """Tokens a model spent before failing (no output) are added to the fallback's usage."""

    async def spent_then_failed(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield UsageChunk(prompt_tokens=30, completion_tokens=0)
        raise ProviderCallError("Overloaded", code="server_error")

    async def answer(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("Fine.")
        yield UsageChunk(prompt_tokens=10, completion_tokens=1)
        yield Finish("stop")

    providers = {"first": FunctionModel(spent_then_failed), "second": FunctionModel(answer)}
    async with AsyncClient(database_url=MEMORY, poll_seconds=0.05, providers=providers) as client:
        run = await _run(client, "first", extra_body={"fallbacks": ["second"]})
    assert run.status == "completed"
    assert _usage(run) == (40, 1, 41)
