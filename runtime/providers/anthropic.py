"""The Anthropic Messages API adapter.

`AnthropicProvider.stream` POSTs `{base_url}/v1/messages`, streamed (server-sent events) or not,
and turns the answer into `Chunk`s: text and tool-call deltas as they arrive, then the usage and
exactly one `Finish`, last. System messages become the top-level `system` string, tool results
travel as `tool_result` blocks of a user message, and consecutive messages of one role are merged
(the API wants the roles to alternate). `temperature` is clamped to Anthropic's 0-1 range; a
`top_p` of 1 (a no-op, and the Assistants API default) is left out, as newer Claude models refuse
`temperature` and `top_p` together. JSON response formats are refused with `invalid_prompt`.

Retries are `runtime.providers.http`'s: HTTP 408, 409, 429, 5xx (529 "overloaded" included),
connection errors and timeouts, with backoff or after `retry-after`, and only while nothing has
been yielded yet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from runtime.providers.base import (
    ChatMessage,
    Chunk,
    ErrorCode,
    Finish,
    FinishReason,
    ModelRequest,
    ProviderCallError,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.http import HTTPProvider
from runtime.providers.http_errors import (
    INVALID_PROMPT_STATUSES,
    clean,
    reason_phrase,
    status_error,
)
from runtime.providers.retries import retry_after_seconds

KEY_ENV = "ANTHROPIC_API_KEY"
_INVALID_PROMPT_STATUSES = INVALID_PROMPT_STATUSES | {413}
_STOP_REASONS: dict[str, FinishReason] = {  # anything else maps to "stop" (or tool_calls)
    "end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "tool_use": "tool_calls",
    "max_tokens": "length", "model_context_window_exceeded": "length", "refusal": "content_filter",
}  # fmt: skip
# In-stream error type -> code, retryable. Any other (api_error, overloaded_error...) is a
# retryable server_error.
_ERROR_TYPES: dict[str, tuple[ErrorCode, bool]] = {
    "rate_limit_error": ("rate_limit_exceeded", True),
    "invalid_request_error": ("invalid_prompt", False),
    "not_found_error": ("invalid_prompt", False),
    "request_too_large": ("invalid_prompt", False),
    "permission_error": ("server_error", False),
    "authentication_error": ("server_error", False),
}
_INPUT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _texts(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a message's content (the text parts of a list, joined)."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def _image_block(part: dict[str, Any]) -> dict[str, Any]:
    """An `image_url` part as an image block; a `data:` URL is sent as base64."""
    image = part.get("image_url")
    url = str(image.get("url", "") if isinstance(image, dict) else image or "")
    header, comma, data = url.partition(",")
    if url.startswith("data:") and comma and header.endswith(";base64"):
        media_type = header.removeprefix("data:").removesuffix(";base64")
        source = {"type": "base64", "media_type": media_type, "data": data}
    else:
        source = {"type": "url", "url": url}
    return {"type": "image", "source": source}


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    """The content blocks of one user, assistant or tool message (empty text is left out)."""
    if message.role == "tool":
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
        output = _texts(message.content)
        return [result | {"content": output} if output else result]
    content = message.content
    parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if part.get("type") == "image_url" and message.role == "user":
            blocks.append(_image_block(part))
        elif part.get("type") == "text" and isinstance(part.get("text"), str) and part["text"]:
            blocks.append({"type": "text", "text": part["text"]})
    for call in message.tool_calls:
        try:  # the executor only keeps calls whose arguments are a JSON object (or empty)
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = {}
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def _tool_choice(choice: Any, parallel: bool) -> dict[str, Any]:
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out: dict[str, Any] = {"type": "tool", "name": choice["function"].get("name")}
    else:
        out = {"type": "any" if choice == "required" else "auto"}
    return out if parallel else out | {"disable_parallel_tool_use": True}


class _Turn:
    """What one response has said so far: tool blocks seen, stop reason, usage, completion."""

    def __init__(self) -> None:
        self.tools: dict[int, int] = {}  # content block index -> tool call index
        self.stop_reason: str | None = None
        self.usage: dict[str, int] = {}
        self.stopped = False  # message_stop seen

    def count(self, usage: Any) -> None:
        """Take the token counts of a usage object (later counts are cumulative: they win)."""
        if isinstance(usage, dict):
            self.usage.update(
                (k, v) for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)
            )

    def block(self, index: int, block: Any, *, whole: bool = False) -> list[Chunk]:
        """The chunks of a content block as it starts (streamed) or `whole` (not streamed)."""
        if not isinstance(block, dict):
            return []
        if block.get("type") == "text" and isinstance(block.get("text"), str) and block["text"]:
            return [TextDelta(block["text"])]
        if block.get("type") != "tool_use":
            return []  # thinking, server tools...: not part of the Assistants API's output
        self.tools[index] = len(self.tools)
        call_id, name, arguments = block.get("id"), block.get("name"), block.get("input")
        arguments = json.dumps(arguments) if whole and isinstance(arguments, dict) else ""
        return [ToolCallDelta(self.tools[index], str(call_id or ""), str(name or ""), arguments)]

    def end(self) -> list[Chunk]:
        """The usage (when reported) and the single `Finish`."""
        chunks: list[Chunk] = []
        if self.usage:
            prompt = sum(self.usage.get(key, 0) for key in _INPUT_KEYS)
            chunks.append(UsageChunk(prompt, self.usage.get("output_tokens", 0)))
        reason = _STOP_REASONS.get(self.stop_reason or "")
        chunks.append(Finish(reason or ("tool_calls" if self.tools else "stop")))
        return chunks


class AnthropicProvider(HTTPProvider[_Turn]):
    """A provider speaking Anthropic's Messages API at `base_url`."""

    def __init__(
        self,
        name: str = "anthropic",
        *,
        base_url: str = "https://api.anthropic.com",
        api_key: str | None,
        client: httpx.AsyncClient,
        max_retries: int = 2,
        timeout: float = 600.0,
        stream: bool = True,
        backoff_base: float = 0.5,
        version: str = "2023-06-01",
        default_max_tokens: int = 4096,
        extra_headers: Mapping[str, str] | None = None,
        base_url_source: str | None = None,
    ) -> None:
        headers = {
            "anthropic-version": version,
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if api_key:
            headers["x-api-key"] = api_key
        headers.update(extra_headers or {})
        super().__init__(
            name, api_key=api_key, client=client, headers=headers, max_retries=max_retries,
            timeout=timeout, stream=stream, backoff_base=backoff_base,
            base_url_source=base_url_source,
        )  # fmt: skip
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._default_max_tokens = default_max_tokens

    def build_body(self, request: ModelRequest) -> dict[str, Any]:
        """The Messages API request JSON for `request` (`ProviderCallError` if it cannot be)."""
        response_format = request.response_format
        kind = response_format.get("type") if isinstance(response_format, dict) else response_format
        if kind not in (None, "auto", "text"):
            raise ProviderCallError(
                f"The anthropic provider does not support response_format {kind!r}; use "
                "instructions (or a function tool) to ask for JSON instead",
                code="invalid_prompt",
            )
        system = [_texts(m.content) for m in request.messages if m.role == "system"]
        messages: list[dict[str, Any]] = []
        for message in request.messages:
            if message.role == "system":
                continue
            role = "assistant" if message.role == "assistant" else "user"
            blocks = _blocks(message)
            if not blocks:
                continue  # the API refuses empty messages
            if messages and messages[-1]["role"] == role:
                messages[-1]["content"].extend(blocks)  # the API wants the roles to alternate
            else:
                messages.append({"role": role, "content": blocks})
        max_tokens = request.max_tokens  # required by the API
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": self._default_max_tokens if max_tokens is None else max_tokens,
        }
        if any(system):
            body["system"] = "\n\n".join(text for text in system if text)
        body["messages"] = messages
        if request.tools:
            body["tools"] = [_tool_json(tool) for tool in request.tools]
            body["tool_choice"] = _tool_choice(request.tool_choice, request.parallel_tool_calls)
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)  # OpenAI's range is 0-2
        if request.top_p is not None and request.top_p < 1:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if self._stream:
            body["stream"] = True
        return body

    def _prepare(self, request: ModelRequest) -> tuple[str, dict[str, Any]]:
        if not self._api_key:
            raise ProviderCallError(f"Provider '{self.name}' has no API key: set {KEY_ENV}")
        return self._url, self.build_body(request)

    def _begin(self) -> _Turn:
        return _Turn()

    def _on_event(self, turn: _Turn, name: str, data: str) -> list[Chunk]:
        return self._event_chunks(name, self._decode(data), turn) if data else []

    def _stopped(self, turn: _Turn) -> bool:
        return turn.stopped

    def _finish(self, turn: _Turn, streamed: bool) -> list[Chunk]:
        if not turn.stopped:  # a whole message always counts as stopped
            raise ProviderCallError(
                f"The stream from provider '{self.name}' ended early, before message_stop",
                retryable=True,
            )
        return turn.end()

    def _event_chunks(self, name: str, payload: Any, turn: _Turn) -> list[Chunk]:
        """The chunks of one streamed event; usage and stop reason wait in `turn`."""
        if not isinstance(payload, dict):
            raise self._malformed(json.dumps(payload))
        kind = payload.get("type", name)
        index = payload.get("index")
        if kind == "error":
            raise self._payload_error(payload.get("error"))
        if kind == "message_start" and isinstance(payload.get("message"), dict):
            turn.count(payload["message"].get("usage"))
        elif kind == "content_block_start" and isinstance(index, int):
            return turn.block(index, payload.get("content_block"))
        elif kind == "content_block_delta" and isinstance(payload.get("delta"), dict):
            delta = payload["delta"]
            text, partial = delta.get("text"), delta.get("partial_json")
            if delta.get("type") == "text_delta" and isinstance(text, str) and text:
                return [TextDelta(text)]
            if delta.get("type") == "input_json_delta" and isinstance(partial, str) and partial:
                tool = turn.tools.get(index) if isinstance(index, int) else None
                return [] if tool is None else [ToolCallDelta(tool, arguments=partial)]
        elif kind == "message_delta":
            delta = payload.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                turn.stop_reason = delta["stop_reason"]
            turn.count(payload.get("usage"))
        elif kind == "message_stop":
            turn.stopped = True
        return []  # ping, content_block_stop, other deltas and unknown events

    def _on_body(self, turn: _Turn, payload: Any) -> list[Chunk]:
        """The chunks of a whole (not streamed) message; usage and stop reason go to `turn`."""
        if isinstance(payload, dict) and payload.get("type") == "error":
            raise self._payload_error(payload.get("error"))
        if not isinstance(payload, dict) or not isinstance(payload.get("content"), list):
            raise self._malformed(json.dumps(payload))
        chunks: list[Chunk] = []
        for index, block in enumerate(payload["content"]):
            chunks.extend(turn.block(index, block, whole=True))
        if isinstance(payload.get("stop_reason"), str):
            turn.stop_reason = payload["stop_reason"]
        turn.count(payload.get("usage"))
        turn.stopped = True
        return chunks

    def _payload_error(self, error: Any) -> ProviderCallError:
        """An `error` the server reported inside a 200 response (streamed or not)."""
        error = error if isinstance(error, dict) else {}
        kind = str(error.get("type") or "error")
        code, retryable = _ERROR_TYPES.get(kind, ("server_error", True))
        message = self._scrub(clean(str(error.get("message") or "no message")))
        message = f"Provider '{self.name}' reported an error ({kind}): {message}"
        return ProviderCallError(message, code=code, retryable=retryable)

    def _status_error(self, response: httpx.Response) -> ProviderCallError:
        """The error for an HTTP error status, with the vendor's message when there is one."""
        status = response.status_code
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            vendor = clean(f"{error.get('type') or 'error'}: {error['message']}")
        else:
            vendor = reason_phrase(response)
        return status_error(
            self.name,
            status,
            self._scrub(vendor),
            retry_after=retry_after_seconds(response.headers),
            invalid=_INVALID_PROMPT_STATUSES,
        )


def _tool_json(tool: dict[str, Any]) -> dict[str, Any]:
    """An Assistants function tool as an Anthropic tool definition."""
    function = tool.get("function") or {}
    out: dict[str, Any] = {"name": function.get("name")}
    if function.get("description"):
        out["description"] = function["description"]
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return out
