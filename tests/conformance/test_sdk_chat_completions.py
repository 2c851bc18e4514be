"""`POST /v1/chat/completions` through the official openai SDK, unmodified.

Plain and streamed answers (the SDK's own `chat.completions.stream` helper included), the
extensions through `extra_body`, errors in OpenAI's shape, and the operator's rules: a tenant's
own `api_key` / `api_base` are refused unless allowed, an `api_base` must be configured here,
and the server's keys never go with it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from assistants import AsyncClient
from tests.conformance.conftest import LiveServer
from tests.conformance.support import check_error, db_url, serve
from tests.runtime.providers.fake_server import DONE, FakeServer, Reply, delta, usage

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai
    from openai.types.chat import ChatCompletionMessageParam

pytestmark = pytest.mark.timeout(60)

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """An OpenAI-compatible server the operator configured as `vllm` (with a key of its own)."""
    fake = FakeServer()
    monkeypatch.setenv("VLLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The server with only configured providers routable (as `assistants serve` runs it)."""
    with serve(tmp_path, worker=False, client_options={"only_configured_providers": True}) as s:
        yield s


def answer(*pieces: str) -> Reply:
    events = [delta(role="assistant", content=""), *(delta(content=p) for p in pieces)]
    return Reply(events=[*events, delta("stop"), usage(2, 3), DONE])


def test_create__the_sdk_reads_a_chat_completion_with_extensions(server: LiveServer) -> None:
    """A plain call validates strictly; the extensions survive as extra attributes."""
    with server.sdk() as sdk:
        completion = sdk.chat.completions.create(
            model="test",
            messages=[{"role": "user", "content": "Explain {{topic}}"}],
            extra_body={"variables": {"topic": "recursion"}, "tags": ["docs"]},
        )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "You said: Explain recursion"
    extra = completion.model_extra or {}
    assert extra["provider"] == "test"
    assert extra["span_id"].startswith("sp_")
    assert extra["tags"] == ["docs"]
    assert completion.usage is not None


def test_stream__the_sdk_iterates_chunks_usage_last(server: LiveServer) -> None:
    """`stream=True` gives chunks in OpenAI's delta format, the usage chunk last."""
    with server.sdk() as sdk:
        stream = sdk.chat.completions.create(model="test", messages=USER, stream=True)
        chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: Hello there"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_stream_helper__async_sdk_assembles_the_final_completion(
    server: LiveServer,
) -> None:
    """The SDK's `chat.completions.stream` helper (events + final completion) works as against
    OpenAI, tool calls included. (asyncio only: on trio the SDK's own stream leaves an inner
    generator unclosed, see test_sdk_streaming_async.)"""
    async with (
        server.async_sdk() as sdk,
        sdk.chat.completions.stream(
            model="test",
            messages=[{"role": "user", "content": "weather?"}],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        },
                    },
                }
            ],
        ) as stream,
    ):
        kinds = [event.type async for event in stream]
        final = await stream.get_final_completion()
    assert "tool_calls.function.arguments.done" in kinds
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "example"}


def test_errors__in_openai_shape(server: LiveServer) -> None:
    """Unknown models and missing variables are 400s the SDK raises as BadRequestError."""
    with server.sdk() as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.chat.completions.create(model="my-model", messages=USER)
        assert caught.value.code == "model_not_found"
        with pytest.raises(openai.BadRequestError) as missing:
            sdk.chat.completions.create(
                model="test", messages=[{"role": "user", "content": "{{x}}"}]
            )
        check_error(
            missing.value,
            400,
            "Missing variable 'x' for the placeholder '{{x}}' in 'messages[0].content'. "
            "Pass it in 'variables'.",
            code="missing_variable",
            param="variables.x",
        )
        with pytest.raises(openai.BadRequestError) as not_configured:
            sdk.chat.completions.create(model="ollama/llama3.2", messages=USER)
        assert "not configured on this server" in not_configured.value.message


def test_provider_keys__refused_unless_the_operator_allows(server: LiveServer) -> None:
    """A tenant's `api_key` or `api_base` is a 400 by default."""
    with server.sdk() as sdk:
        for field in ("api_key", "api_base"):
            with pytest.raises(openai.BadRequestError) as caught:
                sdk.chat.completions.create(
                    model="test", messages=USER, extra_body={field: "http://evil.example/v1"}
                )
            assert caught.value.code == "request_provider_keys_disabled"
            assert caught.value.param == field


def test_provider_keys__allowed_only_to_configured_endpoints(
    tmp_path: Path, provider: FakeServer
) -> None:
    """With `--allow-request-provider-keys`: a tenant's key is used, an `api_base` must be a
    configured one, and the server's own key is never sent with a tenant's `api_base`."""
    options = {"only_configured_providers": True, "allow_request_provider_keys": True}
    with serve(tmp_path, worker=False, client_options=options) as live, live.sdk() as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.chat.completions.create(
                model="gpt-x", messages=USER, extra_body={"api_base": "http://127.0.0.1:9/v1"}
            )
        assert caught.value.code == "api_base_not_configured"
        assert provider.requests == []
        provider.queue(answer("tenant"), answer("routed"))
        sdk.chat.completions.create(
            model="gpt-x", messages=USER, extra_body={"api_key": "sk-tenant"}
        )
        assert provider.requests[0].headers["authorization"] == "Bearer sk-tenant"
        done = sdk.chat.completions.create(
            model="gpt-x", messages=USER, extra_body={"api_base": provider.base_url}
        )
        assert done.choices[0].message.content == "routed"
        assert "authorization" not in provider.requests[1].headers


def test_provider_errors__keep_the_sdk_classes(server: LiveServer, provider: FakeServer) -> None:
    """A provider's 429 reaches the SDK as RateLimitError with Retry-After; a 5xx as a 502."""
    provider.queue(Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "3"}))
    with server.sdk() as sdk:
        with pytest.raises(openai.RateLimitError) as limited:
            sdk.chat.completions.create(
                model="vllm/m", messages=USER, extra_body={"num_retries": 0}
            )
        assert "slow down" in limited.value.message
        assert limited.value.response.headers["retry-after"] == "3"
        provider.queue(Reply(500, {"error": {"message": "boom"}}))
        with pytest.raises(openai.InternalServerError) as failed:
            sdk.chat.completions.create(
                model="vllm/m", messages=USER, extra_body={"num_retries": 0}
            )
        assert failed.value.status_code == 502
        assert "boom" in failed.value.message


class CountRequests:
    """Notes each HTTP request the server receives (`METHOD /path`)."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


def test_retries__the_sdk_does_not_repeat_what_the_server_retried(
    tmp_path: Path, provider: FakeServer
) -> None:
    """A 502 after the server's own retries says `x-should-retry: false`: the SDK (2 retries
    allowed) sends the request once. A provider's 429 with `Retry-After` does not: the SDK
    retries it after that delay and gets the answer."""
    seen: list[str] = []
    client = AsyncClient(
        database_url=db_url(tmp_path), worker=False, only_configured_providers=True
    )
    live = LiveServer(client)
    live.app.add_middleware(CountRequests, seen=seen)
    provider.queue(*[Reply(500, {"error": {"message": "boom"}})] * 6)
    with live, openai.OpenAI(base_url=live.base_url, api_key="sk-local", max_retries=2) as sdk:
        with pytest.raises(openai.InternalServerError) as failed:
            sdk.chat.completions.create(
                model="vllm/m", messages=USER, extra_body={"num_retries": 1}
            )
        assert failed.value.status_code == 502
        assert failed.value.response.headers["x-should-retry"] == "false"
        assert seen == ["POST /v1/chat/completions"]
        assert len(provider.requests) == 2  # the first call and the server's one retry
        provider.replies.clear()
        provider.queue(
            Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "0.1"}),
            answer("after the wait"),
        )
        done = sdk.chat.completions.create(
            model="vllm/m", messages=USER, extra_body={"num_retries": 0}
        )
        assert done.choices[0].message.content == "after the wait"
        assert seen == ["POST /v1/chat/completions"] * 3
        assert len(provider.requests) == 4


def test_stream_broken_midway__the_sdk_raises_after_the_chunks(
    server: LiveServer, provider: FakeServer
) -> None:
    """A provider stream cut after output: the SDK yields what came, then raises."""
    events = [delta(role="assistant", content=""), delta(content="Hel"), delta(content="lo")]
    provider.queue(Reply(events=[*events, delta("stop"), DONE], drop_after=3))
    received: list[str] = []
    with server.sdk() as sdk:
        stream = sdk.chat.completions.create(
            model="vllm/m", messages=USER, stream=True, extra_body={"num_retries": 0}
        )

        def drain() -> None:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")

        with pytest.raises(openai.APIError, match="broke after output had begun"):
            drain()
    assert "".join(received) == "Hello"
