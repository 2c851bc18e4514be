"""The OpenAI-compatible chat-completions adapter (OpenAI, vLLM, llama.cpp, Ollama, LM Studio...).

`OpenAICompatibleProvider.stream` POSTs `{base_url}/chat/completions` on the process's shared
`httpx.AsyncClient` (`runtime.providers.http.new_http_client`), streamed (server-sent events) or
not, and turns the answer into `Chunk`s: text and tool-call deltas as they arrive, then the usage
and exactly one `Finish`, last.

Transient failures (HTTP 408, 409, 429, 5xx, connection errors, timeouts) are retried with
exponential backoff, or after the delay the server asks for in `retry-after-ms`/`Retry-After`, but
only while nothing has been yielded yet: once output has begun, a failure is raised at once (see
`runtime.providers.http`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

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
    RETRYABLE_STATUSES,
    error_text,
    reason_phrase,
    status_error,
)
from runtime.providers.retries import retry_after_seconds

_FINISH_REASONS: dict[str, FinishReason] = {  # anything else maps to "stop"
    "stop": "stop", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "length": "length", "content_filter": "content_filter",
}  # fmt: skip


def _message_json(message: ChatMessage) -> dict[str, Any]:
    content = message.content if message.content is not None else ""  # some servers reject null
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": content}
    out: dict[str, Any] = {"role": message.role, "content": content}
    if message.role == "assistant" and message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.name is not None:
        out["name"] = message.name
    return out


class _Turn:
    """What one response has said so far: tool calls seen, finish reason, usage, [DONE]."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.names: set[int] = set()
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.done = False  # [DONE] seen

    def tool_delta(self, index: int, call: Any) -> ToolCallDelta | None:
        """A fragment of call `index`; its id and name are passed on the first time only."""
        if not isinstance(call, dict):
            return None
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = call.get("id") if isinstance(call.get("id"), str) else None
        name = function.get("name") if isinstance(function.get("name"), str) else None
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else json.dumps(arguments)
        if index in self.ids:
            call_id = None
        elif not call_id and name:
            call_id = f"call_{uuid4().hex[:24]}"  # some local servers send no ids at all
        name = None if index in self.names else name
        self.ids.update([index] if call_id else [])
        self.names.update([index] if name else [])
        if not call_id and not name and not arguments:
            return None
        return ToolCallDelta(index, call_id or None, name or None, arguments)

    def end(self) -> list[Chunk]:
        """The usage (once: the last reported) and the single `Finish`."""
        chunks: list[Chunk] = []
        if self.usage is not None:
            counts = [self.usage.get(key) for key in ("prompt_tokens", "completion_tokens")]
            chunks.append(UsageChunk(*(n if isinstance(n, int) else 0 for n in counts)))
        reason = _FINISH_REASONS.get(self.finish or "")
        if reason is None:
            reason = "tool_calls" if self.finish is None and self.ids else "stop"
        chunks.append(Finish(reason))
        return chunks


class OpenAICompatibleProvider(HTTPProvider[_Turn]):
    """A provider speaking the chat-completions wire format at `base_url`."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_key: str | None,
        client: httpx.AsyncClient,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int = 2,
        timeout: float = 600.0,
        stream: bool = True,
        backoff_base: float = 0.5,
        max_tokens_param: str = "max_tokens",
        named_tool_choice: bool = True,
        base_url_source: str | None = None,
    ) -> None:
        """`named_tool_choice=False` for servers that take only "auto"/"none"/"required" (as
        llama-server, which silently ignores a named choice): a named choice is then sent as
        "required" with only that function offered, which forces the same call."""
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        headers.update(extra_headers or {})
        super().__init__(
            name, api_key=api_key, client=client, headers=headers, max_retries=max_retries,
            timeout=timeout, stream=stream, backoff_base=backoff_base,
            base_url_source=base_url_source,
        )  # fmt: skip
        self._base_url = base_url.rstrip("/")
        self._url = self._base_url + "/chat/completions"
        self._max_tokens_param = max_tokens_param
        self._named_tool_choice = named_tool_choice

    async def embed(self, model: str, texts: Sequence[str], *, query: bool = False) -> list[Any]:
        """The server's `/embeddings` answer for `texts` (one vector each, as sent, in order)."""
        payload = await self.post_json(
            f"{self._base_url}/embeddings",
            {"model": model, "input": list(texts), "encoding_format": "float"},
        )
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise self._malformed(json.dumps(payload)[:200])
        ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
        return [d.get("embedding") if isinstance(d, dict) else None for d in ordered]

    def build_body(self, request: ModelRequest) -> dict[str, Any]:
        """The chat-completions request JSON for `request`."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [_message_json(message) for message in request.messages],
        }
        if request.tools:
            tools, choice = request.tools, request.tool_choice
            if isinstance(choice, dict) and not self._named_tool_choice:
                name = (choice.get("function") or {}).get("name")
                tools = [t for t in tools if (t.get("function") or {}).get("name") == name]
                choice = "required"
            body["tools"] = tools
            if choice is not None:
                body["tool_choice"] = choice
            body["parallel_tool_calls"] = request.parallel_tool_calls
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.max_tokens is not None:
            body[self._max_tokens_param] = request.max_tokens
        response_format = request.response_format
        if response_format is not None and response_format != "auto":
            if isinstance(response_format, str):
                response_format = {"type": response_format}
            body["response_format"] = response_format
        if request.stop:
            body["stop"] = list(request.stop)
        body["stream"] = self._stream
        if self._stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def _prepare(self, request: ModelRequest) -> tuple[str, dict[str, Any]]:
        return self._url, self.build_body(request)

    def _begin(self) -> _Turn:
        return _Turn()

    def _on_event(self, turn: _Turn, name: str, data: str) -> list[Chunk]:
        if data == "[DONE]":
            turn.done = True
            return []
        return self._chunks(self._decode(data), turn, streamed=True) if data else []

    def _on_body(self, turn: _Turn, payload: Any) -> list[Chunk]:
        return self._chunks(payload, turn, streamed=False)

    def _stopped(self, turn: _Turn) -> bool:
        return turn.done

    def _finish(self, turn: _Turn, streamed: bool) -> list[Chunk]:
        if streamed and not turn.done and turn.finish is None:
            raise ProviderCallError(
                f"The stream from provider '{self.name}' ended early, before [DONE] "
                "and before any finish_reason",
                retryable=True,
            )
        return turn.end()

    def _chunks(self, payload: Any, turn: _Turn, *, streamed: bool) -> list[Chunk]:
        """The text and tool-call deltas of a payload; usage and finish reason wait in `turn`."""
        if not isinstance(payload, dict):
            raise self._malformed(json.dumps(payload))
        if payload.get("error"):
            raise self._payload_error(payload["error"])
        if isinstance(payload.get("usage"), dict):
            turn.usage = payload["usage"]
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            if streamed:
                return []  # a usage-only chunk, or an event of some other kind
            raise self._malformed(json.dumps(payload))
        choice = choices[0]
        part = choice.get("delta" if streamed else "message")
        part = part if isinstance(part, dict) else {}
        chunks: list[Chunk] = []
        if isinstance(part.get("content"), str) and part["content"]:
            chunks.append(TextDelta(part["content"]))
        calls = part.get("tool_calls")
        for position, call in enumerate(calls if isinstance(calls, list) else []):
            index = call.get("index") if streamed and isinstance(call, dict) else None
            if not isinstance(index, int) or isinstance(index, bool):
                index = position
            tool_delta = turn.tool_delta(index, call)
            if tool_delta is not None:
                chunks.append(tool_delta)
        if isinstance(choice.get("finish_reason"), str):
            turn.finish = choice["finish_reason"]
        return chunks

    def _payload_error(self, error: Any) -> ProviderCallError:
        """An error the server reported inside a 200 response (streamed or not)."""
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and not isinstance(code, bool) else None
        kind = f"{error.get('type')} {code}".lower() if isinstance(error, dict) else ""
        rate_limited = status == 429 or "rate_limit" in kind or "rate limit" in kind
        invalid = "invalid_request" in kind or (
            status is not None and 400 <= status < 500 and status not in RETRYABLE_STATUSES
        )
        code_name: ErrorCode = "rate_limit_exceeded" if rate_limited else "server_error"
        message = self._scrub(error_text({"error": error}) or "no message")
        return ProviderCallError(
            f"Provider '{self.name}' reported an error: {message}",
            code=code_name,
            retryable=rate_limited or not invalid,
            status=status,
        )

    def _status_error(self, response: httpx.Response) -> ProviderCallError:
        """The error for an HTTP error status, with the vendor's message when there is one."""
        try:
            vendor = error_text(json.loads(response.content))
        except ValueError:
            vendor = None
        return status_error(
            self.name,
            response.status_code,
            self._scrub(vendor or reason_phrase(response)),
            retry_after=retry_after_seconds(response.headers),
        )
