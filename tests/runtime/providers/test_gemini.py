"""The Gemini adapter against a loopback server speaking Google's `generateContent` format.

The loopback `FakeServer` of `fake_server` answers any POST from a queue of canned replies
and records each request, so these tests pin the exact JSON we send to Gemini and the chunks we
make of its server-sent events, JSON bodies and error bodies.
"""

from __future__ import annotations

import json
import socket
from collections.abc import MutableMapping
from typing import Any

import anyio
import httpx
import pytest
from structlog.testing import capture_logs

from assistants import AsyncClient
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
from runtime.providers.gemini import SKIP_SIGNATURE, GeminiProvider
from runtime.providers.http import new_http_client
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from store.errors import BadRequestError
from tests.runtime.providers.fake_server import FakeServer, Reply, collect, collect_error

KEY = "AIzaSy-test-0123456789abcdef"
STREAM_PATH = "/v1/models/gemini-x:streamGenerateContent?alt=sse"
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def make(server: FakeServer, http: httpx.AsyncClient, **options: Any) -> GeminiProvider:
    options.setdefault("api_key", KEY)
    options.setdefault("backoff_base", 0.001)
    return GeminiProvider(base_url=server.base_url, client=http, **options)


def ask(text: str = "hi", **fields: Any) -> ModelRequest:
    return ModelRequest(model="gemini-x", messages=[ChatMessage("user", text)], **fields)


def response(
    *parts: dict[str, Any], finish: str | None = None, usage: tuple[int, int] | None = None
) -> dict[str, Any]:
    """A `GenerateContentResponse` with one candidate holding `parts`."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    payload: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-x"}
    if usage is not None:
        payload["usageMetadata"] = {
            "promptTokenCount": usage[0],
            "candidatesTokenCount": usage[1],
            "totalTokenCount": sum(usage),
        }
    return payload


def sse(payload: Any) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def text(value: str) -> dict[str, Any]:
    return {"text": value}


def function_call(name: str, args: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"name": name, "args": args}
    if id is not None:
        call["id"] = id
    return {"functionCall": call}


def google_error(code: int, status: str, message: str, *details: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}


def retry_info(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def retries(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == "provider_retry"]


# --- requests ---------------------------------------------------------------------------------


async def test_stream__text_over_several_events_then_usage_and_one_finish(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Text parts stream as sent; the key travels in x-goog-api-key, never in the URL."""
    server.queue(Reply(events=[
        sse(response(text("Hel"), usage=(4, 1))),
        sse(response(text("lo"), usage=(4, 2))),
        sse(response(text("!"), finish="STOP", usage=(4, 3))),
    ]))  # fmt: skip
    chunks = await collect(make(server, http), ask())
    assert chunks == [
        TextDelta("Hel"), TextDelta("lo"), TextDelta("!"), UsageChunk(4, 3), Finish("stop"),
    ]  # fmt: skip
    [seen] = server.requests
    assert seen.path == STREAM_PATH
    assert seen.headers["x-goog-api-key"] == KEY
    assert KEY not in seen.path
    assert "authorization" not in seen.headers
    assert seen.body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.mark.parametrize(
    ("model", "segment"),
    [
        ("../../admin/x?y=", "..%2F..%2Fadmin%2Fx%3Fy%3D"),
        ("models/a#b c", "a%23b%20c"),
        ("gemini-2.5-flash", "gemini-2.5-flash"),
    ],
)
async def test_request__the_model_is_one_percent_encoded_path_segment(
    server: FakeServer, http: httpx.AsyncClient, model: str, segment: str
) -> None:
    """A model with `/`, `..`, `?`, `#` or spaces stays inside its path segment of the URL."""
    server.queue(Reply(events=[sse(response(text("ok"), finish="STOP"))]))
    await collect(
        make(server, http), ModelRequest(model=model, messages=[ChatMessage("user", "hi")])
    )
    [seen] = server.requests
    assert seen.path == f"/v1/models/{segment}:streamGenerateContent?alt=sse"


async def test_request__a_path_escaping_model_is_refused_by_the_router(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`google/../../admin/x?y=` is a 400 at resolution: no request reaches the provider."""
    monkeypatch.setenv("GEMINI_BASE_URL", server.base_url)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    router = ProviderRouter(Settings())
    try:
        with pytest.raises(BadRequestError, match="not a valid model name"):
            router.resolve("google/../../admin/x?y=")
    finally:
        await router.aclose()
    assert server.requests == []


async def test_request__every_field_maps_to_the_gemini_format(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """System, merged turns, images, calls, results, tools, tool choice and config map exactly."""
    server.queue(Reply(events=[sse(response(text("ok"), finish="STOP"))]))
    parameters = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"city": {"type": "string", "default": "Paris"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    answer_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"answer": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
    }
    request = ModelRequest(
        model="gemini-x",
        messages=[
            ChatMessage("system", "Be brief."),
            ChatMessage("system", [{"type": "text", "text": "Use metric units."}]),
            ChatMessage(
                "user",
                [
                    {"type": "text", "text": "What are these?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AA=="}},
                    {"type": "image_url", "image_url": {"url": "data:image/svg+xml,%3Csvg%3E"}},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "https://example.com/cat.WEBP?size=2",
                            "detail": "low",
                        },
                    },
                    {"type": "image_url", "image_url": {"url": "https://example.com/render"}},
                ],
            ),
            ChatMessage("user", "And the weather?"),
            ChatMessage("assistant", "Checking."),
            ChatMessage(
                "assistant",
                None,
                tool_calls=(
                    ToolCall("call_1", "get_weather", '{"city": "Paris", "days": [1, 2]}'),
                    ToolCall("call_2", "get_time", ""),
                ),
            ),
            ChatMessage("tool", "22C", tool_call_id="call_1", name="get_weather"),
            ChatMessage("tool", "noon", tool_call_id="call_2"),
            ChatMessage("user", "Thanks."),
            ChatMessage("assistant", "You're welcome."),
        ],
        tools=[
            {"type": "function", "function": {**WEATHER["function"], "parameters": parameters}},
            {"type": "function", "function": {"name": "get_time"}},
        ],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
        temperature=0.2,
        top_p=0.9,
        max_tokens=64,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": answer_schema, "strict": True},
        },
        stop=["END"],
    )
    assert await collect(make(server, http), request) == [TextDelta("ok"), Finish("stop")]
    [seen] = server.requests
    assert seen.body == {
        "systemInstruction": {"parts": [{"text": "Be brief.\n\nUse metric units."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What are these?"},
                    {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/AA=="}},
                    {"inlineData": {"mimeType": "image/svg+xml", "data": "PHN2Zz4="}},
                    {
                        "fileData": {
                            "mimeType": "image/webp",
                            "fileUri": "https://example.com/cat.WEBP?size=2",
                        }
                    },
                    {
                        "fileData": {
                            "mimeType": "image/png",
                            "fileUri": "https://example.com/render",
                        }
                    },
                    {"text": "And the weather?"},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "Checking."},
                    {
                        "functionCall": {
                            "name": "get_weather",
                            "args": {"city": "Paris", "days": [1, 2]},
                        },
                        "thoughtSignature": SKIP_SIGNATURE,
                    },
                    {"functionCall": {"name": "get_time", "args": {}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": "22C"}}},
                    {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}},
                    {"text": "Thanks."},
                ],
            },
            {"role": "model", "parts": [{"text": "You're welcome."}]},
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Current weather for a city.",
                        "parametersJsonSchema": {
                            "type": "object",
                            "properties": {"city": {"type": "string", "default": "Paris"}},
                            "required": ["city"],
                            "additionalProperties": False,
                        },
                    },
                    {"name": "get_time"},
                ]
            }
        ],
        "toolConfig": {
            "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
        },
        "generationConfig": {
            "temperature": 0.2,
            "topP": 0.9,
            "maxOutputTokens": 64,
            "stopSequences": ["END"],
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "type": "object",
                "properties": {"answer": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
            },
        },
    }


@pytest.mark.parametrize(
    ("tool_choice", "config"),
    [
        ("auto", {"functionCallingConfig": {"mode": "AUTO"}}),
        ("none", {"functionCallingConfig": {"mode": "NONE"}}),
        ("required", {"functionCallingConfig": {"mode": "ANY"}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        ),
        (None, None),
    ],
)
async def test_request__tool_choice_becomes_function_calling_config(
    server: FakeServer, http: httpx.AsyncClient, tool_choice: Any, config: Any
) -> None:
    """auto → AUTO, none → NONE, required → ANY, a named function → ANY limited to it."""
    server.queue(Reply(events=[sse(response(text("x"), finish="STOP"))]))
    await collect(make(server, http), ask(tools=[WEATHER], tool_choice=tool_choice))
    body = server.requests[0].body
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "parametersJsonSchema": WEATHER["function"]["parameters"],
                }
            ]
        }
    ]
    assert body.get("toolConfig") == config


@pytest.mark.parametrize(
    ("response_format", "config"),
    [
        (None, None),
        ("auto", None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"responseMimeType": "application/json"}),
        ("json_object", {"responseMimeType": "application/json"}),
        (
            {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
            {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}},
        ),
    ],
)
async def test_request__response_format_becomes_generation_config(
    server: FakeServer, http: httpx.AsyncClient, response_format: Any, config: Any
) -> None:
    """json_object asks for JSON; json_schema adds the schema; text and auto add nothing."""
    server.queue(Reply(events=[sse(response(text("{}"), finish="STOP"))]))
    await collect(make(server, http), ask(response_format=response_format))
    assert server.requests[0].body.get("generationConfig") == config


async def test_request__no_tools_means_no_tool_keys_and_no_extra_headers_leak(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Without tools neither tools nor toolConfig is sent; extra headers are added as given."""
    server.queue(Reply(events=[sse(response(text("x"), finish="STOP"))]))
    provider = make(server, http, extra_headers={"X-Goog-User-Project": "p1"})
    await collect(provider, ask(tools=[], tool_choice="required"))
    [seen] = server.requests
    assert set(seen.body) == {"contents"}
    assert seen.headers["x-goog-user-project"] == "p1"


async def test_request__tool_result_without_a_known_name_is_invalid_prompt(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A tool result whose function cannot be named is rejected before any request."""
    request = ModelRequest(
        model="gemini-x", messages=[ChatMessage("tool", "22C", tool_call_id="call_unknown")]
    )
    _, error = await collect_error(make(server, http), request)
    assert (error.code, error.retryable) == ("invalid_prompt", False)
    assert "call_unknown" in error.message
    assert server.requests == []


# --- function calls ---------------------------------------------------------------------------


async def test_stream__function_call_is_one_complete_delta(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A functionCall becomes one delta with Gemini's id, name and JSON args; STOP → tool_calls."""
    server.queue(Reply(events=[
        sse(response(function_call("get_weather", {"city": "Paris"}, id="fc-1"))),
        sse(response(finish="STOP", usage=(12, 5))),
    ]))  # fmt: skip
    chunks = await collect(make(server, http), ask(tools=[WEATHER]))
    assert chunks == [
        ToolCallDelta(0, "fc-1", "get_weather", '{"city": "Paris"}'),
        UsageChunk(12, 5),
        Finish("tool_calls"),
    ]


async def test_stream__parallel_calls_and_text_are_all_kept_in_order(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Text and two calls in one response: all kept, in order, with distinct indexes and ids."""
    server.queue(Reply(events=[
        sse(response(
            text("Checking both. "),
            function_call("get_weather", {"city": "Paris"}),
            function_call("get_weather", {"city": "Rome"}),
            finish="STOP",
        )),
    ]))  # fmt: skip
    chunks = await collect(make(server, http), ask(tools=[WEATHER]))
    assert chunks[0] == TextDelta("Checking both. ")
    first, second = chunks[1:3]
    assert isinstance(first, ToolCallDelta)
    assert isinstance(second, ToolCallDelta)
    assert (first.index, first.name, json.loads(first.arguments)) == (
        0, "get_weather", {"city": "Paris"},
    )  # fmt: skip
    assert (second.index, second.name, json.loads(second.arguments)) == (
        1, "get_weather", {"city": "Rome"},
    )  # fmt: skip
    assert first.id is not None
    assert second.id is not None
    assert first.id != second.id
    assert first.id.startswith("call_")
    assert len(first.id) == len("call_") + 24
    assert chunks[3:] == [Finish("tool_calls")]


async def test_stream__calls_across_events_keep_counting_indexes(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Calls in separate events get indexes 0 and 1; a call without args gets "{}"."""
    server.queue(Reply(events=[
        sse(response(function_call("a", {"x": 1}, id="i1"))),
        sse(response({"functionCall": {"name": "b", "id": "i2"}}, finish="STOP")),
    ]))  # fmt: skip
    chunks = await collect(make(server, http), ask(tools=[WEATHER]))
    assert chunks == [
        ToolCallDelta(0, "i1", "a", '{"x": 1}'),
        ToolCallDelta(1, "i2", "b", "{}"),
        Finish("tool_calls"),
    ]


async def test_thought_signatures__sent_back_with_their_calls_else_the_documented_skip(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A call's thoughtSignature returns with it; unknown calls get the skip value on gemini-3+."""
    signed = {
        **function_call("get_weather", {"city": "Paris"}, id="fc-1"),
        "thoughtSignature": "c2ln",
    }
    server.queue(
        Reply(events=[sse(response(signed, finish="STOP"))]),
        Reply(events=[sse(response(text("a"), finish="STOP"))]),
        Reply(events=[sse(response(text("b"), finish="STOP"))]),
        Reply(events=[sse(response(text("c"), finish="STOP"))]),
    )
    provider = make(server, http)
    [call, _] = await collect(provider, ask(tools=[WEATHER]))
    assert call == ToolCallDelta(0, "fc-1", "get_weather", '{"city": "Paris"}')

    def replay(call_id: str, model: str) -> ModelRequest:
        return ModelRequest(model=model, messages=[
            ChatMessage("user", "weather?"),
            ChatMessage("assistant", None, tool_calls=(ToolCall(call_id, "get_weather", "{}"),)),
            ChatMessage("tool", "sunny", tool_call_id=call_id, name="get_weather"),
        ])  # fmt: skip

    await collect(provider, replay("fc-1", "gemini-x"))
    await collect(provider, replay("call_other", "gemini-3-pro-preview"))
    await collect(provider, replay("call_other", "gemini-2.5-flash"))
    model_turns = [r.body["contents"][1]["parts"][0] for r in server.requests[1:]]
    assert [part.get("thoughtSignature") for part in model_turns] == ["c2ln", SKIP_SIGNATURE, None]
    assert server.requests[3].path == "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"


# --- response shapes --------------------------------------------------------------------------


async def test_stream__usage_is_the_last_reported_with_thinking_tokens_counted(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """usageMetadata is cumulative: the last one counts, thoughtsTokenCount adds to completion."""
    last = {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 30}
    server.queue(Reply(events=[
        sse(response(text("a"), usage=(10, 1))),
        sse({**response(text("b"), finish="STOP"), "usageMetadata": last}),
    ]))  # fmt: skip
    chunks = await collect(make(server, http), ask())
    assert chunks == [TextDelta("a"), TextDelta("b"), UsageChunk(10, 34), Finish("stop")]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
    ],
)
async def test_stream__finish_reason_mapping(
    server: FakeServer, http: httpx.AsyncClient, sent: str, expected: FinishReason
) -> None:
    """finishReason maps onto stop/length/content_filter; unknown reasons mean stop."""
    server.queue(Reply(events=[sse(response(text("x"))), sse(response(finish=sent))]))
    assert await collect(make(server, http), ask()) == [TextDelta("x"), Finish(expected)]


async def test_stream__blocked_prompt_is_invalid_prompt_naming_the_reason(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """promptFeedback.blockReason without candidates: invalid_prompt at once, not retried."""
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    }
    server.queue(Reply(events=[sse(blocked)]))
    chunks, error = await collect_error(make(server, http), ask())
    assert chunks == []
    assert len(server.requests) == 1
    assert (error.code, error.retryable) == ("invalid_prompt", False)
    assert "SAFETY" in error.message


async def test_stream__unknown_fields_parts_and_sse_lines_are_ignored(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Comments, other SSE fields, thought parts, foreign parts and extra keys are skipped."""
    first = response(
        {"text": "pondering", "thought": True},
        {"executableCode": {"language": "PYTHON", "code": "1"}},
        {"text": "ok", "thoughtSignature": "c2ln"},
    )
    first["candidates"][0].update(safetyRatings=[], citationMetadata={}, avgLogprobs=-0.1)
    first.update(responseId="r1", promptFeedback={"safetyRatings": []}, futureField={"a": 1})
    last = response(text("!"), finish="STOP")
    last["usageMetadata"] = {
        "promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 3}],
    }  # fmt: skip
    server.queue(Reply(events=[
        ": keep-alive\r\n\r\n",
        "event: message\r\nid: 7\r\n" + sse(first).replace("\n", "\r\n"),
        f"data:{json.dumps(last)}\n\n",
    ]))  # fmt: skip
    chunks = await collect(make(server, http), ask())
    assert chunks == [TextDelta("ok"), TextDelta("!"), UsageChunk(3, 2), Finish("stop")]


async def test_nonstream__generate_content_json_body(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """With stream=False the :generateContent answer becomes the same chunks."""
    server.queue(Reply(body=response(
        text("Hello"), function_call("get_weather", {"city": "Oslo"}, id="fc-9"),
        finish="STOP", usage=(5, 3),
    )))  # fmt: skip
    chunks = await collect(make(server, http, stream=False), ask(tools=[WEATHER]))
    assert chunks == [
        TextDelta("Hello"),
        ToolCallDelta(0, "fc-9", "get_weather", '{"city": "Oslo"}'),
        UsageChunk(5, 3),
        Finish("tool_calls"),
    ]
    [seen] = server.requests
    assert seen.path == "/v1/models/gemini-x:generateContent"
    assert seen.headers["x-goog-api-key"] == KEY
    assert seen.body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


# --- retries and errors -----------------------------------------------------------------------


async def test_retry__429_with_retry_after_then_success(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A 429 is retried after its Retry-After delay, the same body sent again, the retry logged."""
    limited = google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.")
    server.queue(
        Reply(429, limited, headers={"Retry-After": "0.01"}),
        Reply(events=[sse(response(text("ok"), finish="STOP"))]),
    )
    with capture_logs() as logs:
        chunks = await collect(make(server, http), ask())
    assert chunks == [TextDelta("ok"), Finish("stop")]
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    [log] = retries(logs)
    assert (log["provider"], log["attempt"], log["status"], log["delay"]) == (
        "google", 1, 429, 0.01,
    )  # fmt: skip
    assert log["code"] == "rate_limit_exceeded"
    assert KEY not in repr(logs)


async def test_retry__429_retry_info_delay_is_honoured(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Without Retry-After, google.rpc.RetryInfo's retryDelay ("0.02s") sets the delay."""
    quota = {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []}
    limited = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", quota, retry_info("0.02s"))
    server.queue(Reply(429, limited), Reply(events=[sse(response(text("ok"), finish="STOP"))]))
    with capture_logs() as logs:
        assert await collect(make(server, http), ask()) == [TextDelta("ok"), Finish("stop")]
    assert [entry["delay"] for entry in retries(logs)] == [0.02]


async def test_retry__429_exhausted_is_rate_limit_exceeded(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """After max_retries 429s: rate_limit_exceeded with Google's message and its retryDelay."""
    limited = google_error(
        429, "RESOURCE_EXHAUSTED", "Quota exceeded for metric.", retry_info("7s")
    )
    server.queue(Reply(429, limited))
    _, error = await collect_error(make(server, http, max_retries=0), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status, error.retryable, error.retry_after) == (
        "rate_limit_exceeded", 429, True, 7.0,
    )  # fmt: skip
    assert "Quota exceeded for metric." in error.message
    assert "429" in error.message


async def test_retry__503_then_success(server: FakeServer, http: httpx.AsyncClient) -> None:
    """A 503 UNAVAILABLE is retried with backoff and the second answer is used."""
    server.queue(
        Reply(503, google_error(503, "UNAVAILABLE", "The model is overloaded.")),
        Reply(events=[sse(response(text("ok"), finish="STOP"))]),
    )
    with capture_logs() as logs:
        assert await collect(make(server, http), ask()) == [TextDelta("ok"), Finish("stop")]
    assert len(server.requests) == 2
    assert [(entry["status"], entry["code"]) for entry in retries(logs)] == [(503, "server_error")]


async def test_retry__500_exhausted_is_server_error(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Every attempt 500: server_error with the status, after 1 + max_retries requests."""
    down = Reply(500, google_error(500, "INTERNAL", "An internal error has occurred."))
    server.queue(down, down, down)
    _, error = await collect_error(make(server, http, max_retries=2), ask())
    assert len(server.requests) == 3
    assert (error.code, error.status, error.retryable) == ("server_error", 500, True)
    assert "An internal error has occurred." in error.message


async def test_error__400_is_invalid_prompt_with_the_vendor_message(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A 400 INVALID_ARGUMENT is invalid_prompt at once, quoting Google's message."""
    message = "* GenerateContentRequest.contents: contents is not specified"
    server.queue(Reply(400, google_error(400, "INVALID_ARGUMENT", message)))
    _, error = await collect_error(make(server, http), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status, error.retryable) == ("invalid_prompt", 400, False)
    assert message in error.message
    assert "400" in error.message


async def test_error__404_unknown_model_is_invalid_prompt(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A 404 NOT_FOUND (no such model) is invalid_prompt, not retried."""
    message = "models/gemini-x is not found for API version v1beta"
    server.queue(Reply(404, google_error(404, "NOT_FOUND", message)))
    _, error = await collect_error(make(server, http), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status) == ("invalid_prompt", 404)
    assert message in error.message


@pytest.mark.parametrize("status", [401, 403])
async def test_error__auth_failure_not_retried_and_hides_the_key(
    server: FakeServer, http: httpx.AsyncClient, status: int
) -> None:
    """401/403 are authentication failures naming the provider, never the key echoed back."""
    body = google_error(status, "PERMISSION_DENIED", f"Method doesn't allow key {KEY}.")
    server.queue(Reply(status, body))
    _, error = await collect_error(make(server, http), ask())
    assert len(server.requests) == 1
    assert (error.code, error.status, error.retryable) == ("server_error", status, False)
    assert "Authentication failed for provider 'google'" in error.message
    assert KEY not in error.message


async def test_error__invalid_key_400_is_an_authentication_failure(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """Google answers a wrong key with 400 and reason API_KEY_INVALID: an auth failure."""
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
    body = google_error(400, "INVALID_ARGUMENT", "API key not valid.", info)
    server.queue(Reply(400, body))
    _, error = await collect_error(make(server, http), ask())
    assert (error.code, error.status, error.retryable) == ("server_error", 400, False)
    assert "Authentication failed" in error.message
    assert "API key not valid." in error.message


async def test_error__missing_key_names_the_env_vars_without_a_request(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """No key: a non-retryable server_error naming GEMINI_API_KEY and GOOGLE_API_KEY."""
    _, error = await collect_error(make(server, http, api_key=None), ask())
    assert (error.code, error.retryable) == ("server_error", False)
    assert "GEMINI_API_KEY" in error.message
    assert "GOOGLE_API_KEY" in error.message
    assert server.requests == []


async def test_error__connection_refused_is_server_error_after_retries(
    http: httpx.AsyncClient,
) -> None:
    """Nobody listening: every attempt fails to connect, then a retryable server_error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = GeminiProvider(
        base_url=f"http://127.0.0.1:{port}/v1beta", api_key=KEY, client=http, backoff_base=0.001
    )
    with capture_logs() as logs:
        _, error = await collect_error(provider, ask())
    assert (error.code, error.retryable) == ("server_error", True)
    assert "Could not reach provider 'google'" in error.message
    assert len(retries(logs)) == 2


async def test_stream__error_event_is_mapped_like_its_status(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """An `{"error": ...}` event in the stream maps by its code: 429 → rate_limit_exceeded."""
    server.queue(Reply(events=[sse(google_error(429, "RESOURCE_EXHAUSTED", "Slow down."))]))
    _, error = await collect_error(make(server, http, max_retries=0), ask())
    assert (error.code, error.status, error.retryable) == ("rate_limit_exceeded", 429, True)
    assert "Slow down." in error.message


# --- broken streams ---------------------------------------------------------------------------


async def test_stream__cut_midway_fails_after_the_chunks_without_retry(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A connection dropped after some chunks is raised at once, never retried."""
    server.queue(Reply(
        events=[sse(response(text("Hel"))), sse(response(text("lo"))),
                sse(response(text("!"), finish="STOP"))],
        drop_after=2,
    ))  # fmt: skip
    chunks, error = await collect_error(make(server, http), ask())
    assert chunks == [TextDelta("Hel"), TextDelta("lo")]
    assert len(server.requests) == 1
    assert (error.code, error.retryable) == ("server_error", False)
    assert "broke" in error.message


async def test_stream__ending_cleanly_without_finish_reason_is_an_error(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A body that ends before any finishReason ended early; after output, it is not retried."""
    server.queue(Reply(events=[sse(response(text("Hel")))]))
    chunks, error = await collect_error(make(server, http), ask())
    assert chunks == [TextDelta("Hel")]
    assert len(server.requests) == 1
    assert error.code == "server_error"
    assert "ended early" in error.message


async def test_stream__malformed_json_in_a_data_line_is_server_error(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """A data line that is not JSON is a retryable server_error saying so."""
    server.queue(Reply(events=["data: {not json\n\n", sse(response(text("x"), finish="STOP"))]))
    _, error = await collect_error(make(server, http, max_retries=0), ask())
    assert (error.code, error.retryable) == ("server_error", True)
    assert "malformed" in error.message
    assert "{not json" in error.message


async def test_stream__empty_candidates_without_block_reason_is_retried_then_fails(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    """No candidates and no blockReason: nothing said, no finish; retried, then server_error."""
    empty = {"candidates": [], "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}
    server.queue(Reply(events=[sse(empty)]), Reply(events=[sse({})]))
    chunks, error = await collect_error(make(server, http, max_retries=1), ask())
    assert chunks == []
    assert len(server.requests) == 2
    assert (error.code, error.retryable) == ("server_error", True)
    assert "ended early" in error.message


async def test_provider__satisfies_the_provider_protocol(http: httpx.AsyncClient) -> None:
    """The adapter is a `Provider` (checked by mypy) named "google" by default."""
    provider: Provider = GeminiProvider(api_key=KEY, client=http)
    assert provider.name == "google"


# --- a whole run ------------------------------------------------------------------------------


async def test_run__tool_round_trip_through_the_runtime(server: FakeServer) -> None:
    """A run on google/gemini-x pauses on Gemini's call, then completes with Gemini's text."""
    server.queue(
        Reply(events=[
            sse(response(function_call("get_weather", {"city": "Paris"}, id="fc-paris"))),
            sse(response(finish="STOP", usage=(20, 7))),
        ]),
        Reply(events=[
            sse(response(text("It is "))),
            sse(response(text("sunny."), finish="STOP", usage=(30, 4))),
        ]),
    )  # fmt: skip
    async with new_http_client(read_timeout=60) as http:
        provider = GeminiProvider(base_url=server.base_url, api_key=KEY, client=http)
        async with AsyncClient(
            database_url="sqlite+aiosqlite:///:memory:",
            providers={"google": provider},
            poll_seconds=0.05,
        ) as client:
            assistant = await client.assistants.create(
                model="google/gemini-x", instructions="Be brief.", tools=[WEATHER]
            )
            thread = await client.threads.create(
                messages=[{"role": "user", "content": "Weather in Paris?"}]
            )
            with anyio.fail_after(20):
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id
                )
                assert run.status == "requires_action"
                assert run.required_action is not None
                (call,) = run.required_action.submit_tool_outputs.tool_calls
                assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
                    "fc-paris", "get_weather", {"city": "Paris"},
                )  # fmt: skip
                run = await client.threads.runs.submit_tool_outputs_and_poll(
                    thread_id=thread.id,
                    run_id=run.id,
                    tool_outputs=[{"tool_call_id": "fc-paris", "output": "22C"}],
                )
            assert run.status == "completed"
            assert run.usage is not None
            assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (50, 11)
            answer = (await client.threads.messages.list(thread.id, run_id=run.id)).data[0]
            assert answer.content[0].text.value == "It is sunny."  # type: ignore[union-attr]
    first, second = server.requests
    assert first.path == second.path == STREAM_PATH
    assert first.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert first.body["contents"] == [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}]
    assert second.body["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": SKIP_SIGNATURE,
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "22C"}}}
            ],
        },
    ]
