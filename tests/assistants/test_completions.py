"""`client.chat.completions.create`: openai-python's shape, on the built-in `test` model.

The answers validate against the openai SDK's own `ChatCompletion` and `ChatCompletionChunk`
models, extensions included; requests the runtime cannot serve are 400s in OpenAI's wording
before any provider is called.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from assistants import NOT_GIVEN, AsyncClient, BadRequestError, Client
from assistants._sync_generated import ChatCompletions
from assistants.resources.chat import AsyncChatCompletions
from runtime.completions import FinishedCall
from store.completion_types import ChatCompletion

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai
    from openai.types.chat import ChatCompletion as SdkCompletion
    from openai.types.chat import ChatCompletionChunk as SdkChunk

pytestmark = pytest.mark.timeout(30)

WEATHER = {
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
USER = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
async def chat(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncClient]:
    """A client without a worker or any provider key: only `test` (and aliases) can answer."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        worker=False,
        model_aliases={"gpt-4o": "test"},
        prices={"test": {"prompt": 1.0, "completion": 2.0}},
    ) as client:
        yield client


async def test_create__answers_in_the_sdk_shape_with_extensions(chat: AsyncClient) -> None:
    """A completion validates as the SDK's ChatCompletion and keeps provider, span and latency."""
    answer = await chat.chat.completions.create(model="test", messages=USER)
    sdk = SdkCompletion.model_validate(answer.to_dict())
    assert sdk.choices[0].message.content == "You said: Hello there"
    assert sdk.choices[0].finish_reason == "stop"
    assert sdk.usage is not None
    assert sdk.usage.total_tokens == sdk.usage.prompt_tokens + sdk.usage.completion_tokens > 0
    extras = sdk.model_extra or {}
    assert extras["provider"] == "test"
    assert extras["span_id"].startswith("sp_")
    assert extras["latency_ms"] >= 0
    assert extras["fallbacks_failed"] == []
    assert answer.id.startswith("chatcmpl-")


async def test_create__alias_is_answered_and_priced(chat: AsyncClient) -> None:
    """An alias resolves like in runs; `cost` comes from the prices of the model that answered."""
    answer = await chat.chat.completions.create(model="gpt-4o", messages=USER)
    assert answer.model == "test"
    assert answer.usage is not None
    expected = (answer.usage.prompt_tokens * 1.0 + answer.usage.completion_tokens * 2.0) / 1e6
    assert answer.cost == pytest.approx(expected)


async def test_create__tools_give_a_tool_call(chat: AsyncClient) -> None:
    """With function tools the test model calls one; the answer has OpenAI's tool_calls."""
    answer = await chat.chat.completions.create(
        model="test", messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER]
    )
    sdk = SdkCompletion.model_validate(answer.to_dict())
    assert sdk.choices[0].finish_reason == "tool_calls"
    calls = sdk.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].type == "function"
    assert calls[0].function.name == "get_weather"
    assert calls[0].function.arguments == '{"city": "example"}'
    follow = await chat.chat.completions.create(
        model="test",
        messages=[
            {"role": "user", "content": "weather?"},
            sdk.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": calls[0].id, "content": "22C and sunny"},
        ],
        tools=[WEATHER],
    )
    assert follow.choices[0].message.content == "Tool results: 22C and sunny"


async def test_create__variables_fill_placeholders(chat: AsyncClient) -> None:
    """`{{name}}` in system and user text is filled from `variables`."""
    answer = await chat.chat.completions.create(
        model="test",
        messages=[
            {"role": "developer", "content": "You help with {{topic}}."},
            {"role": "user", "content": [{"type": "text", "text": "Explain {{concept}}"}]},
        ],
        variables={"topic": "programming", "concept": "recursion"},
    )
    assert answer.choices[0].message.content == "You said: Explain recursion"


async def test_create__missing_variable_is_a_400_naming_it(chat: AsyncClient) -> None:
    """A placeholder without a variable is a 400 naming the variable."""
    with pytest.raises(BadRequestError, match="Missing variable 'concept'") as caught:
        await chat.chat.completions.create(
            model="test",
            messages=[{"role": "user", "content": "Explain {{concept}}"}],
            variables={"topic": "x"},
        )
    assert caught.value.param == "variables.concept"


async def test_create__trace_fields_are_echoed(chat: AsyncClient) -> None:
    """Trace fields are accepted, validated and returned on the answer."""
    answer = await chat.chat.completions.create(
        model="test",
        messages=USER,
        tags=["production", "chat"],
        user_id="user_123",
        session_id="session_abc",
        trace_id="tr_0123456789abcdef0123456789abcdef",
        span_id="sp_1234567890abcdef",
        parent_span_id="sp_abcdef1234567890",
        metadata={"k": "v"},
        send_trace=False,
    )
    data = answer.to_dict()
    assert data["span_id"] == "sp_1234567890abcdef"
    assert data["tags"] == ["production", "chat"]
    assert data["user_id"] == "user_123"
    assert data["session_id"] == "session_abc"
    assert data["trace_id"] == "tr_0123456789abcdef0123456789abcdef"
    assert data["parent_span_id"] == "sp_abcdef1234567890"
    assert data["metadata"] == {"k": "v"}
    assert data["send_trace"] is False


@pytest.mark.parametrize(
    ("fields", "param", "wording"),
    [
        ({"span_id": "sp_123"}, "span_id", "is not a span id"),
        ({"span_id": "sp_1234567890ABCDEF"}, "span_id", "is not a span id"),
        ({"parent_span_id": "span-1"}, "parent_span_id", "is not a span id"),
        ({"temperature": 3}, "temperature", "decimal above maximum value"),
        ({"n": 2}, "n", "Unsupported parameter: 'n'"),
        ({"logprobs": True}, "logprobs", "Unsupported parameter: 'logprobs'"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "array too long"),
        ({"tool_choice": "required"}, "tool_choice", "only allowed when 'tools'"),
        ({"num_retries": -1}, "num_retries", "integer below minimum value"),
        ({"stream_options": {"include_usage": True}}, "stream_options", "only allowed when"),
        ({"messages": []}, "messages", "empty array"),
        ({"messages": [{"content": "x"}]}, "messages[0].role", "Missing required parameter"),
        ({"messages": [{"role": "bot", "content": "x"}]}, "messages[0].role", "Invalid value"),
        ({"model": "a b"}, "model", "is not a valid model name"),
        ({"bogus": 1}, "bogus", "Unrecognized request argument supplied: bogus"),
    ],
)
async def test_create__bad_params_are_400s(
    chat: AsyncClient, fields: dict[str, Any], param: str, wording: str
) -> None:
    """Each malformed or unsupported field is a 400 naming it, in OpenAI's wording."""
    body: dict[str, Any] = {"model": "test", "messages": USER, **fields}
    with pytest.raises(BadRequestError, match=wording) as caught:
        await chat.chat.completions.create(
            model=body.pop("model"), messages=body.pop("messages"), extra_body=body
        )
    assert caught.value.param == param


async def test_create__tool_message_without_a_matching_call_is_a_400(chat: AsyncClient) -> None:
    """A tool message must answer a call of the assistant message before it."""
    with pytest.raises(BadRequestError, match="must be a response to a preceding message"):
        await chat.chat.completions.create(
            model="test",
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "call_x", "content": "out"},
            ],
        )


async def test_create__assistant_tool_call_without_id_is_a_400(chat: AsyncClient) -> None:
    """Assistant `tool_calls` need ids (a tool message answers one by it)."""
    with pytest.raises(BadRequestError, match=r"messages\[1\]\.tool_calls\[0\]\.id"):
        await chat.chat.completions.create(
            model="test",
            messages=[
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "tool_calls": [{"type": "function", "function": {"name": "f"}}],
                },
            ],
        )


async def test_create__unresolvable_model_uses_the_seed_wording(chat: AsyncClient) -> None:
    """A bare name no provider claims: "Cannot resolve provider for model '...'"."""
    with pytest.raises(BadRequestError, match="Cannot resolve provider for model 'my-model'"):
        await chat.chat.completions.create(model="my-model", messages=USER)


async def test_create__unknown_provider_uses_the_seed_wording(chat: AsyncClient) -> None:
    """`provider=` naming no provider: "Unknown provider: <name>"."""
    with pytest.raises(BadRequestError, match="Unknown provider: nosuch") as caught:
        await chat.chat.completions.create(model="my-model", provider="nosuch", messages=USER)
    assert caught.value.param == "provider"


async def test_create__missing_key_is_refused_before_any_request(chat: AsyncClient) -> None:
    """A vendor without a key: "No API key for <provider>", and no request is made."""
    with pytest.raises(BadRequestError, match="No API key for anthropic") as caught:
        await chat.chat.completions.create(model="claude-sonnet-4-5", messages=USER)
    assert caught.value.code == "missing_api_key"
    with pytest.raises(BadRequestError, match="No API key for openai"):
        await chat.chat.completions.create(model="my-fine-tune", provider="openai", messages=USER)


async def test_create__unknown_fallback_is_a_400_naming_it(chat: AsyncClient) -> None:
    """Every model of the chain is resolved before any request."""
    with pytest.raises(BadRequestError) as caught:
        await chat.chat.completions.create(model="test", messages=USER, fallbacks=["nope"])
    assert caught.value.param == "fallbacks[0]"


async def test_stream__chunks_in_openai_delta_format(chat: AsyncClient) -> None:
    """Role first, text deltas, the finish reason, then the usage chunk with the extensions."""
    stream = await chat.chat.completions.create(model="test", messages=USER, stream=True)
    chunks = [chunk async for chunk in stream]
    sdk = [SdkChunk.model_validate(c.to_dict()) for c in chunks]
    assert sdk[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in sdk if c.choices)
    assert text == "You said: Hello there"
    assert len([c for c in sdk if c.choices and c.choices[0].delta.content]) > 1
    assert sdk[-2].choices[0].finish_reason == "stop"
    assert sdk[-1].choices == []
    assert sdk[-1].usage is not None
    assert (sdk[-1].model_extra or {})["span_id"] == stream.span_id
    assert len({c.id for c in sdk}) == 1
    final = stream.final_completion()
    assert final.choices[0].message.content == text


async def test_stream__tool_call_deltas_assemble(chat: AsyncClient) -> None:
    """Tool-call fragments carry index, id and name first; the final completion joins them."""
    stream = await chat.chat.completions.create(
        model="test",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[WEATHER],
        stream=True,
    )
    chunks = [SdkChunk.model_validate(c.to_dict()) async for c in stream]
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].id is not None
    assert calls[0].type == "function"
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert all(c.index == 0 for c in calls)
    final = await stream.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].message.tool_calls is not None
    assert final.choices[0].message.tool_calls[0].function.arguments == '{"city": "example"}'


async def test_stream__without_include_usage_has_no_usage_chunk(chat: AsyncClient) -> None:
    """`stream_options={"include_usage": False}` leaves the usage chunk out."""
    stream = await chat.chat.completions.create(
        model="test", messages=USER, stream=True, stream_options={"include_usage": False}
    )
    chunks = [c async for c in stream]
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_stream__close_early_reports_a_cancelled_call(chat: AsyncClient) -> None:
    """Closing a stream mid-way stops it; the observer hears of a cancelled call."""
    seen: list[FinishedCall] = []

    async def sink(call: FinishedCall) -> None:
        seen.append(call)

    chat.chat.completions._ctx.completions.add_sink(sink)
    async with await chat.chat.completions.create(
        model="test", messages=USER, stream=True
    ) as stream:
        first = await stream.__anext__()
        assert first.choices[0].delta.role == "assistant"
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    assert [c.status for c in seen] == ["cancelled"]
    with pytest.raises(RuntimeError, match="not been read to its end"):
        stream.final_completion()


async def test_sink__hears_every_call_once(chat: AsyncClient) -> None:
    """A sink gets one FinishedCall per call, completed or failed, with usage and trace."""
    seen: list[FinishedCall] = []

    async def sink(call: FinishedCall) -> None:
        seen.append(call)

    async def broken(call: FinishedCall) -> None:
        raise RuntimeError("observer down")

    engine = chat.chat.completions._ctx.completions
    engine.add_sink(broken)
    engine.add_sink(sink)
    answer = await chat.chat.completions.create(model="test", messages=USER, tags=["t"])
    stream = await chat.chat.completions.create(model="test", messages=USER, stream=True)
    await stream.get_final_completion()
    engine.remove_sink(broken)
    assert [c.status for c in seen] == ["completed", "completed"]
    first = seen[0]
    assert first.span_id == answer.span_id
    assert first.model == "test"
    assert first.output is not None
    assert first.output.choices[0].message.content == "You said: Hello there"
    assert first.prompt_tokens > 0
    assert first.trace == {"tags": ["t"]}
    assert seen[1].stream is True


def test_sync_client__create_and_stream() -> None:
    """The sync client has the same call; its stream is an iterator with the final helper."""
    with Client(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        answer = client.chat.completions.create(model="test", messages=USER)
        assert isinstance(answer, ChatCompletion)
        with client.chat.completions.create(model="test", messages=USER, stream=True) as stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            final = stream.get_final_completion()
        assert text == final.choices[0].message.content == "You said: Hello there"
        with pytest.raises(BadRequestError, match="Missing required parameter: 'model'"):
            client.chat.completions.create(model=None, messages=USER)  # type: ignore[call-overload]


def _sdk_default(value: Any) -> Any:
    return NOT_GIVEN if type(value).__name__ in ("Omit", "NotGiven") else value


@pytest.mark.parametrize("ours", [AsyncChatCompletions.create, ChatCompletions.create])
def test_create__signature_matches_openai(ours: Any) -> None:
    """`chat.completions.create` takes openai-python's parameters in its order, with its
    defaults; the extensions are keyword-only and optional."""
    sdk = inspect.signature(openai.AsyncOpenAI(api_key="x").chat.completions.create).parameters
    mine = inspect.signature(ours).parameters
    order = list(mine)
    last = -1
    for name, p in sdk.items():
        assert name in mine, name
        assert mine[name].kind == p.kind, name
        if name != "timeout":
            assert _sdk_default(p.default) == mine[name].default, name
        assert order.index(name) > last, name
        last = order.index(name)
    for name, q in mine.items():
        if name not in sdk and name != "self":
            assert q.kind is inspect.Parameter.KEYWORD_ONLY, name
            assert q.default is not inspect.Parameter.empty, name


async def test_create__takes_the_sdks_typed_messages(chat: AsyncClient) -> None:
    """Messages typed with the openai SDK's TypedDicts type-check and run unchanged."""
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
    ]
    tools: list[ChatCompletionToolParam] = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    ]
    answer = await chat.chat.completions.create(model="test", messages=messages, tools=tools)
    assert answer.choices[0].finish_reason == "tool_calls"


def test_sync_stream__close_stops_reading() -> None:
    """Closing a blocking stream mid-way ends the iteration; nothing more arrives."""
    with Client(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        stream = client.chat.completions.create(model="test", messages=USER, stream=True)
        first = next(stream)
        assert first.choices[0].delta.role == "assistant"
        stream.close()
        assert list(stream) == []
