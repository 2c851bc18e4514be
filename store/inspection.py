"""What the inspector page reads beyond the `/v1` objects: threads by search, a run's status
history and its raw event log, each scoped to one project.

- `threads`: newest first, optionally only those whose id or metadata contains a text (case
  insensitive), each with its latest run's id and status; pages by thread id cursor.
- `transitions`: every status a run passed through, with the database time of each change,
  read from the run's event log (every status change appends its event in the same statement).
- `events`: the raw event log, a page at a time (`after` / `before` a sequence number),
  optionally only events whose name contains a text.

A search or filter may read every thread or event of the project or run: it does so a window of
`WINDOW` rows at a time, each statement a bounded index range, with the event loop running
between windows; nothing here takes a write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import anyio.lowlevel

from store.db import Database, Row
from store.errors import not_found
from store.rows import event_payload, loads

RUN_STATUS_EVENTS: Final = (
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.requires_action",
    "thread.run.cancelling",
    "thread.run.cancelled",
    "thread.run.completed",
    "thread.run.incomplete",
    "thread.run.failed",
    "thread.run.expired",
)
"""The events that record a run's status change (the status is the name's last part)."""
_STATUS_EVENTS_SQL: Final = "(" + ", ".join(f"'{e}'" for e in RUN_STATUS_EVENTS) + ")"
MAX_TRANSITIONS: Final = 1000
"""The most status changes one answer lists (a run pausing for tools 300 times has ~1,200)."""
SEARCH_MAX_CHARS: Final = 200
WINDOW: Final = 1000
"""Rows one statement of a search or filter reads (an index range): the cost of each statement
stays bounded however many threads or events there are."""


@dataclass(frozen=True)
class ThreadSummary:
    id: str
    created_at: int
    metadata: dict[str, Any]
    last_run_id: str | None
    last_run_status: str | None

    def to_dict(self) -> dict[str, Any]:
        last = (
            None
            if self.last_run_id is None
            else {"id": self.last_run_id, "status": self.last_run_status}
        )
        return {
            "id": self.id,
            "object": "thread",
            "created_at": self.created_at,
            "metadata": self.metadata,
            "last_run": last,
        }


@dataclass(frozen=True)
class Transition:
    seq: int
    status: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "status": self.status, "at": self.at}


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    event: str
    at: float
    data: Any

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "event": self.event, "at": self.at, "data": self.data}


@dataclass(frozen=True)
class EventPage:
    data: list[LoggedEvent]
    has_more: bool
    last_seq: int
    """The run's newest sequence number (the log's length when nothing was filtered out)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [e.to_dict() for e in self.data],
            "first_seq": self.data[0].seq if self.data else None,
            "last_seq": self.data[-1].seq if self.data else None,
            "has_more": self.has_more,
            "run_last_seq": self.last_seq,
        }


def _like(text: str) -> str:
    """`text` as a case-folded LIKE pattern matching it anywhere (`%`, `_`, `\\` escaped)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_THREAD_SQL: Final = (
    "SELECT t.id, t.created_at, t.metadata, r.id AS run_id, r.status AS run_status "
    "FROM threads t LEFT JOIN runs r ON r.seq = (SELECT MAX(seq) FROM runs WHERE thread_id = t.id) "
)


class InspectionPart:
    """Read-only views for the inspector, over the shared `Database`.

    Every statement is bounded: a search or a filter reads the data `WINDOW` rows at a time
    (an index range each), letting the event loop run between windows, and takes no lock.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _scan(
        self, sql: str, params: dict[str, Any], *, low: int, high: int, want: int, newest: bool
    ) -> list[Row]:
        """`sql` (bounded by `seq > :lo AND seq <= :hi`, `LIMIT :want`) over windows of `WINDOW`
        sequence numbers from `low` (exclusive) to `high` (inclusive), newest first if `newest`,
        until `want` rows are found."""
        found: list[Row] = []
        while low < high and len(found) < want:
            if newest:
                lo, hi = max(low, high - WINDOW), high
                high = lo
            else:
                lo, hi = low, min(high, low + WINDOW)
                low = hi
            window = {**params, "lo": lo, "hi": hi, "want": want - len(found)}
            found += await self.db.fetch(sql, window)
            await anyio.lowlevel.checkpoint()
        return found

    async def threads(
        self, project: str, *, search: str | None, limit: int, after: str | None
    ) -> tuple[list[ThreadSummary], bool]:
        """Threads newest first (after the thread `after`), with `has_more`; with `search`, only
        those whose id or metadata contains it (case-insensitive)."""
        below: int | None = None
        if after is not None:
            cursor = await self.db.fetchrow(
                "SELECT seq FROM threads WHERE id = :id AND project = :project",
                {"id": after, "project": project},
            )
            if cursor is None:
                raise not_found("thread", after)
            below = int(cursor["seq"])
        if search:
            ids = await self._matching_threads(project, search.lower(), below, limit + 1)
            names = {f"id{i}": thread_id for i, thread_id in enumerate(ids)}
            rows = (
                await self.db.fetch(
                    f"{_THREAD_SQL} WHERE t.id IN ({', '.join(':' + n for n in names)}) "
                    "ORDER BY t.seq DESC",
                    names,
                )
                if ids
                else []
            )
        else:
            params: dict[str, Any] = {"project": project, "limit": limit + 1}
            if below is not None:
                params["below"] = below
            rows = await self.db.fetch(
                f"{_THREAD_SQL} WHERE t.project = :project"
                f"{' AND t.seq < :below' if below is not None else ''} "
                "ORDER BY t.seq DESC LIMIT :limit",
                params,
            )
        summaries = [
            ThreadSummary(
                id=r["id"],
                created_at=r["created_at"],
                metadata=loads(r["metadata"]) or {},
                last_run_id=r["run_id"],
                last_run_status=r["run_status"],
            )
            for r in rows[:limit]
        ]
        return summaries, len(rows) > limit

    async def _matching_threads(
        self, project: str, needle: str, below: int | None, want: int
    ) -> list[str]:
        """Ids of the project's threads (newest first, under seq `below`) whose id or metadata
        text contains `needle`, read `WINDOW` threads at a time."""
        found: list[str] = []
        while len(found) < want:
            params: dict[str, Any] = {"project": project, "window": WINDOW}
            if below is not None:
                params["below"] = below
            window = await self.db.fetch(
                "SELECT id, seq, metadata FROM threads WHERE project = :project"
                f"{' AND seq < :below' if below is not None else ''} "
                "ORDER BY seq DESC LIMIT :window",
                params,
            )
            found += [
                r["id"]
                for r in window
                if needle in r["id"].lower() or needle in (r["metadata"] or "").lower()
            ]
            if len(window) < WINDOW:
                break
            below = int(window[-1]["seq"])
            await anyio.lowlevel.checkpoint()
        return found[:want]

    async def _run_last_seq(self, project: str, run_id: str) -> int:
        row = await self.db.fetchrow(
            "SELECT event_seq FROM runs WHERE id = :id AND project = :project",
            {"id": run_id, "project": project},
        )
        if row is None:
            raise not_found("run", run_id)
        return int(row["event_seq"])

    async def transitions(self, project: str, run_id: str) -> list[Transition]:
        """The run's status changes in order, each with the database time it happened."""
        last_seq = await self._run_last_seq(project, run_id)
        rows = await self._scan(
            "SELECT seq, event, created_at FROM run_events WHERE run_id = :run_id "
            f"AND event IN {_STATUS_EVENTS_SQL} AND seq > :lo AND seq <= :hi "
            "ORDER BY seq LIMIT :want",
            {"run_id": run_id},
            low=0,
            high=last_seq,
            want=MAX_TRANSITIONS,
            newest=False,
        )
        return [
            Transition(seq=r["seq"], status=r["event"].rpartition(".")[2], at=r["created_at"])
            for r in rows
        ]

    async def events(
        self,
        project: str,
        run_id: str,
        *,
        after: int | None,
        before: int | None,
        limit: int,
        name: str | None,
    ) -> EventPage:
        """A page of the run's event log: the first `limit` events after `after`, or the last
        `limit` before `before` (the newest page when `before` is past the end)."""
        last_seq = await self._run_last_seq(project, run_id)
        params: dict[str, Any] = {"run_id": run_id}
        condition = ""
        if name:
            condition = "AND LOWER(event) LIKE :pattern ESCAPE '\\' "
            params["pattern"] = _like(name)
        newest = before is not None and after is None
        rows = await self._scan(
            "SELECT seq, created_at, event, data, data_format FROM run_events "
            f"WHERE run_id = :run_id {condition}AND seq > :lo AND seq <= :hi "
            f"ORDER BY seq {'DESC' if newest else 'ASC'} LIMIT :want",
            params,
            low=after or 0,
            high=last_seq if before is None else min(last_seq, before - 1),
            want=limit + 1,
            newest=newest,
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        if newest:
            rows.reverse()
        events = [
            LoggedEvent(seq=r["seq"], event=r["event"], at=r["created_at"], data=event_payload(r))
            for r in rows
        ]
        return EventPage(data=events, has_more=has_more, last_seq=last_seq)
