"""Claims and leases: a worker takes queued runs, keeps them by heartbeat, and gives them back.

A claim moves runs `queued` -> `in_progress` with the worker's id and a lease on the database
clock, in one statement; the worker renews the lease (`heartbeat`) while it executes. The sweeper
finds lapsed leases (`lapsed_runs`) and re-queues (`requeue_lapsed`) or expires (`overdue_runs`)
what vanished workers held, discarding their open work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store.base import ACTIVE, now
from store.db import Database, Tx
from store.errors import LostClaim
from store.eventlog import EventLog
from store.pg import PgWrites
from store.picking import Claim, pick_sql
from store.records import LapsedRun, Lease, RunRecord
from store.rows import (
    MESSAGE_COLUMNS,
    RUN_COLUMNS,
    STEP_COLUMNS,
    dumps,
    message_dict,
    run_dict,
    step_dict,
)
from store.statuses import MessageStatus as M
from store.statuses import RunStatus as R
from store.statuses import StepStatus as S
from store.statuses import sql_in, sql_is

Event = tuple[str, dict[str, Any]]


class ClaimPart:
    """Which worker holds which run, until when: the `worker_id`/`lease_expires_at` columns."""

    def __init__(self, db: Database, log: EventLog, pg: PgWrites) -> None:
        self.db = db
        self.log = log
        self.pg = pg

    async def claim(
        self,
        worker_id: str,
        *,
        limit: int,
        lease_seconds: float,
        project_limit: int | None = None,
        project_limits: dict[str, int] | None = None,
    ) -> list[RunRecord]:
        """Take up to `limit` queued runs for `worker_id`, fairly between projects: the
        project with the fewest runs in flight first, the oldest run first (see `pick_sql`); a
        project at its limit (`project_limits.get(project, project_limit)`) is passed over.

        One statement moves them to `in_progress` with the worker's id and a lease on the
        database clock (Postgres: `FOR UPDATE SKIP LOCKED`, so workers never wait on each other).
        """
        claim = Claim(worker_id, lease_seconds, limit, project_limit, dict(project_limits or {}))
        if self.db.dialect == "postgresql":
            claimed = await self.pg.claim(claim)
            self.log.publish_claimed(claimed)
            return [RunRecord.from_row(row) for row in claimed]
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                f"UPDATE runs SET status = {sql_is(R.IN_PROGRESS)}, worker_id = :worker_id, "
                "lease_expires_at = {now} + :lease, started_at = COALESCE(started_at, :t), "
                "event_seq = event_seq + 1 "
                f"WHERE seq IN ({pick_sql('sqlite', claim)}) AND status = {sql_is(R.QUEUED)} "
                f"RETURNING {RUN_COLUMNS}",
                claim.params(),
            )
            runs = []
            for row in rows:
                # The run's JSON columns are decoded once, for its event and its executor.
                run, snapshot = RunRecord.claimed(row)
                await self.log.append_taken(
                    tx, run.id, run.event_seq, [("thread.run.in_progress", snapshot)]
                )
                runs.append(run)
        for run in runs:
            self.log.wake(run.id)
        return runs

    async def heartbeat(
        self, worker_id: str, run_ids: Sequence[str], *, lease_seconds: float
    ) -> dict[str, Lease]:
        """Extend the leases of the runs `worker_id` is executing; return those it still holds.

        Only `run_ids` are renewed: a run whose execution ended without recording it (say the
        database was down then) lapses, and the sweeper gives it to another worker. A run
        missing from the answer was taken from this worker; `status` `cancelling` asks it to
        stop, `overdue` says `expires_at` passed (database clock).
        """
        if not run_ids:
            return {}
        chosen = (
            "id = ANY(:ids)"
            if self.db.dialect == "postgresql"
            else "id IN (SELECT value FROM json_each(:ids))"
        )
        sql = (
            "UPDATE runs SET lease_expires_at = {now} + :lease WHERE worker_id = :worker_id "
            f"AND {chosen} RETURNING id, status, cancel_requested, "
            "(expires_at IS NOT NULL AND expires_at <= {now}) AS overdue"
        )
        if self.db.dialect == "postgresql":  # one statement commits on its own
            params = {"worker_id": worker_id, "lease": lease_seconds, "ids": list(run_ids)}
            rows = await self.db.fetch(sql, params)
        else:
            params = {"worker_id": worker_id, "lease": lease_seconds, "ids": dumps(list(run_ids))}
            async with self.db.transaction() as tx:
                rows = await tx.fetch(sql, params)
        return {r["id"]: Lease.from_row(r) for r in rows}

    async def held_attempts(self, run_id: str, worker_id: str) -> tuple[R, int] | None:
        """The run's status and spent attempts if `worker_id` still holds it, else `None`."""
        row = await self.db.fetchrow(
            "SELECT status, attempts FROM runs WHERE id = :id AND worker_id = :worker_id",
            {"id": run_id, "worker_id": worker_id},
        )
        return None if row is None else (R(row["status"]), int(row["attempts"]))

    async def held_status(self, run_id: str, worker_id: str) -> R | None:
        """The run's status if `worker_id` still holds it, else `None`."""
        row = await self.db.fetchrow(
            "SELECT status FROM runs WHERE id = :id AND worker_id = :worker_id",
            {"id": run_id, "worker_id": worker_id},
        )
        return None if row is None else R(row["status"])

    async def release(
        self,
        run_id: str,
        worker_id: str,
        *,
        to: R,
        allowed: Sequence[R],
        interrupted: bool = False,
    ) -> bool:
        """Hand a held run back to the queue: open work is discarded. A graceful stop releases
        for free; `interrupted` (the execution failed for a reason that is not the run's, such
        as the database going away) spends one of the run's attempts."""
        reason = "The run was interrupted." if interrupted else "The worker stopped."
        spend = ", attempts = attempts + 1" if interrupted else ""
        async with self.db.transaction() as tx:
            events = await self._discard_open_work(tx, run_id, reason=reason)
            row = await tx.fetchrow(
                f"UPDATE runs SET status = {sql_is(to)}, worker_id = NULL, "
                f"lease_expires_at = NULL{spend} "
                f"WHERE id = :id AND worker_id = :worker_id AND status IN {sql_in(allowed)} "
                f"RETURNING {RUN_COLUMNS}",
                {"id": run_id, "worker_id": worker_id},
            )
            if row is None:
                raise LostClaim(run_id)
            await self.log.append(tx, run_id, [*events, (f"thread.run.{to}", run_dict(row))])
        self.log.wake(run_id)
        self.log.wake_queue()
        return True

    async def _discard_open_work(self, tx: Tx, run_id: str, *, reason: str) -> list[Event]:
        """Close and delete the steps and messages a lost worker left open.

        Live streams see them end (`message.incomplete`, `step.failed`); the thread keeps no
        half-written message, so the run's next attempt writes each message exactly once.
        """
        t = now()
        events: list[Event] = []
        for m in await tx.fetch(
            f"UPDATE messages SET status = {sql_is(M.INCOMPLETE)}, incomplete_at = :t, "
            "incomplete_details = :details WHERE run_id = :run_id "
            f"AND status = {sql_is(M.IN_PROGRESS)} RETURNING {MESSAGE_COLUMNS}",
            {"t": t, "details": dumps({"reason": "run_failed"}), "run_id": run_id},
        ):
            events.append(("thread.message.incomplete", message_dict(m)))
            await tx.execute("DELETE FROM messages WHERE id = :id", {"id": m["id"]})
        for s in await tx.fetch(
            f"UPDATE run_steps SET status = {sql_is(S.FAILED)}, failed_at = :t, last_error = :err "
            f"WHERE run_id = :run_id AND status = {sql_is(S.IN_PROGRESS)} "
            f"RETURNING {STEP_COLUMNS}",
            {"t": t, "run_id": run_id, "err": dumps({"code": "server_error", "message": reason})},
        ):
            events.append(("thread.run.step.failed", step_dict(s)))
            await tx.execute("DELETE FROM run_steps WHERE id = :id", {"id": s["id"]})
        return events

    async def lapsed_runs(self) -> list[LapsedRun]:
        """Runs held by a worker whose lease has passed (database clock)."""
        rows = await self.db.fetch(
            "SELECT id, status, attempts, worker_id FROM runs WHERE worker_id IS NOT NULL "
            "AND lease_expires_at < {now}"
        )
        return [LapsedRun.from_row(r) for r in rows]

    async def requeue_lapsed(self, run_id: str, *, to: R, allowed: Sequence[R]) -> bool:
        """Give a run whose worker vanished back to the queue, discarding its open work."""
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"UPDATE runs SET status = {sql_is(to)}, worker_id = NULL, "
                "lease_expires_at = NULL, attempts = attempts + 1 "
                "WHERE id = :id AND worker_id IS NOT NULL AND lease_expires_at < {now} "
                f"AND status IN {sql_in(allowed)} RETURNING {RUN_COLUMNS}",
                {"id": run_id},
            )
            if row is None:
                return False
            events = await self._discard_open_work(
                tx, run_id, reason="The worker running this run stopped; the run was re-queued."
            )
            await self.log.append(tx, run_id, [*events, (f"thread.run.{to}", run_dict(row))])
        self.log.wake(run_id)
        self.log.wake_queue()
        return True

    async def overdue_runs(self) -> list[str]:
        """Active runs whose `expires_at` has passed and that no live worker holds."""
        rows = await self.db.fetch(
            f"SELECT id FROM runs WHERE status IN {ACTIVE} "
            "AND expires_at <= {now} "
            # A worker with a live lease expires the runs it holds itself: while it holds a run
            # it is the only writer of the run's event log.
            "AND (worker_id IS NULL OR lease_expires_at < {now})",
        )
        return [r["id"] for r in rows]

    async def queued_count(self) -> int:
        row = await self.db.fetchrow(
            f"SELECT count(*) AS n FROM runs WHERE status = {sql_is(R.QUEUED)}"
        )
        return 0 if row is None else int(row["n"])
