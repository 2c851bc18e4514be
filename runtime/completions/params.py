"""A chat-completions request as the engine takes it: checked and normalised.

The checks themselves (OpenAI's wording, the 400 naming a field) are the API's:
`assistants.validation.completions` makes a `CompletionParams` from a request's fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.providers.base import ChatMessage


@dataclass(slots=True)
class CompletionParams:
    """A checked request: what to send, to which models, and how to trace it. Read-only by
    convention (not frozen: a frozen dataclass of this size takes three times as long to make)."""

    model: str
    messages: list[ChatMessage]
    stream: bool = False
    include_usage: bool = True
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    response_format: Any = None
    stop: list[str] | None = None
    timeout: float | None = None
    num_retries: int | None = None
    fallbacks: list[str] = field(default_factory=list)
    provider: str | None = None
    api_key: str | None = None
    api_base: str | None = None
    span_id: str | None = None
    trace: dict[str, Any] = field(default_factory=dict)
    """The trace fields given (`tags`, `user_id`, ... `send_trace`), as given."""
