"""Shared pieces of the store: clock, pagination, the run event log, commit notifications."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from store.db import Database, Row, Tx
from store.errors import BadRequestError, DatabaseUnavailableError
from store.log import get_logger
from store.notify import QUEUE, Notifier
from store.rows import dumps_logged, loads, render_snapshot
from store.statuses import ACTIVE_SQL, POLL_STOP
from store.types import ListPage, Model, RunEvent

M = TypeVar("M", bound=Model)
_log = get_logger("assistants.store")

ACTIVE = ACTIVE_SQL  # `status IN ACTIVE`: the statuses one thread may have one run in
PROCESS_TOKEN = f"{os.getpid()}-{secrets.token_hex(4)}"
"""Identifies this process's own notifications, which it ignores when they come back."""
# Postgres NOTIFY channels: changes of runs (for pollers and streams in other processes), and
# the subset that is work (a run queued, a cancel requested) for worker-only processes, which
# would otherwise wake for every event of every run.
RUNS_CHANNEL = "assistants"
WORK_CHANNEL = "assistants_work"
POLLER_EVENTS = frozenset(f"thread.run.{status.value}" for status in POLL_STOP)
"""A run's stops: what pollers wait for (`POLL_STOP`), always announced. Other
appends are announced only while a stream in another process follows the run (`followers`):
each NOTIFY costs every listening backend a wake-up, and Postgres serialises notifying commits."""


@dataclass(frozen=True)
class Logged:
    """An event a Postgres statement appends (`StoreBase._fused`): a payload built in Python,
    or (`data` None) the snapshot of the row that the statement's CTE `row` changed."""

    name: str
    data: dict[str, Any] | None = None
    row: str | None = None


def _notify_sql(flags: str, *, followed: str | None = None) -> str:
    """The `pg_notify` calls (a select list, `:payload` their text) for a change with `flags`;
    with `followed` (a SQL condition), the runs-channel one is sent only if it holds."""
    sql = f"pg_notify('{RUNS_CHANNEL}', CAST(:payload AS text))"
    if followed is not None:
        sql = f"CASE WHEN {followed} THEN {sql} END"
    if flags:
        sql += f", pg_notify('{WORK_CHANNEL}', CAST(:payload AS text))"
    return sql


def now() -> int:
    """The API's clock: integer Unix seconds."""
    return int(time.time())


class StoreBase:
    """State shared by the store's parts: the database and the commit notifier."""

    def __init__(self, db: Database, notifier: Notifier | None = None) -> None:
        self.db = db
        self.notifier = notifier or Notifier()

    async def _page(
        self,
        *,
        table: str,
        columns: str,
        scope: str,
        params: dict[str, Any],
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
        convert: Callable[[Row], M],
    ) -> ListPage[M]:
        """One page by `seq` (insertion order, the `created_at` order with a stable tiebreak).

        Walks the `(scope, seq)` index from the cursor: no OFFSET, no scan, the same cost on page
        one and page five hundred.
        """
        forward = before is None
        conditions = [scope]
        args = dict(params)
        cursor_sql = f"(SELECT seq FROM {table} WHERE id = :{{name}} AND {scope})"
        if after is not None:
            op = "<" if order == "desc" else ">"
            conditions.append(f"seq {op} " + cursor_sql.format(name="after_id"))
            args["after_id"] = after
        if before is not None:
            op = ">" if order == "desc" else "<"
            conditions.append(f"seq {op} " + cursor_sql.format(name="before_id"))
            args["before_id"] = before
        ascending = (order == "asc") == forward
        sql = (
            f"SELECT {columns} FROM {table} WHERE {' AND '.join(conditions)} "
            f"ORDER BY seq {'ASC' if ascending else 'DESC'} LIMIT :limit_plus_one"
        )
        args["limit_plus_one"] = limit + 1
        rows = await self.db.fetch(sql, args)
        if not rows:
            await self._check_cursors(table, scope, params, after=after, before=before)
        has_more = len(rows) > limit
        rows = rows[:limit]
        if not forward:
            rows.reverse()
        data = [convert(r) for r in rows]
        return ListPage[M](
            data=data,
            first_id=data[0].id if data else None,  # type: ignore[attr-defined]
            last_id=data[-1].id if data else None,  # type: ignore[attr-defined]
            has_more=has_more,
        )

    async def _check_cursors(
        self,
        table: str,
        scope: str,
        params: dict[str, Any],
        *,
        after: str | None,
        before: str | None,
    ) -> None:
        for name, value in (("after", after), ("before", before)):
            if value is None:
                continue
            row = await self.db.fetchrow(
                f"SELECT 1 AS found FROM {table} WHERE id = :cursor AND {scope}",
                {**params, "cursor": value},
            )
            if row is None:
                raise BadRequestError(
                    f"Invalid '{name}': no object with id '{value}' in this list. Use the id of "
                    "an item from the previous page.",
                    param=name,
                    code="invalid_value",
                )

    async def _append_events(
        self,
        tx: Tx,
        run_id: str,
        events: Sequence[tuple[str, dict[str, Any]]],
        *,
        prepublished: int = 0,
    ) -> int:
        """Append `events` to the run's log with the next sequence numbers; return the last one.

        Called inside the transaction that made the change the events describe, so the log and
        the rows can never disagree. Subscribers are woken after the commit (`_notify`).
        """
        if self.db.dialect == "postgresql":
            last = await self._append_events_pg(tx, run_id, events, prepublished=prepublished)
            assert last is not None, run_id
            return last
        row = await tx.fetchrow(
            "UPDATE runs SET event_seq = event_seq + :n WHERE id = :id RETURNING event_seq",
            {"n": len(events), "id": run_id},
        )
        assert row is not None, run_id
        last = int(row["event_seq"])
        await self._insert_events(
            tx, run_id, last - len(events) + 1, events, prepublished=prepublished
        )
        return last

    async def _append_events_pg(
        self,
        tx: Tx | None,
        run_id: str,
        events: Sequence[tuple[str, dict[str, Any]]],
        *,
        guard: str = "",
        params: dict[str, Any] | None = None,
        prepublished: int = 0,
    ) -> int | None:
        """`_append_events` on Postgres in one statement (one round trip instead of three):
        advance the run's sequence (only if `guard`, more SQL conditions on the run, holds),
        insert the events and send the NOTIFY. None when the run did not match. Without `tx`
        the statement commits on its own."""
        row = await self._fused(
            tx,
            run_id,
            f"UPDATE runs SET event_seq = event_seq + :n WHERE id = :id{guard} "
            "RETURNING event_seq, followers",
            [],
            [Logged(name, data) for name, data in events],
            params or {},
            prepublished=prepublished,
        )
        return None if row is None else int(row["event_seq"])

    async def _fused(
        self,
        tx: Tx | None,
        run_id: str,
        run_update: str,
        ctes: Sequence[str],
        events: Sequence[Logged],
        params: dict[str, Any],
        *,
        prepublished: int = 0,
        select: str = "",
    ) -> Row | None:
        """One Postgres statement: `WITH r AS (run_update), <ctes>, <append events> SELECT ...`.

        `run_update` updates the run (and guards the change): it must add `:n`, the number of
        events, to `event_seq` and return `event_seq` and `followers`, plus `j`, the run's
        snapshot, if an event logs it. Each of `ctes` (`name AS (...)`) makes its change only
        `FROM r` or `EXISTS (SELECT 1 FROM r)`, so nothing changes when the run did not match,
        and returns `j` if an event logs its row. The events follow the run's last sequence
        number; the NOTIFY for the run goes out at commit if they include a stop or a queueing,
        or if the run has followers (see `POLLER_EVENTS`). Returns `event_seq` and `<cte>_j` for
        every CTE whose row is logged (and `select`, more of the answer), or None; the events
        after the first `prepublished` reach this process's live subscribers once committed (at
        once without `tx`: the statement commits on its own).
        """
        sources = sorted({e.row for e in events if e.row is not None})
        pick = " ".join(
            f"WHEN '{src}' THEN " + ("r.j" if src == "r" else f"(SELECT j FROM {src})")
            for src in sources
        )
        flags = "q" if any(e.name == "thread.run.queued" for e in events) else ""
        stops = flags or any(e.name in POLLER_EVENTS for e in events)
        sql = (
            f"WITH r AS ({run_update}), "
            + "".join(f"{cte}, " for cte in ctes)
            + "ins AS (INSERT INTO run_events (run_id, seq, created_at, event, data, data_format) "
            "SELECT CAST(:id AS text), CAST(r.event_seq - :n + e.ord AS integer), "
            "CAST(:created AS double precision), e.event, "
            + (f"COALESCE(e.data, CASE e.src {pick} END), " if sources else "e.data, ")
            + "CASE WHEN e.data IS NULL THEN 'row' ELSE 'api' END FROM r, "
            "unnest(CAST(:names AS text[]), CAST(:datas AS text[]), CAST(:srcs AS text[])) "
            "WITH ORDINALITY AS e(event, data, src, ord)) "
            "SELECT r.event_seq"
            + "".join(
                ", r.j AS r_j" if src == "r" else f", (SELECT j FROM {src}) AS {src}_j"
                for src in sources
            )
            + f"{select}, {_notify_sql(flags, followed=None if stops else 'r.followers > 0')} "
            "FROM r"
        )
        query = tx if tx is not None else self.db
        row = await query.fetchrow(
            sql,
            {
                **params,
                "n": len(events),
                "id": run_id,
                "created": time.time(),
                "names": [e.name for e in events],
                "datas": [None if e.data is None else dumps_logged(e.data) for e in events],
                "srcs": [e.row for e in events],
                "payload": f"{PROCESS_TOKEN}|{run_id}|{flags}",
            },
        )
        if row is None:
            return None
        if self.notifier.has_listeners(run_id) and prepublished < len(events):
            snapshots = {src: loads(row[f"{src}_j"]) for src in sources}
            self._publish_after_commit(
                tx,
                run_id,
                int(row["event_seq"]) - len(events) + 1,
                [
                    (
                        e.name,
                        e.data
                        if e.data is not None
                        else render_snapshot(e.name, snapshots[str(e.row)]),
                    )
                    for e in events
                ],
                prepublished,
            )
        return row

    def _publish_after_commit(
        self,
        tx: Tx | None,
        run_id: str,
        first: int,
        events: Sequence[tuple[str, dict[str, Any]]],
        prepublished: int,
    ) -> None:
        """Publish `events` (but the first `prepublished`) to this process's live subscribers
        once `tx` commits (at once without `tx`: the write committed on its own)."""
        if self.notifier.has_listeners(run_id) and prepublished < len(events):
            published = [
                RunEvent(run_id=run_id, seq=first + i, event=name, data=data)
                for i, (name, data) in enumerate(events)
                if i >= prepublished
            ]
            if tx is None:
                self.notifier.publish(run_id, published)
            else:
                tx.after_commit(lambda: self.notifier.publish(run_id, published))

    async def _insert_events(
        self,
        tx: Tx,
        run_id: str,
        first: int,
        events: Sequence[tuple[str, dict[str, Any]]],
        *,
        prepublished: int = 0,
    ) -> None:
        """Insert events from sequence number `first`; publish them live after the commit.
        (SQLite: Postgres appends, inserts and notifies in one statement, `_append_events_pg`.)

        The first `prepublished` events were already published live (token deltas are, as they
        arrive), so only the rest are.
        """
        created = time.time()
        self._publish_after_commit(tx, run_id, first, events, prepublished)
        await tx.executemany(
            "INSERT INTO run_events (run_id, seq, created_at, event, data) "
            "VALUES (:run_id, :seq, :created_at, :event, :data)",
            [
                {
                    "run_id": run_id,
                    "seq": first + i,
                    "created_at": created,
                    "event": name,
                    "data": dumps_logged(data),
                }
                for i, (name, data) in enumerate(events)
            ],
        )

    async def _notify_remote(self, tx: Tx, run_id: str, flags: str) -> None:
        """Tell other processes (Postgres NOTIFY, delivered at commit) that the run changed.

        `flags`: "q" the queue gained a run, "c" the run was asked to stop.
        """
        await tx.execute(
            f"SELECT {_notify_sql(flags)}", {"payload": f"{PROCESS_TOKEN}|{run_id}|{flags}"}
        )

    @asynccontextmanager
    async def following(self, run_id: str) -> AsyncIterator[None]:
        """Count this process among the run's followers for the block (Postgres), so that every
        append to the run's log is announced to it, not only the run's stops. A follower that
        dies uncounted costs only announcements nobody hears, until the run ends."""
        if self.db.dialect != "postgresql":
            yield
            return
        await self.db.fetch(
            "UPDATE runs SET followers = followers + 1 WHERE id = :id", {"id": run_id}
        )
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self.db.fetch(
                        "UPDATE runs SET followers = GREATEST(followers - 1, 0) WHERE id = :id",
                        {"id": run_id},
                    )
                except DatabaseUnavailableError as exc:
                    _log.warning("run_unfollow_failed", run_id=run_id, error=str(exc))

    def on_remote(self, payload: str) -> None:
        """Handle another process's notification: wake waiters, subscribers and workers."""
        token, _, rest = payload.partition("|")
        if token == PROCESS_TOKEN:
            return
        run_id, _, flags = rest.partition("|")
        self.notifier.notify(run_id)
        self.notifier.poke(run_id)
        if "q" in flags:
            self.notifier.notify(QUEUE)
        if "c" in flags:
            self.notifier.notify(f"cancel:{run_id}")

    def _notify(self, run_id: str) -> None:
        """Wake in-process waiters on this run (after the commit: they must see the change)."""
        self.notifier.notify(run_id)
