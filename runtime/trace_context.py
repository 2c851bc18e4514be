"""A run's trace context: the trace fields runs and threads accept (checked in OpenAI's
wording), what a run keeps of them in its `extensions` when it is created, and `RunTrace`,
read back from them, which builds the run's spans. The writer is `runtime.tracing`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from runtime.settings import Settings
from store import span_types as sp
from store.errors import BadRequestError
from store.records import RunRecord
from store.span_types import SpanRecord

TRACE_FIELDS = (
    "tags",
    "user_id",
    "session_id",
    "group_id",
    "trace_id",
    "parent_span_id",
    "store_content",
    "send_trace",
)
"""The trace fields runs accept (extension fields: keyword-only in Python, `extra_body` over
HTTP); threads accept `THREAD_TRACE_FIELDS`."""


def _string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise BadRequestError(
            f"Invalid type for '{param}': expected a string, but got {type(value).__name__}.",
            param=param,
            code="invalid_type",
        )
    if len(value) > sp.TRACE_FIELD_MAX_LENGTH or "\x00" in value:
        raise BadRequestError(
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{sp.TRACE_FIELD_MAX_LENGTH}, but got a string with length {len(value)} instead.",
            param=param,
            code="string_above_max_length",
        )
    return value


def _tags(value: object, param: str = "tags") -> list[str]:
    if not isinstance(value, list | tuple):
        raise BadRequestError(
            f"Invalid type for '{param}': expected an array of strings, but got "
            f"{type(value).__name__}.",
            param=param,
            code="invalid_type",
        )
    if len(value) > sp.TAGS_MAX:
        raise BadRequestError(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{sp.TAGS_MAX}, but got an array with length {len(value)} instead.",
            param=param,
            code="array_above_max_length",
        )
    out: list[str] = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str):
            raise BadRequestError(
                f"Invalid type for '{param}[{i}]': expected a string, but got "
                f"{type(tag).__name__}.",
                param=f"{param}[{i}]",
                code="invalid_type",
            )
        if not tag or len(tag) > sp.TAG_MAX_LENGTH or "\x00" in tag:
            raise BadRequestError(
                f"Invalid '{param}[{i}]': expected a non-empty string with maximum length "
                f"{sp.TAG_MAX_LENGTH}, but got a string with length {len(tag)} instead.",
                param=f"{param}[{i}]",
                code="invalid_value",
            )
        if tag not in out:
            out.append(tag)
    return out


def _boolean(value: object, param: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequestError(
            f"Invalid type for '{param}': expected a boolean, but got {type(value).__name__}.",
            param=param,
            code="invalid_type",
        )
    return value


def check_trace_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The given trace fields of a request, validated (absent and None ones left out)."""
    out: dict[str, Any] = {}
    if fields.get("tags") is not None:
        out["tags"] = _tags(fields["tags"])
    for name in ("user_id", "session_id", "group_id"):
        if fields.get(name) is not None:
            out[name] = _string(fields[name], name)
    if fields.get("trace_id") is not None:
        out["trace_id"] = sp.check_trace_id(fields["trace_id"])
    if fields.get("parent_span_id") is not None:
        out["parent_span_id"] = sp.check_span_id(fields["parent_span_id"], "parent_span_id")
    for name in ("store_content", "send_trace"):
        if fields.get(name) is not None:
            out[name] = _boolean(fields[name], name)
    return out


THREAD_TRACE_FIELDS = ("tags", "user_id", "session_id")
"""The trace fields a thread keeps for the runs on it (each run may set its own instead)."""


def check_thread_trace_fields(
    fields: dict[str, Any], prefix: str = "", *, clearing: bool = False
) -> dict[str, Any]:
    """A thread's given trace fields, validated as a run's are (`prefix` names the body they
    came in, "thread." for create_and_run). Absent ones are left out; a None one too, unless
    `clearing` (an update), where it stays None: the field is removed."""
    out: dict[str, Any] = {}
    for name in THREAD_TRACE_FIELDS:
        value = fields.get(name)
        if value is None:
            if clearing and name in fields:
                out[name] = None
        elif name == "tags":
            out[name] = _tags(value, f"{prefix}{name}")
        else:
            out[name] = _string(value, f"{prefix}{name}")
    return out


def run_trace_extensions(
    fields: dict[str, Any], inherited: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The extension fields that make a run traceable: its trace and root span ids, its trace
    fields (the request's, else the thread's `inherited`) and when it started, precisely."""
    merged = {**(inherited or {}), **fields}
    ext: dict[str, Any] = {
        "trace_id": merged.get("trace_id") or sp.new_trace_id(),
        "span_id": sp.new_span_id(),
    }
    for name in ("tags", "user_id", "session_id", "group_id"):
        if merged.get(name):
            ext[name] = merged[name]
    ext["trace"] = {
        "parent": merged.get("parent_span_id"),
        "started": time.time(),
        "store_content": merged.get("store_content"),
        "send": merged.get("send_trace", True),
    }
    return ext


@dataclass(frozen=True)
class RunTrace:
    """A run's trace context, read from its row."""

    trace_id: str
    span_id: str
    project: str
    run_id: str
    thread_id: str
    assistant_id: str
    tags: list[str] | None
    user_id: str | None
    session_id: str | None
    store_content: bool
    started: float
    model: str | None = None
    group_id: str | None = None
    parent_span_id: str | None = None

    @classmethod
    def of(cls, run: RunRecord, settings: Settings) -> RunTrace | None:
        """The context of a claimed run; None when it is not traced."""
        return cls.from_extensions(
            run.extensions,
            settings,
            project=run.project,
            run_id=run.id,
            thread_id=run.thread_id,
            assistant_id=run.assistant_id,
            created_at=run.created_at,
            model=run.model,
        )

    @classmethod
    def from_extensions(
        cls,
        ext: dict[str, Any],
        settings: Settings,
        *,
        project: str,
        run_id: str,
        thread_id: str,
        assistant_id: str,
        created_at: float,
        model: str | None = None,
    ) -> RunTrace | None:
        """The context kept in a run's `extensions`; None when the run is not traced (made
        before tracing existed, with `send_trace=False`, or with the `tracing` setting off)."""
        trace = ext.get("trace")
        if not settings.tracing or not isinstance(trace, dict) or not trace.get("send", True):
            return None
        content = trace.get("store_content")
        return cls(
            trace_id=ext["trace_id"],
            span_id=ext["span_id"],
            project=project,
            run_id=run_id,
            thread_id=thread_id,
            assistant_id=assistant_id,
            tags=ext.get("tags"),
            user_id=ext.get("user_id"),
            session_id=ext.get("session_id"),
            store_content=settings.trace_store_content if content is None else bool(content),
            started=float(trace.get("started") or created_at),
            model=model,
            group_id=ext.get("group_id"),
            parent_span_id=trace.get("parent"),
        )

    def span(self, **fields: Any) -> SpanRecord:
        """A child span of the run's root, carrying the run's trace fields."""
        fields.setdefault("id", sp.new_span_id())
        return SpanRecord(
            project=self.project,
            trace_id=self.trace_id,
            parent_span_id=self.span_id,
            tags=self.tags,
            user_id=self.user_id,
            session_id=self.session_id,
            group_id=self.group_id,
            run_id=self.run_id,
            thread_id=self.thread_id,
            assistant_id=self.assistant_id,
            **fields,
        )

    def tool_span_id(self, call_id: str) -> str:
        """The span id of the run's tool call `call_id`: derived, so that whoever submits the
        output (any process) ends the span the worker opened."""
        digest = hashlib.sha256(f"{self.span_id}:{call_id}".encode()).hexdigest()
        return "sp_" + digest[:16]

    def root(self) -> SpanRecord:
        """The run's root span (its status, usage and cost are read from the run)."""
        return SpanRecord(
            id=self.span_id,
            project=self.project,
            trace_id=self.trace_id,
            parent_span_id=self.parent_span_id,
            kind="run",
            name=f"invoke_agent {self.assistant_id}",
            status="queued",
            started_at=self.started,
            requested_model=self.model,
            group_id=self.group_id,
            tags=self.tags,
            user_id=self.user_id,
            session_id=self.session_id,
            run_id=self.run_id,
            thread_id=self.thread_id,
            assistant_id=self.assistant_id,
        )
