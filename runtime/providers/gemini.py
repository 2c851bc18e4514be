"""The Google Gemini adapter, speaking the Gemini API's own `generateContent` wire format.

`GeminiProvider.stream` POSTs `{base_url}/models/{model}:streamGenerateContent?alt=sse` (or
`:generateContent`), the key in the `x-goog-api-key` header, never in the URL. Each server-sent
event is a whole `GenerateContentResponse`: text parts become `TextDelta`s, each `functionCall`
part one complete `ToolCallDelta`; usage and exactly one `Finish` come last. Retries, backoff and
status-to-error rules are `runtime.providers.http`'s; a 429's `google.rpc.RetryInfo` also sets the
delay.

Where the mapping had to choose:

- Tool parameters go in `parametersJsonSchema`, `json_schema` formats in `responseJsonSchema`:
  both take JSON Schema as is, so nothing is converted (`additionalProperties`, `anyOf`, `$ref`,
  `default` stay); only a top-level `$schema` is dropped.
- A tool result is a `functionResponse {name, response: {"content": output}}` part in a user
  turn. Calls and results carry no `id`: Gemini pairs them by name and order, and some API
  versions reject the field.
- Gemini 3+ wants each call's `thoughtSignature` sent back. Signatures seen are remembered by
  call id (bounded, in memory); for a turn with none known (another process or model made the
  calls) Google's documented `skip_thought_signature_validator` stands in, except on gemini-1.x
  and gemini-2.x, which never required one.
- `parallel_tool_calls` has no Gemini equivalent and is not sent.
"""

from __future__ import annotations

import base64
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit
from uuid import uuid4

import httpx

from runtime.providers.base import (
    ChatMessage,
    Chunk,
    Finish,
    FinishReason,
    ModelRequest,
    ProviderCallError,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.http import HTTPProvider
from runtime.providers.http_errors import error_text, reason_phrase, status_error
from runtime.providers.retries import retry_after_seconds

KEY_ENV_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
SKIP_SIGNATURE = "skip_thought_signature_validator"
MAX_SIGNATURES = 4096  # thought signatures remembered per provider, the oldest forgotten first
_UNSIGNED_MODELS = re.compile(r"^gemini-[12][.-]")
_FILTERED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_IMAGE_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heif",
}  # fmt: skip
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")  # protobuf JSON durations: "7s", "0.5s"


def _text_of(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content or [] if p.get("type") == "text")


def _image_part(image: Any) -> dict[str, Any] | None:
    """`inlineData` for a `data:` URL, else `fileData` (type guessed from the extension)."""
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("data:"):
        header, _, data = url[5:].partition(",")
        mime, *params = header.split(";")
        if "base64" not in params:
            data = base64.b64encode(unquote_to_bytes(data)).decode("ascii")
        return {"inlineData": {"mimeType": mime or "image/png", "data": data}}
    path = urlsplit(url).path.lower()
    mime = next((m for ext, m in _IMAGE_TYPES.items() if path.endswith(ext)), "image/png")
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def _user_parts(content: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content:
        if part.get("type") == "text" and part.get("text"):
            parts.append({"text": str(part["text"])})
        elif part.get("type") == "image_url" and (image := _image_part(part.get("image_url"))):
            parts.append(image)
    return parts


def _arguments(raw: str) -> dict[str, Any]:
    """A call's JSON arguments as the object Gemini wants: `{}` if empty, wrapped if not one."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {"arguments": raw}
    return value if isinstance(value, dict) else {"arguments": value}


def _schema(schema: Any) -> Any:
    return {k: v for k, v in schema.items() if k != "$schema"} if isinstance(schema, dict) else {}


def _declaration(function: dict[str, Any]) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": function["name"]}
    if function.get("description"):
        declaration["description"] = function["description"]
    if function.get("parameters"):
        declaration["parametersJsonSchema"] = _schema(function["parameters"])
    return declaration


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    """Add a turn, merged into the previous one when that has the same role."""
    if parts and contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    elif parts:
        contents.append({"role": role, "parts": parts})


class _Turn:
    """What one response has said so far: calls emitted, finish reason, usage."""

    def __init__(self) -> None:
        self.calls = 0
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None

    def end(self) -> list[Chunk]:
        """The usage (the last reported) and the single `Finish`."""
        chunks: list[Chunk] = []
        if self.usage is not None:
            keys = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount")
            n = [x if isinstance(x := self.usage.get(key), int) else 0 for key in keys]
            chunks.append(UsageChunk(n[0], n[1] + n[2]))
        reason: FinishReason = "tool_calls" if self.calls else "stop"
        if self.finish == "MAX_TOKENS":
            reason = "length"
        elif self.finish in _FILTERED:
            reason = "content_filter"
        return [*chunks, Finish(reason)]


class GeminiProvider(HTTPProvider[_Turn]):
    """A provider speaking the Gemini API (Google AI Studio keys) at `base_url`."""

    def __init__(
        self,
        name: str = "google",
        *,
        base_url: str = "https://generativelanguage.googleapis.com/v1beta",
        api_key: str | None,
        client: httpx.AsyncClient,
        max_retries: int = 2,
        timeout: float = 600.0,
        stream: bool = True,
        backoff_base: float = 0.5,
        extra_headers: Mapping[str, str] | None = None,
        base_url_source: str | None = None,
    ) -> None:
        headers = {"x-goog-api-key": api_key} if api_key else {}
        headers.update(extra_headers or {})
        super().__init__(
            name, api_key=api_key, client=client, headers=headers, max_retries=max_retries,
            timeout=timeout, stream=stream, backoff_base=backoff_base,
            base_url_source=base_url_source,
        )  # fmt: skip
        self._base_url = base_url.rstrip("/")
        self._signatures: OrderedDict[str, str] = OrderedDict()  # call id -> thoughtSignature

    def url(self, model: str) -> str:
        """The endpoint for `model` (a leading `models/` is accepted). It never holds the key.

        The model is one percent-encoded path segment: no `/`, `..`, `?` or `#` in it can
        reach another path or add a query."""
        method = "streamGenerateContent?alt=sse" if self._stream else "generateContent"
        segment = quote(model.removeprefix("models/"), safe="")
        return f"{self._base_url}/models/{segment}:{method}"

    async def embed(self, model: str, texts: Sequence[str], *, query: bool = False) -> list[Any]:
        """Gemini's vectors for `texts`, in order: `embedContent` for a search query,
        `batchEmbedContents` for a file's chunks."""
        name = model.removeprefix("models/")
        url = f"{self._base_url}/models/{quote(name, safe='')}"
        if query and len(texts) == 1:
            body = {"content": {"parts": [{"text": texts[0]}]}, "taskType": "RETRIEVAL_QUERY"}
            payload = await self.post_json(f"{url}:embedContent", body)
            found = payload.get("embedding") if isinstance(payload, dict) else None
            return [found.get("values") if isinstance(found, dict) else None]
        requests = [
            {
                "model": f"models/{name}",
                "content": {"parts": [{"text": t}]},
                "taskType": "RETRIEVAL_QUERY" if query else "RETRIEVAL_DOCUMENT",
            }
            for t in texts
        ]
        payload = await self.post_json(f"{url}:batchEmbedContents", {"requests": requests})
        found = payload.get("embeddings") if isinstance(payload, dict) else None
        if not isinstance(found, list):
            raise self._malformed(json.dumps(payload)[:200])
        return [e.get("values") if isinstance(e, dict) else None for e in found]

    def build_body(self, request: ModelRequest) -> dict[str, Any]:
        """The `generateContent` request JSON for `request`."""
        body: dict[str, Any] = {}
        system = [_text_of(m.content) for m in request.messages if m.role == "system"]
        if any(system):
            body["systemInstruction"] = {"parts": [{"text": "\n\n".join(filter(None, system))}]}
        body["contents"] = self._contents(request.messages, request.model.removeprefix("models/"))
        functions = [t["function"] for t in request.tools if t.get("type") == "function"]
        if functions:
            body["tools"] = [{"functionDeclarations": [_declaration(f) for f in functions]}]
            choice = request.tool_choice
            named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
            mode = _MODES.get(choice) if isinstance(choice, str) else None
            if named:
                config = {"mode": "ANY", "allowedFunctionNames": [named]}
                body["toolConfig"] = {"functionCallingConfig": config}
            elif mode:
                body["toolConfig"] = {"functionCallingConfig": {"mode": mode}}
        generation: dict[str, Any] = {}
        for key, value in (
            ("temperature", request.temperature), ("topP", request.top_p),
            ("maxOutputTokens", request.max_tokens), ("stopSequences", request.stop or None),
        ):  # fmt: skip
            if value is not None:
                generation[key] = value
        fmt = request.response_format
        fmt = {"type": fmt} if isinstance(fmt, str) else fmt if isinstance(fmt, dict) else {}
        if fmt.get("type") in ("json_object", "json_schema"):
            generation["responseMimeType"] = "application/json"
        if fmt.get("type") == "json_schema" and (fmt.get("json_schema") or {}).get("schema"):
            generation["responseJsonSchema"] = _schema(fmt["json_schema"]["schema"])
        if generation:
            body["generationConfig"] = generation
        return body

    def _contents(self, messages: list[ChatMessage], model: str) -> list[dict[str, Any]]:
        contents: list[dict[str, Any]] = []
        names: dict[str, str] = {}  # tool call id -> function name, for results without a name
        for message in messages:
            if message.role == "user":
                _append(contents, "user", _user_parts(message.content))
            elif message.role == "assistant":
                text = _text_of(message.content)
                calls: list[dict[str, Any]] = []
                for call in message.tool_calls:
                    names[call.id] = call.name
                    function_call = {"name": call.name, "args": _arguments(call.arguments)}
                    calls.append({"functionCall": function_call})
                    if call.id in self._signatures:
                        calls[-1]["thoughtSignature"] = self._signatures[call.id]
                unsigned = not any("thoughtSignature" in part for part in calls)
                if calls and unsigned and not _UNSIGNED_MODELS.match(model):
                    calls[0]["thoughtSignature"] = SKIP_SIGNATURE
                _append(contents, "model", ([{"text": text}] if text else []) + calls)
            elif message.role == "tool":
                name = message.name or names.get(message.tool_call_id or "")
                if not name:
                    raise ProviderCallError(
                        f"Provider '{self.name}' needs the function name of every tool result; "
                        f"the result for call '{message.tool_call_id}' has none",
                        code="invalid_prompt",
                    )
                result = {"name": name, "response": {"content": _text_of(message.content)}}
                _append(contents, "user", [{"functionResponse": result}])
        return contents

    def _prepare(self, request: ModelRequest) -> tuple[str, dict[str, Any]]:
        if not self._api_key:
            raise ProviderCallError(
                f"No API key for provider '{self.name}': set {' or '.join(KEY_ENV_VARS)}"
            )
        body, url = self.build_body(request), self.url(request.model)
        return url, body

    def _begin(self) -> _Turn:
        return _Turn()

    def _on_event(self, turn: _Turn, name: str, data: str) -> list[Chunk]:
        return self._chunks(self._decode(data), turn)

    def _on_body(self, turn: _Turn, payload: Any) -> Iterator[Chunk]:
        """The chunks of a whole response (or, without alt=sse, of a JSON array of them)."""
        for item in payload if isinstance(payload, list) else [payload]:
            yield from self._chunks(item, turn)

    def _finish(self, turn: _Turn, streamed: bool) -> list[Chunk]:
        if turn.finish is None:
            raise ProviderCallError(
                f"The response from provider '{self.name}' ended early, before any finishReason",
                retryable=True,
            )
        return turn.end()

    def _chunks(self, payload: Any, turn: _Turn) -> list[Chunk]:
        """The text and call deltas of one response; usage and finish reason wait in `turn`."""
        if not isinstance(payload, dict):
            raise self._malformed(json.dumps(payload))
        if payload.get("error"):
            code = payload["error"].get("code") if isinstance(payload["error"], dict) else None
            status = code if isinstance(code, int) and not isinstance(code, bool) else None
            raise self._error(status, payload, httpx.Headers())
        if isinstance(payload.get("usageMetadata"), dict):
            turn.usage = payload["usageMetadata"]
        candidates = payload.get("candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        if not isinstance(candidate, dict):
            feedback = payload.get("promptFeedback")
            reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
            if reason:
                raise ProviderCallError(
                    f"Provider '{self.name}' blocked the prompt (blockReason {reason})",
                    code="invalid_prompt",
                )
            return []  # a usage-only event, say; a response that never finishes fails later
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        chunks: list[Chunk] = []
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict) or part.get("thought") is True:
                continue  # thought summaries are not part of the answer
            if isinstance(part.get("text"), str) and part["text"]:
                chunks.append(TextDelta(part["text"]))
            call = part.get("functionCall")
            if isinstance(call, dict) and isinstance(call.get("name"), str) and call["name"]:
                call_id = call.get("id")
                if not isinstance(call_id, str) or not call_id:
                    call_id = f"call_{uuid4().hex[:24]}"
                args = call.get("args") if isinstance(call.get("args"), dict) else {}
                chunks.append(ToolCallDelta(turn.calls, call_id, call["name"], json.dumps(args)))
                turn.calls += 1
                if isinstance(part.get("thoughtSignature"), str):
                    self._signatures[call_id] = part["thoughtSignature"]
                    while len(self._signatures) > MAX_SIGNATURES:
                        self._signatures.popitem(last=False)
        if isinstance(candidate.get("finishReason"), str) and candidate["finishReason"]:
            turn.finish = candidate["finishReason"]
        return chunks

    def _status_error(self, response: httpx.Response) -> ProviderCallError:
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if isinstance(payload, list) and payload:  # without alt=sse, errors come in an array
            payload = payload[0]
        return self._error(response.status_code, payload, response.headers, reason_phrase(response))

    def _error(
        self, status: int | None, payload: Any, headers: httpx.Headers, fallback: str = ""
    ) -> ProviderCallError:
        """The error for an HTTP status (None: an error event without a code) and Google's body;
        `fallback` stands for a body without Google's error shape."""
        error = payload.get("error") if isinstance(payload, dict) else None
        vendor = error_text(payload) or fallback
        details = error.get("details") if isinstance(error, dict) else None
        details = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
        retry_after = retry_after_seconds(headers)
        for d in details:
            match = _DURATION.match(str(d.get("retryDelay", "")))
            unset = retry_after is None or retry_after < 0
            if unset and str(d.get("@type")).endswith("RetryInfo") and match:
                retry_after = float(match.group(1))
        return status_error(  # Google answers a wrong key with a 400 and API_KEY_INVALID
            self.name,
            status,
            self._scrub(vendor),
            retry_after=retry_after,
            auth=any(d.get("reason") == "API_KEY_INVALID" for d in details),
        )
