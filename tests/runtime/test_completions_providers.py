"""Completions against loopback servers speaking each provider's wire format.

OpenAI-compatible, Anthropic and Gemini answers all come out as OpenAI chunks (validated by the
openai SDK's models); provider failures (4xx, 5xx, 429 with Retry-After, timeouts, a stream
broken mid-way, a fallback chain where every model fails) become the documented errors. Each
case runs on asyncio and trio.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from assistants import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    ProviderError,
    RateLimitError,
)
from runtime.completions import FinishedCall
from store.completion_types import ChatCompletionChunk
from tests.runtime.providers.fake_server import DONE, FakeServer, Reply, call, delta, usage
from tests.runtime.providers.test_anthropic import args as tool_args
from tests.runtime.providers.test_anthropic import (
    end,
    start,
    stop_block,
    text,
    text_block,
    tool_block,
)
from tests.runtime.providers.test_anthropic import sse as anthropic_sse
from tests.runtime.providers.test_gemini import function_call, response
from tests.runtime.providers.test_gemini import sse as gemini_sse
from tests.runtime.providers.test_gemini import text as gemini_text

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.types.chat import ChatCompletion as SdkCompletion
    from openai.types.chat import ChatCompletionChunk as SdkChunk

pytestmark = pytest.mark.timeout(30)

USER = [{"role": "user", "content": "hi"}]
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}
KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
URLS = ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL", "OLLAMA_BASE_URL")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """One loopback server; every vendor's base URL points at it, with a key each."""
    for name in (*KEYS, *URLS):
        monkeypatch.delenv(name, raising=False)
    fake = FakeServer()
    root = fake.base_url.removesuffix("/v1/")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-openai")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", root)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-server-anthropic")
    monkeypatch.setenv("GEMINI_BASE_URL", root)
    monkeypatch.setenv("GEMINI_API_KEY", "server-gemini")
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
async def chat(server: FakeServer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        worker=False,
        prices={"openai/gpt-x": {"prompt": 1_000_000.0, "completion": 2_000_000.0}},
    ) as client:
        yield client


def openai_text(*pieces: str, prompt: int = 3, completion: int = 2) -> Reply:
    events = [delta(role="assistant", content="")]
    events += [delta(content=p) for p in pieces]
    events += [delta("stop"), usage(prompt, completion), DONE]
    return Reply(events=events)


async def test_openai__create_assembles_the_stream_and_prices_it(
    chat: AsyncClient, server: FakeServer
) -> None:
    """The answer is one ChatCompletion; cost comes from the `prices` of the answering model."""
    server.queue(openai_text("Hel", "lo"))
    answer = await chat.chat.completions.create(model="gpt-x", messages=USER, temperature=0.5)
    sdk = SdkCompletion.model_validate(answer.to_dict())
    assert sdk.choices[0].message.content == "Hello"
    assert sdk.model == "openai/gpt-x"
    assert answer.provider == "openai"
    assert answer.cost == pytest.approx(3 * 1.0 + 2 * 2.0)
    sent = server.requests[0]
    assert sent.body["model"] == "gpt-x"
    assert sent.body["temperature"] == 0.5
    assert sent.headers["authorization"] == "Bearer sk-server-openai"


async def test_openai__stop_tools_and_format_are_sent(
    chat: AsyncClient, server: FakeServer
) -> None:
    """`stop` (a string), tools, tool_choice and response_format reach the provider."""
    server.queue(openai_text("{}"))
    await chat.chat.completions.create(
        model="openai/gpt-x",
        messages=USER,
        stop="END",
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        response_format={"type": "json_object"},
        max_completion_tokens=7,
    )
    body = server.requests[0].body
    assert body["stop"] == ["END"]
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["response_format"] == {"type": "json_object"}
    assert body["max_completion_tokens"] == 7


async def test_anthropic__stream_is_translated_to_openai_chunks(
    chat: AsyncClient, server: FakeServer
) -> None:
    """Anthropic's events (text, then a tool_use block) come out in OpenAI's delta format."""
    server.queue(
        Reply(
            events=[
                start(input_tokens=9),
                text_block(0),
                text(0, "Let me "),
                text(0, "check."),
                stop_block(0),
                tool_block(1, "toolu_1", "get_weather"),
                tool_args(1, '{"city":'),
                tool_args(1, ' "Paris"}'),
                stop_block(1),
                end("tool_use", output_tokens=12),
                anthropic_sse("message_stop", {"type": "message_stop"}),
            ]
        )
    )
    stream = await chat.chat.completions.create(
        model="claude-x", messages=USER, tools=[WEATHER], stream=True
    )
    chunks = [SdkChunk.model_validate(c.to_dict()) async for c in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].model == "anthropic/claude-x"
    text_out = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text_out == "Let me check."
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert calls[0].index == 0
    assert calls[0].id == "toolu_1"
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert "".join((t.function.arguments or "") for t in calls if t.function) == (
        '{"city": "Paris"}'
    )
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 9
    assert chunks[-1].usage.completion_tokens == 12
    assert (chunks[-1].model_extra or {})["provider"] == "anthropic"
    final = stream.final_completion()
    assert final.choices[0].message.tool_calls is not None
    assert final.choices[0].message.tool_calls[0].function.arguments == '{"city": "Paris"}'
    assert server.requests[0].headers["x-api-key"] == "sk-server-anthropic"


async def test_gemini__stream_is_translated_to_openai_chunks(
    chat: AsyncClient, server: FakeServer
) -> None:
    """Gemini's candidates (text, then a function call) come out in OpenAI's delta format."""
    server.queue(
        Reply(
            events=[
                gemini_sse(response(gemini_text("Sun"))),
                gemini_sse(response(gemini_text("ny."))),
                gemini_sse(
                    response(
                        function_call("get_weather", {"city": "Rome"}),
                        finish="STOP",
                        usage=(4, 6),
                    )
                ),
            ]
        )
    )
    stream = await chat.chat.completions.create(
        model="gemini-x", messages=USER, tools=[WEATHER], stream=True
    )
    chunks = [SdkChunk.model_validate(c.to_dict()) async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Sunny."
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments or "") == {"city": "Rome"}
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 10
    assert chunks[-2].choices[0].finish_reason == "tool_calls"


async def test_per_call_key_and_base_replace_the_configured_ones(
    chat: AsyncClient, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`api_key` replaces the env key; with `api_base`, the env key is never sent there."""
    server.queue(openai_text("a"), openai_text("b"))
    await chat.chat.completions.create(model="gpt-x", messages=USER, api_key="sk-call")
    assert server.requests[0].headers["authorization"] == "Bearer sk-call"
    other = FakeServer()
    try:
        other.queue(openai_text("c"))
        answer = await chat.chat.completions.create(
            model="gpt-x", messages=USER, api_base=other.base_url
        )
        assert answer.choices[0].message.content == "c"
        assert "authorization" not in other.requests[0].headers
    finally:
        other.close()


async def test_provider_forces_a_custom_model_name(chat: AsyncClient, server: FakeServer) -> None:
    """`provider=` routes a name no pattern recognises (seed 000's custom models)."""
    server.queue(openai_text("ok"))
    answer = await chat.chat.completions.create(
        model="my-fine-tune", provider="openai", messages=USER
    )
    assert answer.model == "openai/my-fine-tune"
    assert server.requests[0].body["model"] == "my-fine-tune"


async def test_provider_4xx_is_the_matching_error_with_its_message(
    chat: AsyncClient, server: FakeServer
) -> None:
    """401 is an AuthenticationError, 400 a BadRequestError; both carry the provider's words."""
    server.queue(Reply(401, {"error": {"message": "Incorrect API key provided"}}))
    with pytest.raises(AuthenticationError, match="Incorrect API key provided") as caught:
        await chat.chat.completions.create(model="gpt-x", messages=USER)
    assert "HTTP 401" in caught.value.message
    server.queue(Reply(400, {"error": {"message": "max_tokens is too large"}}))
    with pytest.raises(BadRequestError, match="max_tokens is too large"):
        await chat.chat.completions.create(model="gpt-x", messages=USER)


async def test_provider_5xx_is_retried_then_a_provider_error(
    chat: AsyncClient, server: FakeServer
) -> None:
    """`num_retries` bounds the retries of a 5xx; then a ProviderError (502) with the status."""
    server.queue(*[Reply(503, {"error": {"message": "overloaded"}})] * 2)
    with pytest.raises(ProviderError, match="HTTP 503: overloaded") as caught:
        await chat.chat.completions.create(model="gpt-x", messages=USER, num_retries=1)
    assert caught.value.status_code == 502
    assert len(server.requests) == 2


async def test_429_with_retry_after_is_a_rate_limit_error(
    chat: AsyncClient, server: FakeServer
) -> None:
    """A 429 past the retries is a RateLimitError carrying the provider's Retry-After."""
    server.queue(Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitError, match="slow down") as caught:
        await chat.chat.completions.create(model="gpt-x", messages=USER, num_retries=0)
    assert caught.value.retry_after == 7


async def test_429_is_retried_after_the_delay_asked(chat: AsyncClient, server: FakeServer) -> None:
    """With retries left, a 429's `retry-after-ms` is honoured and the call succeeds."""
    server.queue(
        Reply(429, {"error": {"message": "slow"}}, headers={"retry-after-ms": "1"}),
        openai_text("done"),
    )
    answer = await chat.chat.completions.create(model="gpt-x", messages=USER, num_retries=1)
    assert answer.choices[0].message.content == "done"


async def test_timeout_is_a_provider_error_naming_it(chat: AsyncClient, server: FakeServer) -> None:
    """A provider slower than `timeout` fails the call with code `timeout`."""
    release = threading.Event()
    server.queue(Reply(events=[DONE], hold=release))
    try:
        with pytest.raises(ProviderError, match="timed out") as caught:
            await chat.chat.completions.create(
                model="gpt-x", messages=USER, timeout=0.2, num_retries=0
            )
        assert caught.value.code == "timeout"
    finally:
        release.set()


async def test_stream_broken_midway_raises_after_the_chunks_received(
    chat: AsyncClient, server: FakeServer
) -> None:
    """A stream cut after output: the chunks already sent arrive, then a clear error, and
    nothing reports a normal finish."""
    events = [delta(role="assistant", content=""), delta(content="Hel"), delta(content="lo")]
    server.queue(Reply(events=[*events, delta("stop")], drop_after=3))
    seen: list[FinishedCall] = []

    async def sink(record: FinishedCall) -> None:
        seen.append(record)

    chat.chat.completions._ctx.completions.add_sink(sink)
    stream = await chat.chat.completions.create(model="gpt-x", messages=USER, stream=True)
    received: list[ChatCompletionChunk] = []

    async def drain() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(ProviderError, match="broke after output had begun"):
        await drain()
    text_out = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text_out == "Hello"
    assert all(c.choices and c.choices[0].finish_reason is None for c in received)
    assert [r.status for r in seen] == ["failed"]
    assert seen[0].output is None


async def test_fallback_answers_when_the_first_model_fails(
    chat: AsyncClient, server: FakeServer
) -> None:
    """The next model of `fallbacks` answers; the failed one is listed on the answer."""
    server.queue(Reply(500, {"error": {"message": "boom"}}), openai_text("saved"))
    answer = await chat.chat.completions.create(
        model="gpt-x", messages=USER, fallbacks=["openai/gpt-y"], num_retries=0
    )
    assert answer.choices[0].message.content == "saved"
    assert answer.model == "openai/gpt-y"
    assert answer.fallbacks_failed is not None
    assert answer.fallbacks_failed[0].model == "openai/gpt-x"
    assert "boom" in answer.fallbacks_failed[0].error


async def test_fallback_chain_all_failing_lists_each_model(
    chat: AsyncClient, server: FakeServer
) -> None:
    """When every model fails, the error names each and why."""
    server.queue(
        Reply(500, {"error": {"message": "first down"}}),
        Reply(500, {"error": {"message": "second down"}}),
        Reply(500, {"error": {"message": "third down"}}),
    )
    with pytest.raises(ProviderError) as caught:
        await chat.chat.completions.create(
            model="gpt-x",
            messages=USER,
            fallbacks=["openai/gpt-y", "claude-z"],
            num_retries=0,
        )
    message = caught.value.message
    assert message.startswith("All 3 models failed:")
    assert "openai/gpt-x: " in message
    assert "first down" in message
    assert "openai/gpt-y: " in message
    assert "second down" in message
    assert "anthropic/claude-z: " in message
    assert "third down" in message


async def test_stream_fails_over_before_any_chunk(chat: AsyncClient, server: FakeServer) -> None:
    """A stream's model that fails before output hands over; the stream is the fallback's."""
    server.queue(Reply(500, {"error": {"message": "down"}}), openai_text("from y"))
    stream = await chat.chat.completions.create(
        model="gpt-x", messages=USER, fallbacks=["openai/gpt-y"], num_retries=0, stream=True
    )
    final = await stream.get_final_completion()
    assert final.choices[0].message.content == "from y"
    assert final.model == "openai/gpt-y"


async def test_messages_reach_the_provider_in_its_format(
    chat: AsyncClient, server: FakeServer
) -> None:
    """A full conversation (developer, user parts with an image, assistant call, tool result)."""
    server.queue(openai_text("fine"))
    await chat.chat.completions.create(
        model="gpt-x",
        messages=[
            {"role": "developer", "content": "Be {{tone}}."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        variables={"tone": "brief"},
        tools=[WEATHER],
    )
    sent: list[dict[str, Any]] = server.requests[0].body["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[1]["content"][1]["image_url"]["url"] == "https://example.com/a.png"
    assert sent[2]["tool_calls"][0]["id"] == "call_1"
    assert sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


async def test_openai_tool_call_stream_is_passed_through(
    chat: AsyncClient, server: FakeServer
) -> None:
    """An OpenAI-compatible tool-call stream keeps its ids, names and argument fragments."""
    server.queue(
        Reply(
            events=[
                delta(role="assistant", tool_calls=[call(0, "call_a", "get_weather")]),
                delta(tool_calls=[call(0, args='{"ci')]),
                delta(tool_calls=[call(0, args='ty": "Oslo"}')]),
                delta("tool_calls"),
                usage(5, 5),
                DONE,
            ]
        )
    )
    answer = await chat.chat.completions.create(model="gpt-x", messages=USER, tools=[WEATHER])
    assert answer.choices[0].finish_reason == "tool_calls"
    calls = answer.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].id == "call_a"
    assert calls[0].function.arguments == '{"city": "Oslo"}'


async def test_per_call_key_never_goes_to_another_vendor(
    chat: AsyncClient, server: FakeServer
) -> None:
    """A call's `api_key` goes to fallbacks of the same provider only; another vendor's
    fallback is called with its own configured key."""
    server.queue(
        Reply(500, {"error": {"message": "down"}}),
        Reply(500, {"error": {"message": "down too"}}),
        Reply(
            events=[
                start(),
                text_block(0),
                text(0, "from claude"),
                stop_block(0),
                end(),
                anthropic_sse("message_stop", {"type": "message_stop"}),
            ]
        ),
    )
    answer = await chat.chat.completions.create(
        model="gpt-x",
        messages=USER,
        api_key="sk-call",
        fallbacks=["openai/gpt-y", "claude-x"],
        num_retries=0,
    )
    assert answer.choices[0].message.content == "from claude"
    first, second, third = server.requests
    assert first.headers["authorization"] == "Bearer sk-call"
    assert second.headers["authorization"] == "Bearer sk-call"
    assert third.headers["x-api-key"] == "sk-server-anthropic"
    assert "sk-call" not in json.dumps(third.headers)
