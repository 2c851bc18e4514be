"""The OpenAI-compatible adapter against a real chat-completions server on loopback.

`FakeServer` (in `fake_server`) is a threaded HTTP server that answers each request with the next
canned `Reply` (a JSON body, a list of server-sent-event pieces, a dropped connection...) and
records every request, so the tests pin the exact JSON we send and the chunks we make of each
answer.
"""

from __future__ import annotations

import socket
import threading
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from runtime.providers.base import (
    ChatMessage,
    Finish,
    FinishReason,
    ModelRequest,
    Provider,
    ProviderCallError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.http import MAX_BACKOFF, backoff_delay, retry_after_seconds
from runtime.providers.openai_compat import OpenAICompatibleProvider
from tests.runtime.providers.fake_server import (
    DONE,
    FakeServer,
    Reply,
    call,
    collect,
    collect_error,
    delta,
    sse,
    usage,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-0123456789abcdef"


def make(server: FakeServer, client: httpx.AsyncClient, **options: Any) -> OpenAICompatibleProvider:
    options.setdefault("api_key", KEY)
    options.setdefault("backoff_base", 0.001)
    return OpenAICompatibleProvider("local", base_url=server.base_url, client=client, **options)


def ask(text: str = "hi", **fields: Any) -> ModelRequest:
    return ModelRequest(model="m", messages=[ChatMessage("user", text)], **fields)


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


WEATHER = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}


# --- requests ---------------------------------------------------------------------------------


async def test_stream__text_in_chunks_then_usage_then_one_finish(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Text deltas come as sent; usage sent after the finish chunk still precedes the one Finish."""
    server.queue(Reply(events=[
        delta(role="assistant", content=""), delta(content="Hel"), delta(content="lo"),
        delta(finish="stop"), usage(7, 2), DONE,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("Hel"), TextDelta("lo"), UsageChunk(7, 2), Finish("stop")]
    [seen] = server.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["accept"] == "text/event-stream"


async def test_request__every_field_is_sent_in_the_wire_format(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Messages, tool calls and results, tools, choices, sampling and format map exactly."""
    server.queue(Reply(events=[delta(finish="stop"), DONE]))
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "u"}},
    ]
    request = ModelRequest(
        model="llama3",
        messages=[
            ChatMessage("system", "be brief"),
            ChatMessage("user", parts, name="ann"),
            ChatMessage("assistant", None, tool_calls=(ToolCall("call_1", "weather", '{"c":1}'),)),
            ChatMessage("tool", "sunny", tool_call_id="call_1"),
            ChatMessage("assistant", "It is sunny."),
        ],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "weather"}},
        parallel_tool_calls=False,
        temperature=0.2,
        top_p=0.9,
        max_tokens=64,
        response_format=schema,
        stop=["END"],
    )
    provider = make(
        server, client, max_tokens_param="max_completion_tokens", extra_headers={"X-Org": "o1"}
    )
    assert await collect(provider, request) == [Finish("stop")]
    [seen] = server.requests
    assert seen.body == {
        "model": "llama3",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": parts, "name": "ann"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"c":1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "assistant", "content": "It is sunny."},
        ],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": False,
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 64,
        "response_format": schema,
        "stop": ["END"],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert seen.headers["x-org"] == "o1"


@pytest.mark.parametrize("tool_choice", ["auto", "none", "required"])
async def test_request__tool_choice_strings_and_json_object_pass_through(
    server: FakeServer, client: httpx.AsyncClient, tool_choice: str
) -> None:
    """A string tool_choice is sent as is, with tools and parallel_tool_calls."""
    server.queue(Reply(events=[delta(finish="stop"), DONE]))
    request = ask(tools=[WEATHER], tool_choice=tool_choice, response_format={"type": "json_object"})
    await collect(make(server, client), request)
    body = server.requests[0].body
    assert (body["tools"], body["tool_choice"]) == ([WEATHER], tool_choice)
    assert body["parallel_tool_calls"] is True
    assert body["response_format"] == {"type": "json_object"}


async def test_request__no_tools_no_key_and_auto_format_leave_their_keys_out(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Without tools there is no tool_choice; without a key no Authorization; "auto" is omitted."""
    server.queue(Reply(events=[delta(finish="stop"), DONE]))
    request = ask(tools=[], tool_choice="required", response_format="auto")
    await collect(make(server, client, api_key=None), request)
    [seen] = server.requests
    assert seen.body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert "authorization" not in seen.headers


async def test_nonstream__text_usage_and_finish_from_one_json_body(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """With stream=False the request says so and the JSON answer becomes the same chunks."""
    server.queue(Reply(body=completion({"role": "assistant", "content": "Hello"})))
    chunks = await collect(make(server, client, stream=False), ask())
    assert chunks == [TextDelta("Hello"), UsageChunk(5, 3), Finish("stop")]
    [seen] = server.requests
    assert seen.body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
    }
    assert seen.headers["accept"] == "application/json"


async def test_nonstream__text_and_tool_calls_are_both_kept(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A whole message with text and two tool calls yields the text, then each call complete."""
    message = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": '{"x":1}'}},
        ],
    }
    server.queue(Reply(body=completion(message, finish="tool_calls")))
    chunks = await collect(make(server, client, stream=False), ask(tools=[WEATHER]))
    assert chunks == [
        TextDelta("Checking."),
        ToolCallDelta(0, "a", "f", "{}"),
        ToolCallDelta(1, "b", "g", '{"x":1}'),
        UsageChunk(5, 3),
        Finish("tool_calls"),
    ]


# --- tool calls -------------------------------------------------------------------------------


async def test_stream__tool_call_arguments_fragmented_across_chunks(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """The first fragment carries id and name; later ones only argument text."""
    server.queue(Reply(events=[
        delta(role="assistant", tool_calls=[call(0, "call_1", "weather", "")]),
        delta(tool_calls=[call(0, args='{"ci')]),
        delta(tool_calls=[call(0, args='ty": "Paris"}')]),
        delta(finish="tool_calls"), usage(9, 4), DONE,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [
        ToolCallDelta(0, "call_1", "weather", ""),
        ToolCallDelta(0, None, None, '{"ci'),
        ToolCallDelta(0, None, None, 'ty": "Paris"}'),
        UsageChunk(9, 4),
        Finish("tool_calls"),
    ]


async def test_stream__two_parallel_tool_calls_interleaved(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Fragments of calls 0 and 1 keep their index whatever order they arrive in."""
    server.queue(Reply(events=[
        delta(tool_calls=[call(0, "a", "f", '{"x"'), call(1, "b", "g", "")]),
        delta(tool_calls=[call(1, args='{"y": 2}')]),
        delta(tool_calls=[call(0, args=": 1}")]),
        delta(finish="tool_calls"), DONE,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [
        ToolCallDelta(0, "a", "f", '{"x"'),
        ToolCallDelta(1, "b", "g", ""),
        ToolCallDelta(1, None, None, '{"y": 2}'),
        ToolCallDelta(0, None, None, ": 1}"),
        Finish("tool_calls"),
    ]


async def test_stream__repeated_tool_call_ids_are_sent_once(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server repeating id and name in every fragment: we pass them on once per index."""
    server.queue(Reply(events=[
        delta(tool_calls=[call(0, "a", "f", '{"q"')]),
        delta(tool_calls=[call(0, "a", "f", ': "x"}')]),
        delta(tool_calls=[call(1, "b", "f", "{}")]),
        delta(tool_calls=[call(1, "b", "f", "")]),
        delta(finish="tool_calls"), DONE,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [
        ToolCallDelta(0, "a", "f", '{"q"'),
        ToolCallDelta(0, None, None, ': "x"}'),
        ToolCallDelta(1, "b", "f", "{}"),
        Finish("tool_calls"),
    ]


async def test_stream__text_and_tool_call_kept_in_order(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Text before a tool call is kept, and both come in the order sent."""
    server.queue(Reply(events=[
        delta(content="Let me check. "),
        delta(tool_calls=[call(0, "a", "weather", "{}")]),
        delta(finish="tool_calls"), DONE,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [
        TextDelta("Let me check. "),
        ToolCallDelta(0, "a", "weather", "{}"),
        Finish("tool_calls"),
    ]


async def test_stream__tool_call_without_id_gets_one(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server that sends no tool-call id: the first fragment gets a generated one."""
    server.queue(
        Reply(events=[delta(tool_calls=[call(0, None, "f", "{}")]), delta("tool_calls"), DONE])
    )
    chunks = await collect(make(server, client), ask(tools=[WEATHER]))
    first = chunks[0]
    assert isinstance(first, ToolCallDelta)
    assert (first.index, first.name, first.arguments) == (0, "f", "{}")
    assert first.id is not None
    assert first.id.startswith("call_")
    assert chunks[1:] == [Finish("tool_calls")]


# --- stream shapes ----------------------------------------------------------------------------


async def test_stream__unknown_fields_comments_and_events_are_ignored(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Comments, other SSE fields, foreign events, null usage and extra delta keys are skipped."""
    server.queue(Reply(events=[
        ": keep-alive\n\n",
        "event: ping\nid: 7\nretry: 100\ndata: {\"type\": \"ping\"}\n\n",
        sse({"choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_content": "hm",
                                                 "refusal": None, "content": "ok"},
                          "finish_reason": None, "logprobs": None}], "usage": None,
             "system_fingerprint": "fp"}),
        "data:{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"!\"}}]}\n\n",
        delta(finish="stop"), DONE,
    ]))  # fmt: skip
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("ok"), TextDelta("!"), Finish("stop")]


async def test_stream__empty_completion_yields_only_finish(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """No text and no tool calls: just the usage and Finish("stop"); the executor decides."""
    server.queue(
        Reply(events=[delta(role="assistant", content=""), delta("stop"), usage(3, 0), DONE])
    )
    assert await collect(make(server, client), ask()) == [UsageChunk(3, 0), Finish("stop")]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("eos_token", "stop"),
    ],
)
async def test_stream__finish_reason_mapping(
    server: FakeServer, client: httpx.AsyncClient, sent: str, expected: FinishReason
) -> None:
    """finish_reason maps onto stop/tool_calls/length/content_filter; unknown ones mean stop."""
    server.queue(Reply(events=[delta(content="x"), delta(sent), DONE]))
    assert await collect(make(server, client), ask()) == [TextDelta("x"), Finish(expected)]


async def test_stream__finish_without_done_is_complete(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A body that ends after a finish_reason but without [DONE] is a complete answer."""
    server.queue(Reply(events=[delta(content="x"), delta("length")]))
    assert await collect(make(server, client), ask()) == [TextDelta("x"), Finish("length")]


async def test_stream__json_answer_to_a_stream_request_is_read_whole(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server that ignores `stream` and answers application/json is still understood."""
    server.queue(Reply(body=completion({"role": "assistant", "content": "whole"})))
    chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("whole"), UsageChunk(5, 3), Finish("stop")]


# --- retries ----------------------------------------------------------------------------------


async def test_retry__429_with_retry_after_zero_then_success(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A 429 is retried (with backoff, Retry-After 0 being no override) and the retry logged."""
    server.queue(
        Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "0"}),
        Reply(events=[delta(content="ok"), delta("stop"), DONE]),
    )
    with capture_logs() as logs:
        chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("ok"), Finish("stop")]
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    [log] = [entry for entry in logs if entry["event"] == "provider_retry"]
    assert (log["provider"], log["attempt"], log["status"]) == ("local", 1, 429)
    assert 0 < log["delay"] <= 0.001
    assert KEY not in repr(logs)


async def test_retry__429_exhausted_is_rate_limit_exceeded(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """After max_retries 429s the error is rate_limit_exceeded; retry-after-ms sets the delay."""
    limited = Reply(
        429, {"error": {"message": "Rate limit reached"}}, headers={"retry-after-ms": "2"}
    )
    server.queue(limited, limited, limited)
    with capture_logs() as logs:
        _, error = await collect_error(make(server, client, max_retries=2), ask())
    assert len(server.requests) == 3
    assert (error.code, error.status, error.retryable, error.retry_after) == (
        "rate_limit_exceeded", 429, True, 0.002,
    )  # fmt: skip
    assert "Rate limit reached" in error.message
    assert "429" in error.message
    assert [entry["delay"] for entry in logs if entry["event"] == "provider_retry"] == [0.002] * 2


async def test_retry__500_then_success(server: FakeServer, client: httpx.AsyncClient) -> None:
    """A 500 is retried after the Retry-After delay and the second answer is used."""
    server.queue(
        Reply(500, {"error": {"message": "boom"}}, headers={"Retry-After": "0.01"}),
        Reply(events=[delta(content="ok"), delta("stop"), DONE]),
    )
    with capture_logs() as logs:
        chunks = await collect(make(server, client), ask())
    assert chunks == [TextDelta("ok"), Finish("stop")]
    assert len(server.requests) == 2
    assert [entry["delay"] for entry in logs if entry["event"] == "provider_retry"] == [0.01]


async def test_retry__503_exhausted_is_server_error(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Every attempt 503: server_error with the status, after 1 + max_retries requests."""
    down = Reply(503, {"error": {"message": "overloaded"}})
    server.queue(down, down)
    _, error = await collect_error(make(server, client, max_retries=1), ask())
    assert len(server.requests) == 2
    assert (error.code, error.status, error.retryable) == ("server_error", 503, True)
    assert "overloaded" in error.message
    assert "503" in error.message


async def test_error__400_is_invalid_prompt_with_vendor_message_not_retried(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A 400 is invalid_prompt at once, quoting the vendor's message and the status."""
    message = "This model's maximum context length is 8192 tokens."
    server.queue(Reply(400, {"error": {"message": message, "type": "invalid_request_error"}}))
    _, error = await collect_error(make(server, client), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status, error.retryable) == ("invalid_prompt", 400, False)
    assert message in error.message
    assert "400" in error.message


async def test_error__401_not_retried_and_message_hides_the_key(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A 401 is an authentication failure naming the provider, never the key it echoed."""
    server.queue(Reply(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    _, error = await collect_error(make(server, client), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status, error.retryable) == ("server_error", 401, False)
    assert "Authentication failed for provider 'local'" in error.message
    assert KEY not in error.message


async def test_error__llama_cpp_error_body_with_integer_code(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """llama.cpp's `{"error": {"code": 500, "message", "type"}}` body gives its message."""
    body = {"error": {"code": 500, "message": "slot unavailable", "type": "server_error"}}
    server.queue(Reply(500, body))
    _, error = await collect_error(make(server, client, max_retries=0), ask())
    assert (error.code, error.status) == ("server_error", 500)
    assert "slot unavailable" in error.message
    assert "500" in error.message


async def test_error__connection_refused_is_server_error_after_retries(
    client: httpx.AsyncClient,
) -> None:
    """Nobody listening: each attempt fails to connect, then a retryable server_error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAICompatibleProvider(
        "local", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, client=client,
        backoff_base=0.001,
    )  # fmt: skip
    with capture_logs() as logs, pytest.raises(ProviderCallError) as info:
        await collect(provider, ask())
    assert (info.value.code, info.value.retryable) == ("server_error", True)
    assert "Could not reach provider 'local'" in info.value.message
    assert len([entry for entry in logs if entry["event"] == "provider_retry"]) == 2


async def test_error__timeout_is_server_error(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server slower than the client timeout: each attempt times out, then server_error."""
    release = threading.Event()
    server.queue(Reply(body={}, hold=release), Reply(body={}, hold=release))
    try:
        _, error = await collect_error(make(server, client, timeout=0.2, max_retries=1), ask())
    finally:
        release.set()
    assert len(server.requests) == 2
    assert (error.code, error.retryable) == ("server_error", True)
    assert "timed out" in error.message


# --- broken streams ---------------------------------------------------------------------------


async def test_stream__connection_dropped_mid_tool_call_fails_after_chunks_without_retry(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Once chunks were yielded a dropped connection is raised at once, never retried."""
    server.queue(Reply(
        events=[delta(tool_calls=[call(0, "a", "f", '{"ci')]),
                delta(tool_calls=[call(0, args="ty")]), delta("tool_calls"), DONE],
        drop_after=2,
    ))  # fmt: skip
    chunks, error = await collect_error(make(server, client), ask(tools=[WEATHER]))
    assert chunks == [ToolCallDelta(0, "a", "f", '{"ci'), ToolCallDelta(0, None, None, "ty")]
    assert len(server.requests) == 1
    assert (error.code, error.retryable) == ("server_error", False)
    assert "broke" in error.message


async def test_stream__dropped_before_any_chunk_is_retried(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A connection cut before anything was yielded is retried like any transient failure."""
    server.queue(
        Reply(events=[delta(role="assistant"), delta(content="x")], drop_after=1),
        Reply(events=[delta(content="x"), delta("stop"), DONE]),
    )
    assert await collect(make(server, client), ask()) == [TextDelta("x"), Finish("stop")]
    assert len(server.requests) == 2


async def test_stream__malformed_data_is_server_error(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Data that is not JSON is a server_error saying the response was malformed."""
    server.queue(Reply(events=["data: {not json\n\n", delta("stop"), DONE]))
    _, error = await collect_error(make(server, client, max_retries=0), ask())
    assert error.code == "server_error"
    assert "malformed" in error.message
    assert "{not json" in error.message


async def test_stream__malformed_data_after_text_is_not_retried(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Malformed data after some text: raised at once, after the text, with one request."""
    server.queue(Reply(events=[delta(content="par"), "data: tial garbage\n\n", DONE]))
    chunks, error = await collect_error(make(server, client), ask())
    assert chunks == [TextDelta("par")]
    assert len(server.requests) == 1
    assert (error.code, error.retryable) == ("server_error", False)
    assert "malformed" in error.message


async def test_stream__truncated_without_done_or_finish_is_server_error(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A body that ends cleanly before [DONE] and before any finish_reason ended early."""
    server.queue(Reply(events=[delta(content="Hel"), delta(content="lo")]))
    chunks, error = await collect_error(make(server, client), ask())
    assert chunks == [TextDelta("Hel"), TextDelta("lo")]
    assert len(server.requests) == 1
    assert error.code == "server_error"
    assert "ended early" in error.message


@pytest.mark.parametrize(
    ("error_body", "code"),
    [
        (
            {"message": "Rate limit reached for requests", "type": "rate_limit_error"},
            "rate_limit_exceeded",
        ),
        ({"message": "The server had an error", "type": "server_error"}, "server_error"),
        ({"code": 429, "message": "too many", "type": "unavailable_error"}, "rate_limit_exceeded"),
    ],
)
async def test_stream__in_stream_error_payload(
    server: FakeServer, client: httpx.AsyncClient, error_body: dict[str, Any], code: str
) -> None:
    """An `{"error": ...}` event is a ProviderCallError; rate limits are rate_limit_exceeded."""
    server.queue(Reply(events=[sse({"error": error_body}), DONE]))
    _, error = await collect_error(make(server, client, max_retries=0), ask())
    assert error.code == code
    assert error_body["message"] in error.message


# --- delays -----------------------------------------------------------------------------------


def test_retry_after_seconds__reads_ms_seconds_and_http_dates() -> None:
    """retry-after-ms wins over Retry-After, which is seconds or an HTTP date."""
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after_seconds(httpx.Headers({"retry-after": "1.5"})) == 1.5
    date = formatdate(1_000_030, usegmt=True)
    assert retry_after_seconds(httpx.Headers({"retry-after": date}), now=1_000_000) == 30
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx.Headers()) is None


def test_backoff_delay__exponential_capped_jittered_and_overridden() -> None:
    """base * 2**attempt, capped at 8 s, minus up to 25%; a 0 < delay <= 60 override wins."""
    for attempt, full in [(0, 0.5), (1, 1.0), (2, 2.0), (10, MAX_BACKOFF)]:
        delay = backoff_delay(attempt, 0.5, None)
        assert full * 0.75 <= delay <= full
    assert backoff_delay(3, 0.5, 12.0) == 12.0
    assert 3.0 <= backoff_delay(3, 0.5, 0.0) <= 4.0
    assert 3.0 <= backoff_delay(3, 0.5, 61.0) <= 4.0


async def test_provider__satisfies_the_provider_protocol(client: httpx.AsyncClient) -> None:
    """The adapter is a `Provider` (checked by mypy) named as configured."""
    provider: Provider = OpenAICompatibleProvider(
        "vllm", base_url="http://127.0.0.1:1/v1/", api_key=None, client=client
    )
    assert provider.name == "vllm"
