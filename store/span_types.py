"""What spans are made of: ids and their checks, the wire models, the records the writer stores.

`store.spans` (the `spans` table's part) writes and reads them; the runtime's tracing builds
`SpanRecord`s and `SpanEnd`s, and the API validates ids and trace fields against the limits here.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from store.errors import BadRequestError
from store.types import Model

SpanKind = Literal["run", "model", "tool", "completion"]
KINDS: tuple[str, ...] = ("run", "model", "tool", "completion")
TRACE_MAX_SPANS = 1000
"""The most spans `trace` returns (the oldest first); `truncated` says when there were more."""
TAGS_MAX = 64
TAG_MAX_LENGTH = 256
TRACE_FIELD_MAX_LENGTH = 256
"""The longest `user_id`, `session_id` or `group_id` accepted."""

SPAN_ID = re.compile(r"sp_[0-9a-f]{16}")
"""A span id's form (whole string), for checks and the OpenAPI document."""
TRACE_ID = re.compile(r"tr_[0-9a-f]{32}")


def new_span_id() -> str:
    return "sp_" + secrets.token_hex(8)


def new_trace_id() -> str:
    return "tr_" + secrets.token_hex(16)


def check_span_id(value: object, param: str = "span_id") -> str:
    """A caller's span id, or a 400 naming `param` and the format."""
    if not isinstance(value, str) or SPAN_ID.fullmatch(value) is None:
        raise BadRequestError(
            f"Invalid '{param}': {value!r}. Expected 'sp_' followed by 16 lowercase hex digits "
            "(e.g. 'sp_1234567890abcdef').",
            param=param,
            code="invalid_value",
        )
    return value


def check_trace_id(value: object, param: str = "trace_id") -> str:
    """A caller's trace id, or a 400 naming `param` and the format."""
    if not isinstance(value, str) or TRACE_ID.fullmatch(value) is None:
        raise BadRequestError(
            f"Invalid '{param}': {value!r}. Expected 'tr_' followed by 32 lowercase hex digits.",
            param=param,
            code="invalid_value",
        )
    return value


class Span(Model):
    """A span as the API shows it (`object: "span"`); times are fractional Unix seconds."""

    id: str
    object: Literal["span"] = "span"
    trace_id: str
    parent_span_id: str | None = None
    kind: SpanKind
    name: str
    status: str
    error: dict[str, Any] | None = None
    started_at: float
    ended_at: float | None = None
    duration_ms: float | None = None
    time_to_first_token_ms: float | None = None
    requested_model: str | None = None
    model: str | None = None
    provider: str | None = None
    usage: dict[str, int] | None = None
    cost: float | None = None
    retries: int = 0
    fallbacks: list[dict[str, Any]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    user_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    group_id: str | None = None
    run_id: str | None = None
    thread_id: str | None = None
    assistant_id: str | None = None
    input: Any = None
    output: Any = None


class Trace(Model):
    """A trace: its spans as a tree (`spans` are the roots, each with `children`)."""

    id: str
    object: Literal["trace"] = "trace"
    started_at: float | None = None
    ended_at: float | None = None
    duration_ms: float | None = None
    usage: dict[str, int]
    cost: float | None = None
    span_count: int
    truncated: bool = False
    spans: list[dict[str, Any]]


@dataclass(slots=True)
class SpanRecord:
    """A span to insert (the writer's unit); JSON fields as Python values."""

    id: str
    project: str
    trace_id: str
    kind: str
    name: str
    status: str
    started_at: float
    parent_span_id: str | None = None
    error: dict[str, Any] | None = None
    ended_at: float | None = None
    time_to_first_token_ms: float | None = None
    requested_model: str | None = None
    model: str | None = None
    provider: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    retries: int = 0
    fallbacks: list[dict[str, Any]] | None = None
    tags: list[str] | None = None
    user_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] | None = None
    group_id: str | None = None
    run_id: str | None = None
    thread_id: str | None = None
    assistant_id: str | None = None
    input: Any = None
    output: Any = None


@dataclass(frozen=True, slots=True)
class SpanEnd:
    """The end of a span already recorded: a run's root span when the run stops, a tool call's
    when its output is submitted (with its `status` and `output`)."""

    id: str
    ended_at: float
    status: str | None = None
    output: Any = None
    span: SpanRecord | None = None
    """The whole span, for exporters (a run's root span, which another process may have
    opened); the store writes only the fields above."""


@dataclass(frozen=True)
class SpanFilter:
    """What `SpanPart.list` selects; every field optional."""

    trace_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    tag: str | None = None
    kind: str | None = None
    since: float | None = None
    until: float | None = None
    run_id: str | None = None
