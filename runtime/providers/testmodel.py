"""The built-in `test` model: a deterministic, offline test double (not a language model).

Documented behaviour, which tests, demos and conformance runs rely on:

- Function tools available, `tool_choice` not "none", and a user message last: it calls a tool,
  with arguments valid against that tool's JSON schema. Which tool: the named `tool_choice`;
  else every tool whose name appears in the last user message (several at once when
  `parallel_tool_calls` is on, else the first of them); else the first function tool.
- The `file_search` tool present (a run with `{"type": "file_search"}`): it calls it, with the
  last user message as the `query`; the runtime's results come back as its tool outputs, so the
  answer quotes the retrieved passages with their `【r:i†file】` markers (which become
  `file_citation` annotations).
- After tool outputs (tool messages last): it answers with text containing every output verbatim:
  `Tool results: <output 1>; <output 2>`.
- Otherwise: it answers with text containing the last user message verbatim: `You said: <text>`.
- Text arrives in several deltas (one per word), tool-call arguments in several fragments; usage
  is reported (about one token per four characters); `max_tokens` cuts the answer with finish
  reason "length".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncGenerator
from typing import Any

import anyio

from runtime.providers.base import (
    ChatMessage,
    Chunk,
    Finish,
    ModelRequest,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)


def estimate_tokens(text: str) -> int:
    """About one token per four characters (at least one for non-empty text)."""
    return (len(text) + 3) // 4


def _text_of(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if not message.content:
        return ""
    return " ".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")


def example_for_schema(schema: Any) -> Any:
    """A value valid against a (reasonable) JSON schema: what the `test` model passes to tools."""
    if not isinstance(schema, dict):
        return {}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_for_schema(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props: dict[str, Any] = schema.get("properties") or {}
        return {name: example_for_schema(sub) for name, sub in props.items()}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [example_for_schema(schema.get("items", {})) for _ in range(count)]
    if kind == "string":
        fmt = schema.get("format")
        value = {
            "date-time": "2026-01-01T00:00:00Z",
            "date": "2026-01-01",
            "email": "a@example.com",
            "uri": "https://example.com",
            "uuid": "00000000-0000-4000-8000-000000000000",
        }.get(fmt or "", "example")
        min_len = int(schema.get("minLength", 0))
        if len(value) < min_len:
            value = value + "x" * (min_len - len(value))
        max_len = schema.get("maxLength")
        return value[: int(max_len)] if max_len is not None else value
    if kind in ("integer", "number"):
        if "minimum" in schema:
            value = schema["minimum"]
        elif "exclusiveMinimum" in schema:
            value = schema["exclusiveMinimum"] + 1
        else:
            value = min(1, schema.get("maximum", 1))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {}


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class TestModel:
    """The `test` provider. `delay` (seconds) waits before answering (for benchmarks)."""

    __test__ = False  # not a pytest test class
    name = "test"

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay

    def _choose_tools(self, request: ModelRequest, last_user: str) -> list[dict[str, Any]]:
        functions = [t["function"] for t in request.tools if t.get("type") == "function"]
        if not functions or request.tool_choice == "none":
            return []
        choice = request.tool_choice
        if isinstance(choice, dict) and choice.get("type") == "function":
            named = [f for f in functions if f["name"] == choice["function"]["name"]]
            return named[:1]
        searching = [f for f in functions if f["name"] == "file_search"]
        if searching:  # the file_search tool: search for the user's message
            return searching
        mentioned = [f for f in functions if f["name"] in last_user]
        if mentioned:
            return mentioned if request.parallel_tool_calls else mentioned[:1]
        return functions[:1]

    async def stream(self, request: ModelRequest) -> AsyncGenerator[Chunk, None]:
        if self.delay:
            await anyio.sleep(self.delay)
        prompt = " ".join(_text_of(m) for m in request.messages)
        prompt_tokens = estimate_tokens(prompt)
        last = request.messages[-1] if request.messages else None
        if last is not None and last.role == "tool":
            outputs = []
            for m in reversed(request.messages):
                if m.role != "tool":
                    break
                outputs.append(_text_of(m))
            text = "Tool results: " + "; ".join(reversed(outputs))
        else:
            last_user = _text_of(last) if last is not None and last.role == "user" else ""
            calls = (
                self._choose_tools(request, last_user)
                if last is not None and last.role == "user"
                else []
            )
            if calls:
                completion = 0
                for index, fn in enumerate(calls):
                    arguments = json.dumps(
                        {"query": last_user}
                        if fn["name"] == "file_search"
                        else example_for_schema(fn.get("parameters") or {})
                    )
                    digest = hashlib.sha256(f"{prompt}|{index}|{fn['name']}".encode()).hexdigest()
                    pieces = _chunks(arguments, 8)
                    yield ToolCallDelta(
                        index=index, id=f"call_{digest[:24]}", name=fn["name"], arguments=pieces[0]
                    )
                    for piece in pieces[1:]:
                        yield ToolCallDelta(index=index, arguments=piece)
                    completion += estimate_tokens(fn["name"] + arguments)
                yield UsageChunk(prompt_tokens=prompt_tokens, completion_tokens=completion)
                yield Finish("tool_calls")
                return
            text = f"You said: {last_user}" if last_user else "Hello."
        words = text.split(" ")
        budget = request.max_tokens
        used = 0
        finish: Any = "stop"
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            cost = estimate_tokens(piece)
            if budget is not None and used + cost > budget:
                finish = "length"
                break
            used += cost
            yield TextDelta(piece)
        yield UsageChunk(prompt_tokens=prompt_tokens, completion_tokens=used)
        yield Finish(finish)
