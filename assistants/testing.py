"""Test doubles for models, for your unit tests (and ours).

Register them by name and use that name as the model:

    model = ScriptedModel(["Hello!", [tool_call("get_weather", city="Paris")], "Sunny."])
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:",
                           providers={"scripted": model}) as client:
        assistant = await client.assistants.create(model="scripted", tools=[...])

- `ScriptedModel(turns)` plays back one turn per model call: a string is a text answer, a list of
  `tool_call(...)` is a set of (parallel) function calls, an exception is raised as the call's
  failure. Every request it received is kept in `.requests`.
- `FunctionModel(fn)` answers with `fn(request)`: a string, a list of tool calls, or an async
  iterator of chunks (`TextDelta`, `ToolCallDelta`, `UsageChunk`, `Finish`) for full control over
  streaming (pauses, failures mid-stream).

Both report usage and stream text in several deltas, like the built-in `test` model.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from runtime.providers.base import (
    Chunk,
    Finish,
    ModelRequest,
    ProviderCallError,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.testmodel import estimate_tokens
from store import ids

__all__ = [
    "Finish",
    "FunctionModel",
    "ModelRequest",
    "ProviderCallError",
    "ScriptedModel",
    "TextDelta",
    "ToolCallDelta",
    "UsageChunk",
    "tool_call",
]


@dataclass(frozen=True)
class PlannedCall:
    """A function call a scripted model will make."""

    name: str
    arguments: str
    id: str | None = None


def tool_call(name: str, arguments: str | None = None, /, **kwargs: Any) -> PlannedCall:
    """A planned function call: `tool_call("f", city="Paris")` or `tool_call("f", '{"raw": 1}')`."""
    return PlannedCall(name, arguments if arguments is not None else json.dumps(kwargs))


Turn: TypeAlias = str | Sequence[PlannedCall] | BaseException


async def play(turn: Turn, request: ModelRequest) -> AsyncGenerator[Chunk, None]:
    """The chunks of one scripted turn."""
    if isinstance(turn, BaseException):
        raise turn
    prompt = sum(estimate_tokens(str(m.content or "")) for m in request.messages)
    if isinstance(turn, str):
        words = turn.split(" ")
        for i, word in enumerate(words):
            yield TextDelta(word if i == 0 else " " + word)
        yield UsageChunk(prompt_tokens=prompt, completion_tokens=estimate_tokens(turn))
        yield Finish("stop")
        return
    completion = 0
    for index, call in enumerate(turn):
        half = len(call.arguments) // 2
        yield ToolCallDelta(
            index=index,
            id=call.id or ids.new_id("call"),
            name=call.name,
            arguments=call.arguments[:half],
        )
        yield ToolCallDelta(index=index, arguments=call.arguments[half:])
        completion += estimate_tokens(call.name + call.arguments)
    yield UsageChunk(prompt_tokens=prompt, completion_tokens=completion)
    yield Finish("tool_calls")


class ScriptedModel:
    """Plays back `turns`, one per model call; raises when they run out."""

    def __init__(self, turns: Sequence[Turn], *, name: str = "scripted") -> None:
        self.name = name
        self.turns = list(turns)
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncGenerator[Chunk, None]:
        self.requests.append(request)
        if not self.turns:
            raise ProviderCallError(f"The scripted model {self.name!r} has no turns left.")
        turn = self.turns.pop(0)
        async with contextlib.aclosing(play(turn, request)) as chunks:
            async for chunk in chunks:
                yield chunk


Answer: TypeAlias = str | Sequence[PlannedCall] | AsyncIterator[Chunk]


class FunctionModel:
    """Answers each call with `fn(request)` (sync or async; see the module docstring)."""

    def __init__(
        self,
        fn: Callable[[ModelRequest], Answer | Awaitable[Answer]],
        *,
        name: str = "function",
    ) -> None:
        self.name = name
        self.fn = fn
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncGenerator[Chunk, None]:
        self.requests.append(request)
        answer = self.fn(request)
        if isinstance(answer, Awaitable):
            answer = await answer
        if isinstance(answer, AsyncIterator):
            async for chunk in answer:
                yield chunk
            return
        async with contextlib.aclosing(play(answer, request)) as chunks:
            async for chunk in chunks:
                yield chunk
