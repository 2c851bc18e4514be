"""Whole runs through the OpenAI-compatible provider, against a chat-completions server on loopback."""

from __future__ import annotations

import json

import anyio
import pytest

from assistants import AsyncClient
from tests.runtime.providers.fake_server import (
    DONE,
    FakeServer,
    Reply,
    call,
    delta,
    usage,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_named_endpoint__tool_round_trip_over_the_wire(server: FakeServer) -> None:
    """A run on `local/qwen` streams a tool call, pauses, then completes with the model's text."""
    server.queue(
        Reply(
            events=[
                delta(role="assistant", tool_calls=[call(0, "call_w1", "get_weather", '{"ci')]),
                delta(tool_calls=[call(0, args='ty": "Paris"}')]),
                delta(finish="tool_calls"),
                usage(20, 7),
                DONE,
            ]
        ),
        Reply(
            events=[
                delta(content="It is "),
                delta(content="sunny."),
                delta(finish="stop"),
                usage(30, 4),
                DONE,
            ]
        ),
    )
    endpoints = {"local": {"base_url": server.base_url}}
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", endpoints=endpoints, poll_seconds=0.05
    ) as client:
        assistant = await client.assistants.create(
            model="local/qwen", instructions="Be brief.", tools=[WEATHER]
        )
        thread = await client.threads.create(
            messages=[{"role": "user", "content": "Weather in Paris?"}]
        )
        with anyio.fail_after(20):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert run.status == "requires_action"
            (tc,) = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
            assert (tc.id, tc.function.name, json.loads(tc.function.arguments)) == (
                "call_w1",
                "get_weather",
                {"city": "Paris"},
            )
            run = await client.threads.runs.submit_tool_outputs_and_poll(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=[{"tool_call_id": "call_w1", "output": "22C"}],
            )
        assert run.status == "completed"
        assert run.model == "local/qwen"
        assert run.usage is not None
        assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (50, 11)
        answer = (await client.threads.messages.list(thread.id, run_id=run.id)).data[0]
        assert answer.content[0].text.value == "It is sunny."  # type: ignore[union-attr]
        steps = (
            await client.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
        ).data
        assert [s.model_extra["model"] for s in steps] == ["local/qwen", "local/qwen"]  # type: ignore[index]
    first, second = (r.body for r in server.requests)
    assert first["model"] == "qwen"
    assert first["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    assert first["tools"] == [WEATHER]
    assert first["stream"] is True
    assert second["messages"][2:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_w1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_w1", "content": "22C"},
    ]


async def test_ollama_preset__base_url_from_env_and_provider_error_fails_the_run(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ollama/...` goes to OLLAMA_BASE_URL; a 400 from it fails the run with invalid_prompt."""
    monkeypatch.setenv("OLLAMA_BASE_URL", server.base_url)
    server.queue(Reply(400, {"error": {"message": "model 'nope' not found"}}))
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", poll_seconds=0.05
    ) as client:
        assistant = await client.assistants.create(model="ollama/nope")
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        with anyio.fail_after(20):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "invalid_prompt"
    assert "model 'nope' not found" in run.last_error.message
    assert server.requests[0].body["model"] == "nope"
