"""One chat-completions request, checked and normalised before any provider is called.

`completion_params(body)` takes the request's fields (the JSON body of `POST
/v1/chat/completions`, or the keyword arguments of `client.chat.completions.create`, with
`extra_body` merged) and returns a `CompletionParams`, or raises a `BadRequestError` in
OpenAI's wording naming the field:

- `messages` in OpenAI's format: system, developer (sent as system), user (text and image-URL
  parts), assistant (text, `tool_calls` each with an id), tool (`tool_call_id` answering a call
  of an earlier assistant message). `{{name}}` placeholders in message text are filled from
  `variables`; a missing one is a 400 naming it.
- Sampling and output: `temperature`, `top_p`, `max_tokens` / `max_completion_tokens`, `stop`
  (a string or up to 4), `tools`, `tool_choice`, `parallel_tool_calls`, `response_format`.
- Call control (extensions): `timeout` (seconds per attempt), `num_retries`, `fallbacks`,
  `provider`, `api_key`, `api_base`.
- Trace fields (extensions, echoed on the answer): `tags`, `user_id`, `session_id`, `group_id`,
  `trace_id`, `span_id` (`sp_` + 16 hex digits), `parent_span_id`, `metadata`, `send_trace`,
  `store_content`.

OpenAI parameters this runtime cannot honour (`n` > 1, `logprobs`, `audio`...) are refused with
a 400 rather than silently ignored; `user`, `store`, `service_tier` and the like, which change
nothing about the answer, are accepted.
"""

from __future__ import annotations

from typing import Any, Final

from assistants import validation as v
from runtime.completions.params import CompletionParams
from runtime.control import interpolate
from runtime.providers.base import ChatMessage, ToolCall
from store.errors import BadRequestError
from store.span_types import SPAN_ID, check_trace_id

MESSAGES_MAX: Final = 2_048
STOP_MAX: Final = 4
TAGS_MAX: Final = 64
TRACE_STRING_MAX: Final = 256
RETRIES_MAX: Final = 10
TIMEOUT_MAX: Final = 3_600.0

"""A span id: `sp_` and 16 lowercase hex digits."""

# Accepted and without effect on the answer: bookkeeping fields of OpenAI's hosted service.
IGNORED_PARAMS = frozenset(
    {
        "user",
        "store",
        "service_tier",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "moderation",
    }
)
# OpenAI parameters this runtime cannot honour: refused unless given their neutral value.
NEUTRAL_PARAMS: Final[dict[str, tuple[object, ...]]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "frequency_penalty": (None, 0, 0.0),
    "presence_penalty": (None, 0, 0.0),
    "logit_bias": (None, {}),
    "seed": (None,),
    "audio": (None,),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "verbosity": (None,),
    "web_search_options": (None,),
    "functions": (None,),
    "function_call": (None,),
}
_TRACE = (
    "tags",
    "user_id",
    "session_id",
    "group_id",
    "trace_id",
    "parent_span_id",
    "metadata",
    "send_trace",
    "store_content",
)
_TRACE_FIELDS = frozenset(_TRACE)
KNOWN_PARAMS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "timeout",
        "num_retries",
        "fallbacks",
        "variables",
        "provider",
        "api_key",
        "api_base",
        "span_id",
        *_TRACE,
        *IGNORED_PARAMS,
        *NEUTRAL_PARAMS,
    }
)


def completion_params(body: dict[str, Any]) -> CompletionParams:
    """The checked request for `body` (see the module docstring), or a `BadRequestError`."""
    _check_names(body)
    if body.get("model") is None:
        raise v.missing("model")
    model = v.model_name(body["model"], "model")
    if body.get("messages") is None:
        raise v.missing("messages")
    variables = v.variables(body.get("variables"))
    messages = _messages(body["messages"], variables)
    stream = _flag(body.get("stream"), "stream", default=False)
    include_usage = _include_usage(body, stream)
    max_tokens = _max_tokens(body)
    tools = _function_tools(body)
    tool_choice = _tool_choice(body.get("tool_choice"), tools)
    response_format = v.response_format(body.get("response_format"))
    # A group of optional fields none of which is given keeps CompletionParams' defaults.
    sampling = {} if _SAMPLING.isdisjoint(body) else _sampling(body)
    routing = {} if _ROUTING.isdisjoint(body) else _routing(body)
    return CompletionParams(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        tools=tools,
        tool_choice=tool_choice,
        max_tokens=max_tokens,
        response_format=None if response_format == "auto" else response_format,
        **sampling,
        **routing,
        span_id=_span_id(body.get("span_id"), "span_id"),
        trace={} if _TRACE_FIELDS.isdisjoint(body) else _trace(body),
    )


def _check_names(body: dict[str, Any]) -> None:
    """Every parameter is known, and those this server leaves out hold their neutral value."""
    for name in body:
        if name not in KNOWN_PARAMS:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {name}",
                param=name,
                code="unknown_parameter",
            )
    for name, value in body.items():
        neutral = NEUTRAL_PARAMS.get(name)
        if neutral is not None and not _neutral(value, neutral):
            raise BadRequestError(
                f"Unsupported parameter: '{name}' is not supported by this server; leave it out.",
                param=name,
                code="unsupported_parameter",
            )


def _include_usage(body: dict[str, Any], stream: bool) -> bool:
    """`stream_options.include_usage` (on by default); `stream_options` only with `stream`."""
    if body.get("stream_options") is None:
        return True
    options = v.obj(body["stream_options"], "stream_options")
    if not stream:
        raise BadRequestError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    if options.get("include_usage") is None:
        return True
    return v.boolean(options["include_usage"], "stream_options.include_usage")


def _function_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """`tools`: up to 128, functions only."""
    tools = v.tools(body["tools"], max_length=128) if body.get("tools") is not None else []
    for i, tool in enumerate(tools):
        if tool["type"] != "function":
            raise v.invalid_value(f"tools[{i}].type", tool["type"], ["function"])
    return tools


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    """How the model answers: parallel tool calls, temperature, top_p, stop sequences."""
    return {
        "parallel_tool_calls": _flag(
            body.get("parallel_tool_calls"), "parallel_tool_calls", default=True
        ),
        "temperature": v.number(body.get("temperature"), "temperature", minimum=0, maximum=2),
        "top_p": v.number(body.get("top_p"), "top_p", minimum=0, maximum=1),
        "stop": _stop(body.get("stop")),
    }


def _routing(body: dict[str, Any]) -> dict[str, Any]:
    """Where and how the call goes: its timeout, retries and fallbacks, and a provider, key or
    base URL named for this call."""
    retries = body.get("num_retries")
    return {
        "timeout": v.number(body.get("timeout"), "timeout", minimum=0.001, maximum=TIMEOUT_MAX),
        "num_retries": (
            None
            if retries is None
            else v.integer(retries, "num_retries", minimum=0, maximum=RETRIES_MAX)
        ),
        "fallbacks": v.fallbacks(body.get("fallbacks")) or [],
        "provider": _short(body.get("provider"), "provider"),
        "api_key": _short(body.get("api_key"), "api_key", max_length=4096),
        "api_base": _short(body.get("api_base"), "api_base", max_length=2048),
    }


def _neutral(value: object, allowed: tuple[object, ...]) -> bool:
    """Whether `value` is one of `allowed` (`False` is not `0`)."""
    return any(value == n and isinstance(value, bool) == isinstance(n, bool) for n in allowed)


def _flag(value: object, param: str, *, default: bool) -> bool:
    return default if value is None else v.boolean(value, param)


def _short(value: object, param: str, *, max_length: int = TRACE_STRING_MAX) -> str | None:
    if value is None:
        return None
    text = v.string(value, param, max_length=max_length)
    if not text:
        raise BadRequestError(
            f"Invalid '{param}': empty string. Expected a non-empty string.",
            param=param,
            code="invalid_value",
        )
    return text


def _span_id(value: object, param: str) -> str | None:
    text = _short(value, param)
    if text is not None and not SPAN_ID.fullmatch(text):
        raise BadRequestError(
            f"Invalid '{param}': '{text}' is not a span id. Span ids are 'sp_' followed by 16 "
            "lowercase hex digits (e.g. 'sp_1234567890abcdef').",
            param=param,
            code="invalid_value",
        )
    return text


def _trace(body: dict[str, Any]) -> dict[str, Any]:
    trace: dict[str, Any] = {}
    if body.get("tags") is not None:
        tags = v.array(body["tags"], "tags", max_length=TAGS_MAX)
        trace["tags"] = [
            v.string(t, f"tags[{i}]", max_length=TRACE_STRING_MAX) for i, t in enumerate(tags)
        ]
    for name in ("user_id", "session_id", "group_id"):
        if body.get(name) is not None:
            trace[name] = _short(body[name], name)
    if body.get("trace_id") is not None:
        trace["trace_id"] = check_trace_id(body["trace_id"])
    if body.get("parent_span_id") is not None:
        trace["parent_span_id"] = _span_id(body["parent_span_id"], "parent_span_id")
    if body.get("metadata") is not None:
        trace["metadata"] = v.metadata(body["metadata"])
    for name in ("send_trace", "store_content"):
        if body.get(name) is not None:
            trace[name] = v.boolean(body[name], name)
    return trace


def _max_tokens(body: dict[str, Any]) -> int | None:
    found = None
    for name in ("max_completion_tokens", "max_tokens"):
        if body.get(name) is not None:
            found = v.integer(body[name], name, minimum=1)
            break
    return found


def _stop(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value] if value else None
    items = v.array(value, "stop", max_length=STOP_MAX)
    return [
        v.string(item, f"stop[{i}]", max_length=TRACE_STRING_MAX) for i, item in enumerate(items)
    ] or None


def _tool_choice(value: object, tools: list[dict[str, Any]]) -> Any:
    choice = v.tool_choice(value)
    if isinstance(choice, dict):
        if choice["type"] != "function":
            raise v.invalid_value("tool_choice.type", choice["type"], ["function"])
        name = choice["function"]["name"]
        if name not in {t["function"]["name"] for t in tools}:
            raise BadRequestError(
                f"Invalid value for 'tool_choice': the function '{name}' is not in 'tools'.",
                param="tool_choice",
                code="invalid_value",
            )
    elif choice == "required" and not tools:
        raise BadRequestError(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            param="tool_choice",
            code="invalid_value",
        )
    return choice


def _messages(value: object, variables: dict[str, str] | None) -> list[ChatMessage]:
    items = v.array(value, "messages", min_length=1, max_length=MESSAGES_MAX)
    out: list[ChatMessage] = []
    open_calls: set[str] = set()
    for i, raw in enumerate(items):
        path = f"messages[{i}]"
        message = v.obj(raw, path)
        role = message.get("role")
        if role is None:
            raise v.missing(f"{path}.role")
        if role in ("system", "developer"):
            out.append(ChatMessage("system", _text(message.get("content"), path, variables)))
        elif role == "user":
            out.append(
                ChatMessage(
                    "user",
                    _content(message.get("content"), path, variables),
                    name=_name(message, path),
                )
            )
        elif role == "assistant":
            calls = _tool_calls(message.get("tool_calls"), path)
            content = message.get("content")
            if content is None and not calls:
                raise v.missing(f"{path}.content")
            text = None if content is None else _text(content, path, variables, allow_empty=True)
            out.append(ChatMessage("assistant", text, tool_calls=calls, name=_name(message, path)))
            open_calls = {c.id for c in calls}
        elif role == "tool":
            if message.get("tool_call_id") is None:
                raise v.missing(f"{path}.tool_call_id")
            call_id = v.string(message["tool_call_id"], f"{path}.tool_call_id")
            if call_id not in open_calls:
                raise BadRequestError(
                    f"Invalid parameter: messages with role 'tool' must be a response to a "
                    f"preceding message with 'tool_calls' ('{path}.tool_call_id' is "
                    f"'{call_id}', which no earlier assistant message called).",
                    param=f"{path}.role",
                    code="invalid_value",
                )
            text = _text(message.get("content"), path, variables, allow_empty=True)
            out.append(ChatMessage("tool", text, tool_call_id=call_id))
            continue
        else:
            raise v.invalid_value(
                f"{path}.role", role, ["system", "developer", "user", "assistant", "tool"]
            )
        if role != "assistant":
            open_calls = set()
    return out


def _name(message: dict[str, Any], path: str) -> str | None:
    return None if message.get("name") is None else _short(message["name"], f"{path}.name")


def _text(
    value: object, path: str, variables: dict[str, str] | None, *, allow_empty: bool = False
) -> str:
    """Text content: a string, or text parts (joined)."""
    param = f"{path}.content"
    if value is None:
        raise v.missing(param)
    if isinstance(value, str):
        text = v.string(value, param, max_length=v.MESSAGE_CONTENT_MAX)
    else:
        parts = v.array(
            value, param, min_length=0 if allow_empty else 1, max_length=v.MESSAGE_PARTS_MAX
        )
        texts = []
        for j, raw in enumerate(parts):
            part = v.obj(raw, f"{param}[{j}]")
            if part.get("type") != "text":
                raise v.invalid_value(f"{param}[{j}].type", part.get("type"), ["text"])
            if part.get("text") is None:
                raise v.missing(f"{param}[{j}].text")
            texts.append(
                v.string(part["text"], f"{param}[{j}].text", max_length=v.MESSAGE_CONTENT_MAX)
            )
        text = "".join(texts)
    return interpolate(text, variables, param)


def _content(
    value: object, path: str, variables: dict[str, str] | None
) -> str | list[dict[str, Any]]:
    """User content: a string, or text and image-URL parts."""
    param = f"{path}.content"
    if value is None:
        raise v.missing(param)
    if isinstance(value, str):
        return interpolate(
            v.string(value, param, max_length=v.MESSAGE_CONTENT_MAX), variables, param
        )
    parts = v.array(value, param, min_length=1, max_length=v.MESSAGE_PARTS_MAX)
    out: list[dict[str, Any]] = []
    for j, raw in enumerate(parts):
        where = f"{param}[{j}]"
        part = v.obj(raw, where)
        kind = part.get("type")
        if kind == "text":
            if part.get("text") is None:
                raise v.missing(f"{where}.text")
            text = v.string(part["text"], f"{where}.text", max_length=v.MESSAGE_CONTENT_MAX)
            out.append({"type": "text", "text": interpolate(text, variables, f"{where}.text")})
        elif kind == "image_url":
            image = v.obj(part.get("image_url"), f"{where}.image_url")
            if image.get("url") is None:
                raise v.missing(f"{where}.image_url.url")
            url = v.string(image["url"], f"{where}.image_url.url", max_length=v.MESSAGE_CONTENT_MAX)
            shaped: dict[str, Any] = {"url": url}
            if image.get("detail") is not None:
                shaped["detail"] = v.string(image["detail"], f"{where}.image_url.detail")
                if shaped["detail"] not in ("auto", "low", "high"):
                    raise v.invalid_value(
                        f"{where}.image_url.detail", shaped["detail"], ["auto", "low", "high"]
                    )
            out.append({"type": "image_url", "image_url": shaped})
        elif kind is None:
            raise v.missing(f"{where}.type")
        else:
            raise v.invalid_value(f"{where}.type", kind, ["text", "image_url"])
    return out


def _tool_calls(value: object, path: str) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    calls: list[ToolCall] = []
    for k, raw in enumerate(v.array(value, f"{path}.tool_calls", max_length=128)):
        where = f"{path}.tool_calls[{k}]"
        call = v.obj(raw, where)
        if call.get("id") is None:
            raise v.missing(f"{where}.id")
        call_id = _short(call["id"], f"{where}.id")
        assert call_id is not None
        if call.get("type", "function") != "function":
            raise v.invalid_value(f"{where}.type", call.get("type"), ["function"])
        if call.get("function") is None:
            raise v.missing(f"{where}.function")
        function = v.obj(call["function"], f"{where}.function")
        if function.get("name") is None:
            raise v.missing(f"{where}.function.name")
        name = v.string(function["name"], f"{where}.function.name", max_length=v.FUNCTION_NAME_MAX)
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            raise v.invalid_type(f"{where}.function.arguments", "a string", arguments)
        calls.append(ToolCall(call_id, name, arguments))
    return tuple(calls)


# The fields of each group: each is read under the name it is given as.
_SAMPLING = frozenset(_sampling({}))
_ROUTING = frozenset(_routing({}))
