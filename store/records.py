"""Typed records: the rows the runtime reads, decoded once, here in the store.

A claimed run, its steps and messages cross from the store to the runtime as frozen dataclasses,
with JSON columns decoded and statuses as the enums of `store.statuses`, so strict mypy sees every
field the executor and prompt assembly use, and nothing outside the store parses a row.

Dataclasses rather than pydantic models: these rows were written by the store itself and need
no validation, and a claimed run is decoded on every turn of every run, where a dataclass costs a
plain constructor call. (The API's objects, which do need validation and JSON, are the pydantic
models of `store.types`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from store.db import Row
from store.rows import loads, run_dict
from store.statuses import RunStatus, StepStatus


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A finished message of a run's prompt context."""

    id: str
    run_id: str | None
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]
    seq: int

    @classmethod
    def from_row(cls, row: Row) -> MessageRecord:
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            role="assistant" if row["role"] == "assistant" else "user",
            content=loads(row["content"]) or [],
            seq=int(row["seq"]),
        )


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function call of a `tool_calls` step, with its output once submitted."""

    id: str
    name: str
    arguments: str
    output: str | None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A step of a run's prompt context: the message it created, or the function calls it made."""

    id: str
    type: str
    status: StepStatus
    message_id: str | None
    calls: tuple[FunctionCall, ...]
    searches: tuple[str, ...]
    """The ids of the step's `file_search` calls."""
    extensions: dict[str, Any]
    seq: int

    @classmethod
    def from_row(cls, row: Row) -> StepRecord:
        details = loads(row["step_details"]) or {}
        created = details.get("message_creation") or {}
        calls = tuple(
            FunctionCall(
                c["id"],
                c["function"]["name"],
                c["function"]["arguments"],
                c["function"].get("output"),
            )
            for c in details.get("tool_calls") or []
            if c.get("type") == "function"
        )
        return cls(
            id=row["id"],
            type=row["type"],
            status=StepStatus(row["status"]),
            message_id=created.get("message_id"),
            calls=calls,
            searches=tuple(
                c["id"] for c in details.get("tool_calls") or [] if c.get("type") == "file_search"
            ),
            extensions=loads(row["extensions"]) or {},
            seq=int(row["seq"]),
        )


@dataclass(frozen=True, slots=True)
class Context:
    """What a run's prompt is assembled from first: the first page of messages and its steps."""

    messages: list[MessageRecord]
    steps: list[StepRecord]

    @classmethod
    def from_rows(cls, messages: list[Row], steps: list[Row]) -> Context:
        return cls(
            [MessageRecord.from_row(m) for m in messages], [StepRecord.from_row(s) for s in steps]
        )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as its executor reads it: the request it carries and where its log stands."""

    id: str
    project: str
    thread_id: str
    assistant_id: str
    status: RunStatus
    model: str
    instructions: str
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    response_format: Any
    truncation_strategy: dict[str, Any]
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    parallel_tool_calls: bool
    usage: dict[str, int] | None
    extensions: dict[str, Any]
    created_at: int
    expires_at: int | None
    event_seq: int
    context: Context | None = field(default=None, compare=False)
    """The claim read the first page of its context (Postgres); None: read it on demand."""

    @classmethod
    def from_row(cls, row: Row) -> RunRecord:
        decoded = {name: loads(row[name]) for name in _RUN_JSON}
        return cls._of(row, decoded, loads(row["extensions"]) or {})

    @classmethod
    def claimed(cls, row: Row) -> tuple[RunRecord, dict[str, Any]]:
        """A run a claim just took, and its snapshot (`run_dict`) for the `in_progress` event,
        from one decoding of its JSON columns: the snapshot holds those the record reads."""
        extensions = loads(row["extensions"]) or {}
        snapshot = run_dict(row, extensions)
        return cls._of(row, snapshot, extensions), snapshot

    @classmethod
    def _of(cls, row: Row, decoded: dict[str, Any], extensions: dict[str, Any]) -> RunRecord:
        """`decoded`: the row's `_RUN_JSON` columns, decoded."""
        context = None
        if "context_messages" in row:
            context = Context.from_rows(row["context_messages"], row["context_steps"])
        return cls(
            id=row["id"],
            project=row["project"],
            thread_id=row["thread_id"],
            assistant_id=row["assistant_id"],
            status=RunStatus(row["status"]),
            model=row["model"],
            instructions=row["instructions"] or "",
            tools=decoded["tools"] or [],
            tool_choice=decoded["tool_choice"] or "auto",
            response_format=decoded["response_format"],
            truncation_strategy=decoded["truncation_strategy"] or {"type": "auto"},
            temperature=row["temperature"],
            top_p=row["top_p"],
            max_prompt_tokens=row["max_prompt_tokens"],
            max_completion_tokens=row["max_completion_tokens"],
            parallel_tool_calls=bool(row["parallel_tool_calls"]),
            usage=decoded["usage"],
            extensions=extensions,
            created_at=int(row["created_at"]),
            expires_at=row["expires_at"],
            event_seq=int(row["event_seq"]),
            context=context,
        )


_RUN_JSON = ("tools", "tool_choice", "response_format", "truncation_strategy", "usage")
"""The JSON columns a `RunRecord` reads besides `extensions` (which `run_dict` reads too)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A heartbeat's answer for one run the worker still holds."""

    id: str
    status: RunStatus
    cancel_requested: bool
    overdue: bool
    """`expires_at` has passed (database clock)."""

    @classmethod
    def from_row(cls, row: Row) -> Lease:
        return cls(
            id=row["id"],
            status=RunStatus(row["status"]),
            cancel_requested=bool(row["cancel_requested"]),
            overdue=bool(row["overdue"]),
        )


@dataclass(frozen=True, slots=True)
class LapsedRun:
    """A run whose worker's lease has passed: what the sweeper decides its fate from."""

    id: str
    status: RunStatus
    attempts: int
    worker_id: str | None

    @classmethod
    def from_row(cls, row: Row) -> LapsedRun:
        return cls(
            id=row["id"],
            status=RunStatus(row["status"]),
            attempts=int(row["attempts"]),
            worker_id=row["worker_id"],
        )
