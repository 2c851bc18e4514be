"""The `llamacpp/` provider against a real llama-server running the generated tiny model.

The model always answers `FIXED_REPLY` and, when a grammar forces a tool call, writes the shortest
arguments the schema allows, so these tests can assert exact text and valid JSON.
"""

from __future__ import annotations

import importlib
import json
from contextlib import aclosing
from typing import Any

import anyio
import pytest

from assistants import AsyncClient
from runtime.providers.base import (
    ChatMessage,
    Chunk,
    Finish,
    ModelRequest,
    ProviderCallError,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.http import new_http_client
from runtime.providers.openai_compat import OpenAICompatibleProvider
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from tests.local_llm.conftest import LlamaServer
from tests.local_llm.tiny_model import FIXED_REPLY

pytestmark = pytest.mark.local_llm

CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": CITY_SCHEMA,
    },
}


def assert_valid_arguments(arguments: str) -> dict[str, Any]:
    """`arguments` is a JSON object valid for `CITY_SCHEMA`: checked by hand, and by a JSON Schema
    validator too when one is installed (jsonschema, or jsonschema_rs, which schemathesis brings).
    """
    parsed = json.loads(arguments)
    assert isinstance(parsed, dict), arguments
    for module in ("jsonschema", "jsonschema_rs"):
        try:
            validator: Any = importlib.import_module(module)
        except ImportError:
            continue
        if module == "jsonschema":
            validator.validate(parsed, CITY_SCHEMA)
        else:
            validator.validate(CITY_SCHEMA, parsed)
    assert isinstance(parsed.get("city"), str), arguments
    assert set(parsed) <= {"city", "unit"}, arguments
    assert parsed.get("unit", "c") in ("c", "f"), arguments
    return parsed


async def collect(provider: OpenAICompatibleProvider, request: ModelRequest) -> list[Chunk]:
    with anyio.fail_after(20):
        async with aclosing(provider.stream(request)) as chunks:
            return [chunk async for chunk in chunks]


@pytest.fixture
async def provider(llama_server: LlamaServer, anyio_backend: str) -> Any:
    async with new_http_client(read_timeout=60) as http:
        yield OpenAICompatibleProvider(
            "llamacpp", base_url=llama_server.base_url, api_key=None, client=http, max_retries=0
        )


async def test_provider_streams_the_fixed_sentence_with_usage(
    provider: OpenAICompatibleProvider, llama_server: LlamaServer
) -> None:
    request = ModelRequest(
        model="tiny", messages=[ChatMessage(role="user", content="Say something.")]
    )
    chunks = await collect(provider, request)
    texts = [c.text for c in chunks if isinstance(c, TextDelta)]
    assert "".join(texts) == FIXED_REPLY, llama_server.log_tail()
    assert len(texts) >= 3  # streamed token by token, not in one piece
    (usage,) = [c for c in chunks if isinstance(c, UsageChunk)]
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens >= len(texts)
    assert chunks[-1] == Finish("stop")
    assert [c for c in chunks if isinstance(c, Finish)] == [Finish("stop")]


async def test_provider_forced_tool_call_has_schema_valid_arguments(
    provider: OpenAICompatibleProvider, llama_server: LlamaServer
) -> None:
    request = ModelRequest(
        model="tiny",
        messages=[ChatMessage(role="user", content="Weather in Paris?")],
        tools=[WEATHER],
        tool_choice="required",
    )
    chunks = await collect(provider, request)
    calls = [c for c in chunks if isinstance(c, ToolCallDelta)]
    assert calls, llama_server.log_tail()
    # The grammar lets text precede the call; this model always writes its sentence first.
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == FIXED_REPLY
    assert {c.index for c in calls} == {0}
    assert [c.name for c in calls if c.name] == ["get_weather"]
    assert len([c.id for c in calls if c.id]) == 1  # the id is passed on once
    assert_valid_arguments("".join(c.arguments for c in calls))
    assert chunks[-1] == Finish("tool_calls")


async def test_named_tool_choice_forces_that_call(
    llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    monkeypatch.setenv("LLAMACPP_BASE_URL", llama_server.base_url)
    router = ProviderRouter(Settings.load(database_url="sqlite+aiosqlite:///:memory:"))
    other = {"type": "function", "function": {"name": "get_time", "parameters": CITY_SCHEMA}}
    request = ModelRequest(
        model="tiny",
        messages=[ChatMessage(role="user", content="Weather in Paris?")],
        tools=[other, WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    try:
        route = router.resolve("llamacpp/tiny")
        assert isinstance(route.provider, OpenAICompatibleProvider)
        chunks = await collect(route.provider, request)
    finally:
        await router.aclose()
    assert [c.name for c in chunks if isinstance(c, ToolCallDelta) and c.name] == ["get_weather"]


async def test_provider_reports_the_server_error_without_retrying(
    provider: OpenAICompatibleProvider,
) -> None:
    """llama-server's errors are `{"error": {"code": 400, "message", "type"}}` with HTTP 400."""
    request = ModelRequest(
        model="tiny", messages=[ChatMessage(role="user", content="word " * 3000)]
    )
    with pytest.raises(ProviderCallError) as caught:
        await collect(provider, request)
    assert caught.value.code == "invalid_prompt"
    assert caught.value.status == 400
    assert not caught.value.retryable
    assert "exceeds the available context size" in caught.value.message


@pytest.fixture
async def client(
    llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> Any:
    monkeypatch.setenv("LLAMACPP_BASE_URL", llama_server.base_url)
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", poll_seconds=0.05
    ) as client:
        yield client


async def test_run_completes_with_the_fixed_sentence(
    client: AsyncClient, llama_server: LlamaServer
) -> None:
    assistant = await client.assistants.create(model="llamacpp/tiny", instructions="Be brief.")
    thread = await client.threads.create(messages=[{"role": "user", "content": "Hello?"}])
    with anyio.fail_after(20):
        run = await client.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
    assert run.status == "completed", (run.last_error, llama_server.log_tail())
    assert run.model == "llamacpp/tiny"
    assert run.usage is not None
    assert run.usage.prompt_tokens > 0
    assert run.usage.completion_tokens > 0
    (answer,) = (await client.threads.messages.list(thread.id, run_id=run.id)).data
    assert answer.role == "assistant"
    assert answer.content[0].text.value == FIXED_REPLY  # type: ignore[union-attr]


async def forced_call(client: AsyncClient, llama_server: LlamaServer) -> tuple[str, Any]:
    """A thread and its run, paused on a call that `tool_choice="required"` forced."""
    assistant = await client.assistants.create(model="llamacpp/tiny", tools=[WEATHER])
    thread = await client.threads.create(
        messages=[{"role": "user", "content": "Weather in Paris?"}]
    )
    with anyio.fail_after(20):
        run = await client.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
        )
    assert run.status == "requires_action", (run.last_error, llama_server.log_tail())
    return thread.id, run


async def test_forced_tool_call_pauses_the_run_with_schema_valid_arguments(
    client: AsyncClient, llama_server: LlamaServer
) -> None:
    thread_id, run = await forced_call(client, llama_server)
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert_valid_arguments(call.function.arguments)
    # The text written before the call is the run's message so far.
    messages = (await client.threads.messages.list(thread_id, run_id=run.id)).data
    assert [m.content[0].text.value for m in messages] == [FIXED_REPLY]  # type: ignore[union-attr]


async def test_forced_tool_call_then_tool_outputs_complete_the_run(
    client: AsyncClient, llama_server: LlamaServer
) -> None:
    thread_id, run = await forced_call(client, llama_server)
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    with anyio.fail_after(20):
        run = await client.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread_id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "22C and sunny"}],
        )
    assert run.status == "completed", (run.status, run.last_error)
    answer = (await client.threads.messages.list(thread_id, run_id=run.id, limit=1)).data[0]
    assert answer.content[0].text.value == FIXED_REPLY  # type: ignore[union-attr]
