"""Spans: what each run, model call, tool call and completion did, persisted and queryable.

A span is one unit of traced work. Spans of one trace form a tree through `parent_span_id`:
a run's root span (`kind` "run") holds its model calls ("model") and tool calls ("tool"); a
chat completion is a span of its own ("completion"). Ids are `sp_` + 16 hex digits (a span,
the OpenTelemetry span id in hex) and `tr_` + 32 hex digits (a trace, the OpenTelemetry trace
id in hex); callers may choose them, in that format.

A `parent_span_id` is not checked against the table: a parent may live in another system (an
application's own tracer), so an unknown parent is accepted and the span is a root of the tree
this store shows.

A run's root span stores what the run row does not know (the trace fields, its precise start
and end); its status, error, usage and cost are read from the run itself when the span is read,
so a span can never disagree with the run it describes.

Spans are written in batches by the runtime's background writer (`runtime.tracing`), never on
a run's hot path; reads (`get`, `list`, `trace`) are bounded: point reads and pages of at most
100 (a trace, at most `TRACE_MAX_SPANS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store.db import Database, Row
from store.errors import BadRequestError, not_found
from store.rows import dumps, loads
from store.span_types import TRACE_MAX_SPANS, Span, SpanEnd, SpanFilter, SpanRecord, Trace
from store.types import ListPage

_TERMINAL_RUN = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})


_COLUMNS = (
    "id, project, trace_id, parent_span_id, kind, name, status, error, started_at, ended_at, "
    "time_to_first_token_ms, requested_model, model, provider, prompt_tokens, "
    "completion_tokens, cost, retries, fallbacks, tags, user_id, session_id, metadata, "
    "group_id, run_id, thread_id, assistant_id, input, output"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]
_JSON = frozenset({"error", "fallbacks", "tags", "metadata", "input", "output"})
_INSERT = (
    f"INSERT INTO spans ({_COLUMNS}) VALUES ({', '.join(':' + n for n in _NAMES)}) "
    # A tool span's end may be stored first, by the process that took its output, while the
    # worker that opened it has not written yet: the opening then fills in what only it knew.
    # Any other id already stored keeps its first span.
    "ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, name = excluded.name, "
    "input = excluded.input, metadata = excluded.metadata "
    "WHERE spans.kind = 'tool' AND excluded.kind = 'tool' AND excluded.ended_at IS NULL "
    "AND spans.ended_at IS NOT NULL"
)
_END = (
    "UPDATE spans SET ended_at = :ended_at, status = COALESCE(:status, status), "
    "output = COALESCE(:output, output) WHERE id = :id"
)


def _usage(prompt: int | None, completion: int | None) -> dict[str, int] | None:
    if prompt is None and completion is None:
        return None
    p, c = prompt or 0, completion or 0
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _duration(started: float, ended: float | None) -> float | None:
    return None if ended is None else round((ended - started) * 1000, 3)


def _stopped_at(run: Row, started: float) -> float | None:
    """When the run stopped, by its whole-second timestamps (never before `started`)."""
    stops = [run[k] for k in ("completed_at", "failed_at", "cancelled_at") if run[k]]
    return max(float(max(stops)), started) if stops else None


def span_dict(row: Row, run: Row | None = None) -> dict[str, Any]:
    """The span as the API shows it; a root span's status, error, usage and cost from `run`.

    A tool call still open when its run stopped (cancelled or expired while waiting for the
    output) ends with the run: status `cancelled`.
    """
    ended_at = row["ended_at"]
    status = row["status"]
    error = loads(row["error"])
    usage = _usage(row["prompt_tokens"], row["completion_tokens"])
    cost = row["cost"]
    if run is not None and row["kind"] == "tool":
        if ended_at is None and run["status"] in _TERMINAL_RUN:
            status, ended_at = "cancelled", _stopped_at(run, row["started_at"])
    elif run is not None:
        status = run["status"]
        error = loads(run["last_error"])
        usage = loads(run["usage"])
        cost = (loads(run["extensions"]) or {}).get("cost")
        if status not in _TERMINAL_RUN:
            ended_at = None
        elif ended_at is None:
            ended_at = _stopped_at(run, row["started_at"])
    return {
        "id": row["id"],
        "object": "span",
        "trace_id": row["trace_id"],
        "parent_span_id": row["parent_span_id"],
        "kind": row["kind"],
        "name": row["name"],
        "status": status,
        "error": error,
        "started_at": row["started_at"],
        "ended_at": ended_at,
        "duration_ms": _duration(row["started_at"], ended_at),
        "time_to_first_token_ms": row["time_to_first_token_ms"],
        "requested_model": row["requested_model"],
        "model": row["model"],
        "provider": row["provider"],
        "usage": usage,
        "cost": cost,
        "retries": row["retries"],
        "fallbacks": loads(row["fallbacks"]) or [],
        "tags": loads(row["tags"]) or [],
        "user_id": row["user_id"],
        "session_id": row["session_id"],
        "metadata": loads(row["metadata"]) or {},
        "group_id": row["group_id"],
        "run_id": row["run_id"],
        "thread_id": row["thread_id"],
        "assistant_id": row["assistant_id"],
        "input": loads(row["input"]),
        "output": loads(row["output"]),
    }


def _params(record: SpanRecord) -> dict[str, Any]:
    """The record's columns (JSON ones encoded), read field by field: no deep copies."""
    return {
        name: (dumps(value) if name in _JSON else value)
        for name, value in ((n, getattr(record, n)) for n in _NAMES)
    }


def _ended(end: SpanEnd) -> dict[str, Any] | None:
    """The whole span an end carries, ended, as columns (None if it carries none)."""
    if end.span is None:
        return None
    row = _params(end.span)
    row["ended_at"] = end.ended_at
    if end.status is not None:
        row["status"] = end.status
    if end.output is not None:
        row["output"] = dumps(end.output)
    return row


def _like(text: str) -> str:
    """A LIKE pattern matching `text` literally (escape character `!`)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def tree(spans: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest spans under their parents (`children`, in start order); returns the roots.

    A span whose parent is not among `spans` (it lives elsewhere, or was not kept) is a root.
    """
    nodes = {s["id"]: {**s, "children": []} for s in spans}
    roots: list[dict[str, Any]] = []
    for span in sorted(nodes.values(), key=lambda s: (s["started_at"], s["id"])):
        parent = nodes.get(span["parent_span_id"] or "")
        (parent["children"] if parent is not None else roots).append(span)
    return roots


class SpanPart:
    """The `spans` table: batched writes, point reads, filtered pages, whole traces, pruning."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def write(self, items: Sequence[SpanRecord | SpanEnd]) -> None:
        """Insert new spans, then record ends, in one transaction (one commit a batch).

        A span id already stored keeps its first span (a tool span's opening excepted: see
        `_INSERT`). An end whose span is not stored yet (opened by another process, whose
        writer has not run) stores the whole span it carries, if it carries one.
        """
        inserts = [_params(i) for i in items if isinstance(i, SpanRecord)]
        ends = [i for i in items if isinstance(i, SpanEnd)]
        async with self.db.transaction() as tx:
            if inserts:
                await tx.executemany(_INSERT, inserts)
            for end in ends:
                changed = await tx.execute(
                    _END,
                    {
                        "id": end.id,
                        "ended_at": end.ended_at,
                        "status": end.status,
                        "output": dumps(end.output),
                    },
                )
                whole = _ended(end) if changed == 0 else None
                if whole is not None:
                    await tx.execute(_INSERT, whole)

    async def _with_runs(self, rows: Sequence[Row]) -> list[dict[str, Any]]:
        """Render rows, reading (in one statement) the runs of root spans, for their live
        fields, and of open tool spans, which end with their run."""
        live = [
            r for r in rows if r["kind"] == "run" or (r["kind"] == "tool" and not r["ended_at"])
        ]
        run_ids = sorted({r["run_id"] for r in live if r["run_id"]})
        runs: dict[str, Row] = {}
        if run_ids:
            names = {f"r{i}": rid for i, rid in enumerate(run_ids)}
            found = await self.db.fetch(
                "SELECT id, status, last_error, usage, extensions, completed_at, failed_at, "
                f"cancelled_at FROM runs WHERE id IN ({', '.join(':' + n for n in names)})",
                names,
            )
            runs = {r["id"]: r for r in found}
        return [
            span_dict(r, runs.get(r["run_id"]) if r["kind"] in ("run", "tool") else None)
            for r in rows
        ]

    async def get(self, project: str, span_id: str) -> Span:
        row = await self.db.fetchrow(
            f"SELECT {_COLUMNS} FROM spans WHERE id = :id AND project = :project",
            {"id": span_id, "project": project},
        )
        if row is None:
            raise not_found("span", span_id)
        (span,) = await self._with_runs([row])
        return Span.model_validate(span)

    async def list(
        self, project: str, where: SpanFilter, *, limit: int = 20, after: str | None = None
    ) -> ListPage[Span]:
        """The newest spans first, `limit` a page, from after the span `after`."""
        conditions = ["project = :project"]
        args: dict[str, Any] = {"project": project}
        for name in ("trace_id", "session_id", "user_id", "kind", "run_id"):
            value = getattr(where, name)
            if value is not None:
                conditions.append(f"{name} = :{name}")
                args[name] = value
        if where.tag is not None:
            conditions.append("tags LIKE :tag ESCAPE '!'")
            args["tag"] = f"%{_like(dumps(where.tag) or '')}%"
        if where.since is not None:
            conditions.append("started_at >= :since")
            args["since"] = where.since
        if where.until is not None:
            conditions.append("started_at < :until")
            args["until"] = where.until
        if after is not None:
            cursor = await self.db.fetchrow(
                "SELECT seq FROM spans WHERE id = :id AND project = :project",
                {"id": after, "project": project},
            )
            if cursor is None:
                raise BadRequestError(
                    f"Invalid 'after': no object with id '{after}' in this list. Use the id of "
                    "an item from the previous page.",
                    param="after",
                    code="invalid_value",
                )
            conditions.append("seq < :after_seq")
            args["after_seq"] = cursor["seq"]
        args["limit_plus_one"] = limit + 1
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM spans WHERE {' AND '.join(conditions)} "
            "ORDER BY seq DESC LIMIT :limit_plus_one",
            args,
        )
        has_more = len(rows) > limit
        data = [Span.model_validate(s) for s in await self._with_runs(rows[:limit])]
        return ListPage[Span](
            data=data,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
            has_more=has_more,
        )

    async def trace(self, project: str, trace_id: str) -> Trace:
        """The trace's spans as a tree, with its totals; a 404 when it has none here."""
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM spans WHERE trace_id = :trace_id AND project = :project "
            "ORDER BY seq LIMIT :limit",
            {"trace_id": trace_id, "project": project, "limit": TRACE_MAX_SPANS + 1},
        )
        if not rows:
            raise not_found("trace", trace_id)
        truncated = len(rows) > TRACE_MAX_SPANS
        spans = await self._with_runs(rows[:TRACE_MAX_SPANS])
        calls = [s for s in spans if s["kind"] in ("model", "completion") and s["usage"]]
        prompt = sum(s["usage"]["prompt_tokens"] for s in calls)
        completion = sum(s["usage"]["completion_tokens"] for s in calls)
        costs = [s["cost"] for s in spans if s["kind"] in ("model", "completion") and s["cost"]]
        started = min(s["started_at"] for s in spans)
        ends = [s["ended_at"] for s in spans]
        ended = None if None in ends else max(e for e in ends if e is not None)
        return Trace(
            id=trace_id,
            started_at=started,
            ended_at=ended,
            duration_ms=_duration(started, ended),
            usage={
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            cost=round(sum(costs), 8) if costs else None,
            span_count=len(spans),
            truncated=truncated,
            spans=tree(spans),
        )

    async def prune(self, before: float, *, project: str | None = None) -> int:
        """Delete the spans that started before `before` (Unix seconds); returns how many."""
        sql = "DELETE FROM spans WHERE started_at < :before"
        args: dict[str, Any] = {"before": before}
        if project is not None:
            sql += " AND project = :project"
            args["project"] = project
        async with self.db.transaction(heavy=True) as tx:
            return await tx.execute(sql, args)
