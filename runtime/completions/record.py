"""What the engine tells observers once a call is over: a `FinishedCall` per call.

A sink is a callable registered with `Completions.add_sink`; the engine calls each sink once per
call, after the last chunk (or the error), and awaits what it returns if that is awaitable (an
`async def` sink), shielded from cancellation. A sink that has nothing to wait for returns None
and costs the call no await. A sink that raises is logged (`completion_sink_failed`) and never
changes the caller's answer. The tracing layer records a span per call this way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from runtime.providers.base import ChatMessage
from store.completion_types import ChatCompletion
from store.errors import APIError

CallStatus: TypeAlias = Literal["completed", "failed", "cancelled"]


@dataclass(frozen=True)
class FinishedCall:
    """One stateless model call, over: what was asked, who answered, what it cost."""

    project: str
    span_id: str
    status: CallStatus
    """`completed`; `failed` (see `error`); `cancelled`: the caller stopped reading a stream."""
    requested_model: str
    model: str | None
    """The `provider/model` that answered (None if none did)."""
    provider: str | None
    messages: list[ChatMessage]
    """The messages sent, variables filled."""
    output: ChatCompletion | None
    """The answer (assembled, for a stream); None unless `completed`."""
    error: APIError | None
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    """USD, when the `prices` setting covers the model."""
    latency_ms: float
    started_at: float
    """Epoch seconds."""
    stream: bool
    fallbacks_failed: list[dict[str, str]] = field(default_factory=list)
    trace: dict[str, Any] = field(default_factory=dict)
    """The request's trace fields (`tags`, `user_id`, ..., `send_trace`), as given."""


Sink: TypeAlias = Callable[[FinishedCall], Awaitable[None] | None]
