"""The run event log: one writer per run appends, in the transaction of the change it describes.

`EventLog` appends events with the run's next sequence numbers (`runs.event_seq`), publishes them
to this process's live subscribers once committed, and tells other processes (Postgres NOTIFY).
On Postgres an append is one statement (`fused`), which the one-statement writes of `store.pg`
extend with their own changes. A worker's appends are guarded by its claim (`append_held`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio

from store.base import POLLER_EVENTS, PROCESS_TOKEN, Logged, notify_sql
from store.db import Database, Row, Tx
from store.errors import DatabaseUnavailableError, LostClaim
from store.log import get_logger
from store.notify import QUEUE, Notifier
from store.rows import dumps_logged, event_payload, loads, render_snapshot, run_dict
from store.statuses import RunStatus as R
from store.statuses import sql_in
from store.types import RunEvent

Event = tuple[str, dict[str, Any]]
_log = get_logger("assistants.store")


class EventLog:
    """Appends to and reads runs' event logs; wakes waiters and subscribers after commits."""

    def __init__(self, db: Database, notifier: Notifier) -> None:
        self.db = db
        self.notifier = notifier

    async def append(
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
            last = await self.append_pg(tx, run_id, events, prepublished=prepublished)
            assert last is not None, run_id
            return last
        row = await tx.fetchrow(
            "UPDATE runs SET event_seq = event_seq + :n WHERE id = :id RETURNING event_seq",
            {"n": len(events), "id": run_id},
        )
        assert row is not None, run_id
        last = int(row["event_seq"])
        await self._insert(tx, run_id, last - len(events) + 1, events, prepublished=prepublished)
        return last

    async def append_taken(
        self, tx: Tx, run_id: str, last: int, events: Sequence[tuple[str, dict[str, Any]]]
    ) -> None:
        """`append` for a statement that already advanced the run's `event_seq` (to `last`) by
        `len(events)` as it changed the run: the events take the numbers it counted, with no
        second update of the run. (SQLite: a Postgres statement logs its own events.)"""
        await self._insert(tx, run_id, last - len(events) + 1, events)

    async def append_pg(
        self,
        tx: Tx | None,
        run_id: str,
        events: Sequence[tuple[str, dict[str, Any]]],
        *,
        guard: str = "",
        params: dict[str, Any] | None = None,
        prepublished: int = 0,
    ) -> int | None:
        """`append` on Postgres in one statement (one round trip instead of three):
        advance the run's sequence (only if `guard`, more SQL conditions on the run, holds),
        insert the events and send the NOTIFY. None when the run did not match. Without `tx`
        the statement commits on its own."""
        row = await self.fused(
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

    async def fused(
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
        # Over 60 lines: one SQL statement, assembled in one place so it reads as it runs.
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
            "{now}, e.event, "
            + (f"COALESCE(e.data, CASE e.src {pick} END), " if sources else "e.data, ")
            + "CASE WHEN e.data IS NULL THEN 'row' ELSE 'api' END FROM r, "
            "unnest(CAST(:names AS text[]), CAST(:datas AS text[]), CAST(:srcs AS text[])) "
            "WITH ORDINALITY AS e(event, data, src, ord)) "
            "SELECT r.event_seq"
            + "".join(
                ", r.j AS r_j" if src == "r" else f", (SELECT j FROM {src}) AS {src}_j"
                for src in sources
            )
            + f"{select}, {notify_sql(flags, followed=None if stops else 'r.followers > 0')} "
            "FROM r"
        )
        query = tx if tx is not None else self.db
        row = await query.fetchrow(
            sql,
            {
                **params,
                "n": len(events),
                "id": run_id,
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
            self._publish(
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

    def _publish(
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

    async def _insert(
        self,
        tx: Tx,
        run_id: str,
        first: int,
        events: Sequence[tuple[str, dict[str, Any]]],
        *,
        prepublished: int = 0,
    ) -> None:
        """Insert events from sequence number `first`; publish them live after the commit.
        (SQLite: Postgres appends, inserts and notifies in one statement, `append_pg`.)

        The first `prepublished` events were already published live (token deltas are, as they
        arrive), so only the rest are.
        """
        created = time.time()
        self._publish(tx, run_id, first, events, prepublished)
        await tx.executemany(
            "INSERT INTO run_events (run_id, seq, created_at, event, data) VALUES (?, ?, ?, ?, ?)",
            [
                (run_id, first + i, created, name, dumps_logged(data))
                for i, (name, data) in enumerate(events)
            ],
        )

    async def notify_remote(self, tx: Tx, run_id: str, flags: str) -> None:
        """Tell other processes (Postgres NOTIFY, delivered at commit) that the run changed.

        `flags`: "q" the queue gained a run, "c" the run was asked to stop.
        """
        await tx.execute(
            f"SELECT {notify_sql(flags)}", {"payload": f"{PROCESS_TOKEN}|{run_id}|{flags}"}
        )

    async def append_held(
        self,
        tx: Tx | None,
        run_id: str,
        worker_id: str,
        events: Sequence[Event],
        statuses: Sequence[R] = (R.IN_PROGRESS,),
        prepublished: int = 0,
    ) -> int:
        """Append events only if `worker_id` still holds the run (in one of `statuses`); on
        Postgres without `tx` the one statement commits on its own."""
        if self.db.dialect == "postgresql":
            appended = await self.append_pg(
                tx,
                run_id,
                events,
                guard=f" AND worker_id = :worker_id AND status IN {sql_in(statuses)}",
                params={"worker_id": worker_id},
                prepublished=prepublished,
            )
            if appended is None:
                raise LostClaim(run_id)
            return appended
        assert tx is not None
        row = await tx.fetchrow(
            "UPDATE runs SET event_seq = event_seq + :n WHERE id = :id AND worker_id = :worker_id "
            f"AND status IN {sql_in(statuses)} RETURNING event_seq",
            {"n": len(events), "id": run_id, "worker_id": worker_id},
        )
        if row is None:
            raise LostClaim(run_id)
        last = int(row["event_seq"])
        await self._insert(tx, run_id, last - len(events) + 1, events, prepublished=prepublished)
        return last

    def publish_claimed(self, claimed: list[Row]) -> None:
        """After a Postgres claim: this process's live subscribers see `in_progress`, its
        waiters wake."""
        for row in claimed:
            if self.notifier.has_listeners(row["id"]):
                event = RunEvent(
                    run_id=row["id"],
                    seq=row["event_seq"],
                    event="thread.run.in_progress",
                    data=run_dict(row),
                )
                self.notifier.publish(row["id"], [event])
            self.wake(row["id"])

    async def last_seq(self, run_id: str) -> int:
        """The sequence number of the run's last event (0: none, or no such run)."""
        row = await self.db.fetchrow("SELECT event_seq FROM runs WHERE id = :id", {"id": run_id})
        return 0 if row is None else int(row["event_seq"])

    async def read_events(
        self, run_id: str, *, after: int = 0, limit: int = 1000
    ) -> list[RunEvent]:
        """The run's events with `seq > after`, in order (row snapshots rendered)."""
        rows = await self.db.fetch(
            "SELECT seq, event, data, data_format FROM run_events "
            "WHERE run_id = :run_id AND seq > :after ORDER BY seq LIMIT :limit",
            {"run_id": run_id, "after": after, "limit": limit},
        )
        return [
            RunEvent(
                run_id=run_id,
                seq=r["seq"],
                event=r["event"],
                data=event_payload(r),
            )
            for r in rows
        ]

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

    def wake(self, run_id: str) -> None:
        """Wake in-process waiters on this run (after the commit: they must see the change)."""
        self.notifier.notify(run_id)

    def wake_queue(self) -> None:
        """Wake this process's workers: the queue gained a run (after the commit)."""
        self.notifier.notify(QUEUE)
