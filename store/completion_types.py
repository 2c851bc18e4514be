"""Chat completions in OpenAI's wire shapes: `chat.completion` and `chat.completion.chunk`.

What `client.chat.completions.create(...)` returns and `POST /v1/chat/completions` sends, the
same for every provider. Besides OpenAI's fields, each object carries this runtime's extensions,
which the openai SDK's models keep as extra attributes: `provider` (which provider answered),
`cost` (USD, when the `prices` setting covers the model), `latency_ms`, `span_id`,
`fallbacks_failed` (the models tried first, each with its error), and the trace fields the
request gave (`tags`, `user_id`, `session_id`, `group_id`, `trace_id`, `parent_span_id`,
`metadata`, `send_trace`, `store_content`), echoed. In a stream, the extensions ride on the
last chunk (the usage chunk).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from store.types import Model, OmitNone

CompletionFinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter"]


class CompletionFunction(Model):
    name: str
    arguments: str


class CompletionToolCall(Model):
    id: str
    type: Literal["function"] = "function"
    function: CompletionFunction


class CompletionMessage(Model):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[CompletionToolCall] | None = None


class CompletionChoice(Model):
    index: int = 0
    message: CompletionMessage
    finish_reason: CompletionFinishReason
    logprobs: None = None


class CompletionUsage(Model):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class FailedModel(Model):
    """A model of the fallback chain that failed before another answered."""

    model: str
    code: str
    error: str


class ChatCompletion(Model):
    """A whole answer: `{"id": "chatcmpl-...", "object": "chat.completion", ...}`."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    provider: str | None = None
    cost: float | None = None
    latency_ms: float | None = None
    span_id: str | None = None
    fallbacks_failed: list[FailedModel] | None = None


class ChunkFunction(OmitNone):
    name: str | None = None
    arguments: str | None = None


class ChunkToolCall(OmitNone):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChunkFunction | None = None


class ChunkDelta(OmitNone):
    """What one chunk adds; unset keys are left out, as OpenAI sends them."""

    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChunkToolCall] | None = None


class ChunkChoice(Model):
    index: int = 0
    delta: ChunkDelta
    finish_reason: CompletionFinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(OmitNone):
    """One piece of a streamed answer, in OpenAI's delta format.

    The last chunk of a stream has no choices and carries the `usage` and the extensions.
    """

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    provider: str | None = None
    cost: float | None = None
    latency_ms: float | None = None
    span_id: str | None = None
    fallbacks_failed: list[FailedModel] | None = None
