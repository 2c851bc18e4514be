"""The provider protocol: a model request in, a stream of chunks out.

Every adapter (one file each) turns a `ModelRequest` into its vendor's wire format and the
vendor's (streamed or not) answer into `Chunk`s: text deltas, tool-call deltas, usage, and one
final `Finish`. Errors are `ProviderCallError`s carrying the run's `last_error` code and whether
a retry may help.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias

ErrorCode: TypeAlias = Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
FinishReason: TypeAlias = Literal["stop", "tool_calls", "length", "content_filter"]


@dataclass(frozen=True)
class ToolCall:
    """A complete function call the model asked for."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatMessage:
    """One message of the conversation sent to a model (provider-neutral).

    `role` is system, user, assistant or tool. `content` is text, or a list of OpenAI-style
    content parts (`{"type": "text", "text"}`, `{"type": "image_url", ...}`) for user messages.
    An assistant message may carry `tool_calls`; a tool message answers `tool_call_id`.
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


class RetryBudget:
    """Retries a run may still spend across all its model calls (fallbacks included)."""

    def __init__(self, retries: int) -> None:
        self.remaining = retries

    def take(self) -> bool:
        """Spend one retry; False when none is left."""
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass(frozen=True)
class ModelRequest:
    """What the executor asks of a model, in the terms of the Assistants API."""

    model: str
    messages: list[ChatMessage]
    tools: list[dict[str, Any]] = field(default_factory=list)  # {"type": "function", "function"}
    tool_choice: Any = "auto"  # "auto" | "none" | "required" | {"type": "function", ...}
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    response_format: Any = None  # None/"auto" | {"type": "text"|"json_object"|"json_schema"}
    stop: list[str] | None = None
    timeout: float | None = None  # per attempt; None: the provider's default
    retry_budget: RetryBudget | None = None  # shared by every call of the run; None: unlimited


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of the tool call at `index`; `id` and `name` come with its first fragment."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class UsageChunk:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Finish:
    reason: FinishReason


Chunk: TypeAlias = TextDelta | ToolCallDelta | UsageChunk | Finish


class ProviderCallError(Exception):
    """A model call failed. `code` becomes the run's `last_error.code`."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode = "server_error",
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        usage: UsageChunk | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.usage = usage
        """The tokens the answer reported before it failed (spent, so the run reports them)."""


class Provider(Protocol):
    """A model provider: `stream(request)` yields chunks and ends with exactly one `Finish`."""

    name: str

    def stream(self, request: ModelRequest) -> AsyncGenerator[Chunk, None]: ...
