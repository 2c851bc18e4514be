"""The Anthropic adapter against a Messages API server on loopback.

The loopback `FakeServer` of `fake_server` answers with canned replies; here they are
Anthropic's documented shapes: `event:` + `data:` server-sent events, the whole-message JSON, and
`{"type": "error", "error": {...}}` bodies. The tests pin the exact JSON we send and the chunks we
make of each answer, and one whole run goes through the runtime.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import anyio
import httpx
import pytest
from structlog.testing import capture_logs

from assistants import AsyncClient
from runtime.providers.anthropic import AnthropicProvider
from runtime.providers.base import (
    ChatMessage,
    Finish,
    FinishReason,
    ModelRequest,
    Provider,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    UsageChunk,
)
from tests.runtime.providers.fake_server import FakeServer, Reply, collect, collect_error

KEY = "sk-ant-test-0123456789abcdef"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
BARE = {"type": "function", "function": {"name": "now"}}  # no description, no parameters


def root(server: FakeServer) -> str:
    """The server's root URL: the provider appends `/v1/messages` itself."""
    return server.base_url.removesuffix("/v1/")


def make(server: FakeServer, client: httpx.AsyncClient, **options: Any) -> AnthropicProvider:
    options.setdefault("api_key", KEY)
    options.setdefault("backoff_base", 0.001)
    return AnthropicProvider(base_url=root(server), client=client, **options)


def ask(text: str = "hi", **fields: Any) -> ModelRequest:
    return ModelRequest(model="claude-x", messages=[ChatMessage("user", text)], **fields)


# --- Anthropic's server-sent events -----------------------------------------------------------


def sse(event: str, payload: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(payload)}\n\n"


def start(input_tokens: int = 10, **usage: int) -> str:
    message: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-x",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1, **usage},
    }
    return sse("message_start", {"type": "message_start", "message": message})


def text_block(index: int) -> str:
    block = {"type": "text", "text": ""}
    return sse("content_block_start", {"type": "content_block_start", "index": index,
                                       "content_block": block})  # fmt: skip


def tool_block(index: int, call_id: str, name: str) -> str:
    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
    return sse("content_block_start", {"type": "content_block_start", "index": index,
                                       "content_block": block})  # fmt: skip


def text(index: int, value: str) -> str:
    delta = {"type": "text_delta", "text": value}
    return sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                       "delta": delta})  # fmt: skip


def args(index: int, partial: str) -> str:
    delta = {"type": "input_json_delta", "partial_json": partial}
    return sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                       "delta": delta})  # fmt: skip


def stop_block(index: int) -> str:
    return sse("content_block_stop", {"type": "content_block_stop", "index": index})


def end(reason: str | None = "end_turn", output_tokens: int = 5, **usage: int) -> str:
    delta = {"stop_reason": reason, "stop_sequence": None}
    return sse("message_delta", {"type": "message_delta", "delta": delta,
                                 "usage": {"output_tokens": output_tokens, **usage}})  # fmt: skip


def error_event(kind: str, message: str) -> str:
    return sse("error", {"type": "error", "error": {"type": kind, "message": message}})


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


STOP = sse("message_stop", {"type": "message_stop"})
PING = sse("ping", {"type": "ping"})


def answer(*pieces: str, reason: str = "end_turn") -> Reply:
    """A streamed text answer: one text block holding `pieces`, usage 10 in / 5 out."""
    deltas = [text(0, piece) for piece in pieces]
    return Reply(events=[start(), text_block(0), *deltas, stop_block(0), end(reason), STOP])


# --- requests ---------------------------------------------------------------------------------


async def test_request__every_field_is_sent_in_the_messages_format(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """System, merged tool results, tool_use blocks, tools, choice, sampling and headers map."""
    server.queue(answer("ok"))
    image = {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}}
    inline = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}
    request = ModelRequest(
        model="claude-x",
        messages=[
            ChatMessage("system", "Be brief."),
            ChatMessage("user", [{"type": "text", "text": "look"}, image, inline]),
            ChatMessage("system", "Use tools."),
            ChatMessage("assistant", "Sure."),
            ChatMessage(
                "assistant",
                "Checking.",
                tool_calls=(
                    ToolCall("toolu_1", "get_weather", '{"city": "Paris"}'),
                    ToolCall("toolu_2", "now", ""),
                ),
            ),
            ChatMessage("tool", "22C", tool_call_id="toolu_1", name="get_weather"),
            ChatMessage("tool", "", tool_call_id="toolu_2", name="now"),
            ChatMessage("user", "and tomorrow?"),
        ],
        tools=[WEATHER, BARE],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
        temperature=1.5,
        top_p=0.9,
        max_tokens=64,
        stop=["END"],
    )
    provider = make(server, client, extra_headers={"anthropic-beta": "b1"})
    assert await collect(provider, request) == [TextDelta("ok"), UsageChunk(10, 5), Finish("stop")]
    [seen] = server.requests
    assert seen.path == "/v1/messages"
    assert seen.body == {
        "model": "claude-x",
        "max_tokens": 64,
        "system": "Be brief.\n\nUse tools.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image", "source": {"type": "url", "url": "https://x/cat.png"}},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Sure."},
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "22C"},
                    {"type": "tool_result", "tool_use_id": "toolu_2"},
                    {"type": "text", "text": "and tomorrow?"},
                ],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
            {"name": "now", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        "temperature": 1.0,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "stream": True,
    }
    assert seen.headers["x-api-key"] == KEY
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["anthropic-beta"] == "b1"
    assert "authorization" not in seen.headers


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", True, {"type": "auto"}),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", True, {"type": "any"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("none", True, {"type": "none"}),
        ("none", False, {"type": "none"}),
        ({"type": "function", "function": {"name": "now"}}, True, {"type": "tool", "name": "now"}),
    ],
)
async def test_request__tool_choice_mapping(
    server: FakeServer,
    client: httpx.AsyncClient,
    choice: Any,
    parallel: bool,
    expected: dict[str, Any],
) -> None:
    """auto/required/none/named become auto/any/none/tool; no parallel adds the flag (not to none)."""
    server.queue(answer("ok"))
    await collect(make(server, client), ask(tools=[BARE], tool_choice=choice,
                                            parallel_tool_calls=parallel))  # fmt: skip
    body = server.requests[0].body
    assert body["tool_choice"] == expected
    assert body["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]


async def test_request__defaults_and_absent_fields(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """max_tokens defaults; no system, tools, stop or top_p of 1; "auto"/text formats are fine."""
    server.queue(answer("a"), answer("b"))
    await collect(make(server, client), ask(temperature=1.0, top_p=1.0, response_format="auto"))
    request = ask(tools=[], tool_choice="required", response_format={"type": "text"})
    await collect(make(server, client, default_max_tokens=100, version="2099-01-01"), request)
    first, second = server.requests
    assert first.body == {
        "model": "claude-x",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "temperature": 1.0,
        "stream": True,
    }
    assert second.body == {
        "model": "claude-x",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stream": True,
    }
    assert second.headers["anthropic-version"] == "2099-01-01"


@pytest.mark.parametrize(
    "response_format", [{"type": "json_object"}, {"type": "json_schema", "json_schema": {}}]
)
async def test_request__json_response_formats_are_invalid_prompt(
    server: FakeServer, client: httpx.AsyncClient, response_format: dict[str, Any]
) -> None:
    """JSON response formats are refused before any request, naming the format."""
    _, error = await collect_error(make(server, client), ask(response_format=response_format))
    assert server.requests == []
    assert (error.code, error.retryable) == ("invalid_prompt", False)
    assert f"anthropic provider does not support response_format '{response_format['type']}'" in (
        error.message
    )


async def test_request__missing_key_names_the_env_var(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Without a key nothing is sent: a server_error, not retryable, naming ANTHROPIC_API_KEY."""
    _, error = await collect_error(make(server, client, api_key=None), ask())
    assert server.requests == []
    assert (error.code, error.retryable) == ("server_error", False)
    assert "ANTHROPIC_API_KEY" in error.message


# --- streamed answers -------------------------------------------------------------------------


async def test_stream__text_then_usage_then_one_finish(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Text deltas come as sent (ping skipped), then the usage, then Finish("stop")."""
    server.queue(Reply(events=[
        start(25), text_block(0), PING, text(0, "Hel"), text(0, "lo"), stop_block(0),
        end("end_turn", 15), STOP,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("Hel"), TextDelta("lo"), UsageChunk(25, 15), Finish("stop")]
    assert server.requests[0].headers["accept"] == "text/event-stream"


async def test_stream__tool_call_with_input_json_fragments(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A tool_use block gives id and name first, then each partial_json fragment."""
    server.queue(Reply(events=[
        start(), tool_block(0, "toolu_1", "get_weather"), args(0, ""), args(0, '{"ci'),
        args(0, 'ty": "Paris"}'), stop_block(0), end("tool_use", 9), STOP,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [
        ToolCallDelta(0, "toolu_1", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"ci'),
        ToolCallDelta(0, None, None, 'ty": "Paris"}'),
        UsageChunk(10, 9),
        Finish("tool_calls"),
    ]


async def test_stream__leading_text_and_two_parallel_tool_uses_kept_in_order(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Blocks 1 and 2 (tool_use) become tool calls 0 and 1, after block 0's text."""
    server.queue(Reply(events=[
        start(), text_block(0), text(0, "Checking both."), stop_block(0),
        tool_block(1, "toolu_a", "get_weather"), args(1, '{"city": "Paris"}'), stop_block(1),
        tool_block(2, "toolu_b", "get_weather"), args(2, '{"city": '), args(2, '"Rome"}'),
        stop_block(2), end("tool_use"), STOP,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [
        TextDelta("Checking both."),
        ToolCallDelta(0, "toolu_a", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"city": "Paris"}'),
        ToolCallDelta(1, "toolu_b", "get_weather", ""),
        ToolCallDelta(1, None, None, '{"city": '),
        ToolCallDelta(1, None, None, '"Rome"}'),
        UsageChunk(10, 5),
        Finish("tool_calls"),
    ]


async def test_stream__usage_counts_cache_tokens_and_takes_the_latest_counts(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Prompt tokens are input + cache creation + cache reads; message_delta's counts win."""
    server.queue(Reply(events=[
        start(3, cache_creation_input_tokens=100, cache_read_input_tokens=200),
        text_block(0), text(0, "x"), stop_block(0), end("end_turn", 7, input_tokens=4), STOP,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("x"), UsageChunk(304, 7), Finish("stop")]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("some_future_reason", "stop"),
        (None, "stop"),
    ],
)
async def test_stream__stop_reason_mapping(
    server: FakeServer, client: httpx.AsyncClient, reason: str | None, expected: FinishReason
) -> None:
    """stop_reason maps onto stop/tool_calls/length/content_filter; unknown ones mean stop."""
    server.queue(Reply(events=[start(), text_block(0), text(0, "x"), end(reason), STOP]))
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("x"), UsageChunk(10, 5), Finish(expected)]


async def test_stream__unknown_events_blocks_and_deltas_are_ignored(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Future event types, thinking blocks, other deltas, comments and pings are skipped."""
    thinking = {"type": "content_block_start", "index": 0,
                "content_block": {"type": "thinking", "thinking": ""}}  # fmt: skip
    thought = {"type": "content_block_delta", "index": 0,
               "delta": {"type": "thinking_delta", "thinking": "hmm"}}  # fmt: skip
    server.queue(Reply(events=[
        ": keep-alive\n\n", start(), PING, sse("future_thing", {"type": "future_thing", "x": 1}),
        sse("content_block_start", thinking), sse("content_block_delta", thought), stop_block(0),
        text_block(1), text(1, "ok"), stop_block(1), PING, end(), STOP,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("ok"), UsageChunk(10, 5), Finish("stop")]


async def test_stream__empty_completion_yields_usage_and_finish(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """No content blocks at all: just the usage and Finish("stop"); the executor decides."""
    server.queue(Reply(events=[start(), end("end_turn", 1), STOP]))
    assert await collect(make(server, client), ask()) == [UsageChunk(10, 1), Finish("stop")]


async def test_nonstream__whole_message_becomes_the_same_chunks(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """With stream=False the body has no `stream` and the JSON message gives text then calls."""
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "P"}},
            {"type": "tool_use", "id": "toolu_b", "name": "now", "input": {}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 6},
    }
    server.queue(Reply(body=message))
    chunks = await collect(make(server, client, stream=False), ask(tools=[WEATHER, BARE]))
    assert chunks == [
        TextDelta("Checking."),
        ToolCallDelta(0, "toolu_a", "get_weather", '{"city": "P"}'),
        ToolCallDelta(1, "toolu_b", "now", "{}"),
        UsageChunk(12, 6),
        Finish("tool_calls"),
    ]
    [seen] = server.requests
    assert "stream" not in seen.body
    assert seen.headers["accept"] == "application/json"


# --- HTTP errors and retries ------------------------------------------------------------------


async def test_retry__429_with_retry_after_then_success(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A 429 is retried after its retry-after delay, logged without the key."""
    server.queue(
        Reply(429, error_body("rate_limit_error", "slow down"), headers={"retry-after": "0.01"}),
        answer("ok"),
    )
    with capture_logs() as logs:
        chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("ok"), UsageChunk(10, 5), Finish("stop")]
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    [log] = [entry for entry in logs if entry["event"] == "provider_retry"]
    assert (log["provider"], log["attempt"], log["status"], log["delay"]) == (
        "anthropic", 1, 429, 0.01,
    )  # fmt: skip
    assert KEY not in repr(logs)


async def test_retry__429_exhausted_is_rate_limit_exceeded(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """After max_retries 429s: rate_limit_exceeded, retryable, with the vendor message."""
    limited = Reply(
        429, error_body("rate_limit_error", "Number of requests"), headers={"retry-after": "0.002"}
    )
    server.queue(limited, limited, limited)
    _, error = await collect_error(make(server, client, max_retries=2), ask())
    assert len(server.requests) == 3
    assert (error.code, error.status, error.retryable, error.retry_after) == (
        "rate_limit_exceeded", 429, True, 0.002,
    )  # fmt: skip
    assert "rate_limit_error: Number of requests" in error.message


async def test_retry__529_overloaded_is_retried(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Anthropic's 529 (overloaded) is a transient server error: retried, then the answer."""
    server.queue(Reply(529, error_body("overloaded_error", "Overloaded")), answer("ok"))
    with capture_logs() as logs:
        chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("ok"), UsageChunk(10, 5), Finish("stop")]
    assert [e["status"] for e in logs if e["event"] == "provider_retry"] == [529]


async def test_retry__500_exhausted_is_server_error(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Every attempt 500: server_error with the status, after 1 + max_retries requests."""
    down = Reply(500, error_body("api_error", "Internal server error"))
    server.queue(down, down)
    _, error = await collect_error(make(server, client, max_retries=1), ask())
    assert len(server.requests) == 2
    assert (error.code, error.status, error.retryable) == ("server_error", 500, True)
    assert "HTTP 500" in error.message
    assert "Internal server error" in error.message


@pytest.mark.parametrize("status", [400, 404, 413, 422])
async def test_error__invalid_request_is_invalid_prompt_not_retried(
    server: FakeServer, client: httpx.AsyncClient, status: int
) -> None:
    """400/404/413/422 are invalid_prompt at once, quoting the vendor's type and message."""
    message = "messages: roles must alternate between user and assistant"
    server.queue(Reply(status, error_body("invalid_request_error", message)))
    _, error = await collect_error(make(server, client), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status, error.retryable) == ("invalid_prompt", status, False)
    assert f"invalid_request_error: {message}" in error.message
    assert f"HTTP {status}" in error.message


async def test_error__401_not_retried_and_message_hides_the_key(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A 401 is an authentication failure naming the provider, never the key it echoed."""
    server.queue(Reply(401, error_body("authentication_error", f"invalid x-api-key {KEY}")))
    _, error = await collect_error(make(server, client), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status, error.retryable) == ("server_error", 401, False)
    assert "Authentication failed for provider 'anthropic'" in error.message
    assert KEY not in error.message


async def test_error__connection_refused_is_server_error_after_retries(
    client: httpx.AsyncClient,
) -> None:
    """Nobody listening: each attempt fails to connect, then a retryable server_error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = AnthropicProvider(
        base_url=f"http://127.0.0.1:{port}", api_key=KEY, client=client, backoff_base=0.001
    )
    with capture_logs() as logs:
        _, error = await collect_error(provider, ask())
    assert (error.code, error.retryable) == ("server_error", True)
    assert "Could not reach provider 'anthropic'" in error.message
    assert len([entry for entry in logs if entry["event"] == "provider_retry"]) == 2


async def test_error__timeout_is_server_error(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server slower than the request's timeout: each attempt times out, then server_error."""
    release = threading.Event()
    server.queue(Reply(body={}, hold=release), Reply(body={}, hold=release))
    try:
        _, error = await collect_error(make(server, client, max_retries=1), ask(timeout=0.2))
    finally:
        release.set()
    assert len(server.requests) == 2
    assert (error.code, error.retryable) == ("server_error", True)
    assert "timed out" in error.message


# --- broken streams ---------------------------------------------------------------------------


async def test_stream__cut_mid_tool_call_fails_after_chunks_without_retry(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Once chunks were yielded a dropped connection is raised at once, never retried."""
    server.queue(Reply(
        events=[start(), tool_block(0, "toolu_1", "get_weather"), args(0, '{"ci'),
                args(0, 'ty": "Paris"}'), stop_block(0), end("tool_use"), STOP],
        drop_after=3,
    ), answer("never sent"))  # fmt: skip
    chunks, error = await collect_error(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [
        ToolCallDelta(0, "toolu_1", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"ci'),
    ]
    assert len(server.requests) == 1
    assert (error.code, error.retryable) == ("server_error", False)
    assert "broke after output had begun" in error.message


async def test_stream__cut_before_any_chunk_is_retried(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A connection cut after message_start only (nothing yielded) is retried."""
    server.queue(Reply(events=[start(), text_block(0), text(0, "x")], drop_after=1), answer("x"))
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("x"), UsageChunk(10, 5), Finish("stop")]
    assert len(server.requests) == 2


async def test_stream__ended_without_message_stop_is_server_error(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A body that ends cleanly after message_delta but before message_stop ended early."""
    server.queue(Reply(events=[start(), text_block(0), text(0, "Hel"), end()]))
    chunks, error = await collect_error(make(server, client), ask())
    assert chunks == [TextDelta("Hel")]
    assert len(server.requests) == 1
    assert error.code == "server_error"
    assert "ended early" in error.message


async def test_stream__truncated_last_line_is_malformed(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A body cut inside a data line (no newline, JSON unfinished) is a malformed response."""
    cut = 'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "del'
    server.queue(Reply(events=[start(), cut]))
    _, error = await collect_error(make(server, client, max_retries=0), ask())
    assert (error.code, error.retryable) == ("server_error", True)
    assert "malformed" in error.message
    assert '"del' in error.message


async def test_stream__malformed_json_after_text_is_not_retried(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Data that is not JSON after some text: raised at once, after the text, one request."""
    server.queue(Reply(events=[
        start(), text_block(0), text(0, "par"), "event: content_block_delta\ndata: {not json\n\n",
        end(), STOP,
    ]))  # fmt: skip
    chunks, error = await collect_error(make(server, client), ask())
    assert chunks == [TextDelta("par")]
    assert len(server.requests) == 1
    assert (error.code, error.retryable) == ("server_error", False)
    assert "malformed" in error.message
    assert "{not json" in error.message


@pytest.mark.parametrize(
    ("kind", "code", "retryable"),
    [
        ("overloaded_error", "server_error", True),
        ("api_error", "server_error", True),
        ("rate_limit_error", "rate_limit_exceeded", True),
        ("invalid_request_error", "invalid_prompt", False),
    ],
)
async def test_stream__error_event(
    server: FakeServer, client: httpx.AsyncClient, kind: str, code: str, retryable: bool
) -> None:
    """An `error` event is a ProviderCallError of the mapped code, quoting the vendor."""
    server.queue(Reply(events=[start(), PING, error_event(kind, "Something went wrong")]))
    _, error = await collect_error(make(server, client, max_retries=0), ask())
    assert (error.code, error.retryable) == (code, retryable)
    assert f"({kind}): Something went wrong" in error.message


async def test_stream__overloaded_event_before_output_is_retried(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """An overloaded `error` event before any chunk: retried, and the retry's answer is used."""
    server.queue(
        Reply(events=[start(), error_event("overloaded_error", "Overloaded")]), answer("y")
    )
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("y"), UsageChunk(10, 5), Finish("stop")]
    assert len(server.requests) == 2


async def test_provider__satisfies_the_provider_protocol(client: httpx.AsyncClient) -> None:
    """The adapter is a `Provider` (checked by mypy) named "anthropic" by default."""
    provider: Provider = AnthropicProvider(api_key=KEY, client=client)
    assert provider.name == "anthropic"


# --- a whole run ------------------------------------------------------------------------------


async def test_run__tool_round_trip_through_the_runtime(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """`anthropic/claude-x`: a tool_use pauses the run; the output goes back as a tool_result."""
    server.queue(
        Reply(events=[
            start(20), tool_block(0, "toolu_w1", "get_weather"), args(0, '{"city": '),
            args(0, '"Paris"}'), stop_block(0), end("tool_use", 7), STOP,
        ]),
        Reply(events=[
            start(30), text_block(0), text(0, "It is "), text(0, "sunny."), stop_block(0),
            end("end_turn", 4), STOP,
        ]),
    )  # fmt: skip
    provider = AnthropicProvider(base_url=root(server), api_key=KEY, client=client)
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        providers={"anthropic": provider},
        poll_seconds=0.05,
    ) as assistants:
        assistant = await assistants.assistants.create(
            model="anthropic/claude-x", instructions="Be brief.", tools=[WEATHER]
        )
        thread = await assistants.threads.create(
            messages=[{"role": "user", "content": "Weather in Paris?"}]
        )
        with anyio.fail_after(20):
            run = await assistants.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert run.status == "requires_action"
            (call,) = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
            assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
                "toolu_w1", "get_weather", {"city": "Paris"},
            )  # fmt: skip
            run = await assistants.threads.runs.submit_tool_outputs_and_poll(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=[{"tool_call_id": "toolu_w1", "output": "22C"}],
            )
        assert run.status == "completed"
        assert run.usage is not None
        assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (50, 11)
        reply = (await assistants.threads.messages.list(thread.id, run_id=run.id)).data[0]
        assert reply.content[0].text.value == "It is sunny."  # type: ignore[union-attr]
    first, second = (seen.body for seen in server.requests)
    assert {seen.path for seen in server.requests} == {"/v1/messages"}
    assert (first["model"], first["system"], first["temperature"]) == ("claude-x", "Be brief.", 1.0)
    assert "top_p" not in first
    assert first["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}
    ]
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_w1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_w1", "content": "22C"}],
        },
    ]
