"""What workers write: claims, leases, steps, messages, deltas, and the end of a run.

Every write made on behalf of a worker is guarded by `worker_id = :worker AND status =
'in_progress'` in the same statement that bumps the run's event sequence. A worker that lost its
claim (the run was cancelled, expired, or re-queued after its lease lapsed) gets `LostClaim` and
its transaction rolls back: a late worker can never overwrite what happened since.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from store import ids
from store.base import ACTIVE, now
from store.context import (
    STEPS_SQL,
    context_messages_sql,
    context_page_limit,
    history_page_sql,
)
from store.db import Row, Tx
from store.errors import AssistantsError
from store.fused import Claim, FusedMixin, pick_sql
from store.rows import (
    MESSAGE_COLUMNS,
    RUN_COLUMNS,
    STEP_COLUMNS,
    dumps,
    loads,
    message_dict,
    run_dict,
    step_dict,
)
from store.statuses import HELD_RUN, sql_in, sql_is
from store.statuses import MessageStatus as M
from store.statuses import RunStatus as R
from store.statuses import StepStatus as S
from store.types import RunEvent


class LostClaim(AssistantsError):
    """The worker no longer holds this run; whatever it was about to write is discarded."""


Event = tuple[str, dict[str, Any]]


class ExecutionMixin(FusedMixin):
    # --- claims and leases -----------------------------------------------------------------

    async def claim(
        self,
        worker_id: str,
        *,
        limit: int,
        lease_seconds: float,
        project_limit: int | None = None,
        project_limits: dict[str, int] | None = None,
    ) -> list[Row]:
        """Take up to `limit` queued runs for `worker_id`, fairly between projects: the
        project with the fewest runs in flight first, the oldest run first (see `pick_sql`); a
        project at its limit (`project_limits.get(project, project_limit)`) is passed over.

        One statement moves them to `in_progress` with the worker's id and a lease on the
        database clock (Postgres: `FOR UPDATE SKIP LOCKED`, so workers never wait on each other).
        """
        claim = Claim(worker_id, lease_seconds, limit, project_limit, dict(project_limits or {}))
        if self.db.dialect == "postgresql":
            claimed = await self._claim_pg(claim)
            self._took(claimed)
            return claimed
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                f"UPDATE runs SET status = {sql_is(R.IN_PROGRESS)}, worker_id = :worker_id, "
                "lease_expires_at = {now} + :lease, started_at = COALESCE(started_at, :t) "
                f"WHERE seq IN ({pick_sql('sqlite', claim)}) AND status = {sql_is(R.QUEUED)} "
                f"RETURNING {RUN_COLUMNS}",
                claim.params(),
            )
            claimed = []
            for row in rows:
                last = await self._append_events(
                    tx, row["id"], [("thread.run.in_progress", run_dict(row))]
                )
                claimed.append({**row, "event_seq": last})
        for row in claimed:
            self._notify(row["id"])
        return claimed

    def _took(self, claimed: list[Row]) -> None:
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
            self._notify(row["id"])

    async def heartbeat(
        self, worker_id: str, run_ids: Sequence[str], *, lease_seconds: float
    ) -> dict[str, Row]:
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
        return {r["id"]: r for r in rows}

    async def held_attempts(self, run_id: str, worker_id: str) -> tuple[str, int] | None:
        """The run's status and spent attempts if `worker_id` still holds it, else `None`."""
        row = await self.db.fetchrow(
            "SELECT status, attempts FROM runs WHERE id = :id AND worker_id = :worker_id",
            {"id": run_id, "worker_id": worker_id},
        )
        return None if row is None else (str(row["status"]), int(row["attempts"]))

    async def held_status(self, run_id: str, worker_id: str) -> str | None:
        """The run's status if `worker_id` still holds it, else `None`."""
        row = await self.db.fetchrow(
            "SELECT status FROM runs WHERE id = :id AND worker_id = :worker_id",
            {"id": run_id, "worker_id": worker_id},
        )
        return None if row is None else str(row["status"])

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
            await self._append_events(tx, run_id, [*events, (f"thread.run.{to}", run_dict(row))])
        self._notify(run_id)
        self._notify_queue()
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

    # --- guarded writes ---------------------------------------------------------------------

    async def _guarded_events(
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
            appended = await self._append_events_pg(
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
        await self._insert_events(
            tx, run_id, last - len(events) + 1, events, prepublished=prepublished
        )
        return last

    async def append_events(
        self, run_id: str, worker_id: str, events: Sequence[Event], *, prepublished: int = 0
    ) -> int:
        """Append a batch of events (token deltas) in one transaction; returns the last seq."""
        if self.db.dialect == "postgresql":  # one statement commits on its own
            last = await self._guarded_events(
                None, run_id, worker_id, events, prepublished=prepublished
            )
        else:
            async with self.db.transaction() as tx:
                last = await self._guarded_events(
                    tx, run_id, worker_id, events, prepublished=prepublished
                )
        self._notify(run_id)
        return last

    async def begin_step(
        self,
        run: Row,
        worker_id: str,
        *,
        kind: str,
        message: bool,
        extensions: dict[str, Any] | None = None,
        pending: Sequence[Event] = (),
    ) -> tuple[Row, Row | None, int]:
        """Open a step (`message_creation` with its in-progress message, or `tool_calls`).

        `pending` (already published) events are persisted first; returns the step, the
        message, and the run's last event sequence number.
        """
        t = now()
        step_id = ids.new_id("step")
        message_id = ids.new_id("message") if message else None
        details: dict[str, Any] = (
            {"type": "message_creation", "message_creation": {"message_id": message_id}}
            if kind == "message_creation"
            else {"type": "tool_calls", "tool_calls": []}
        )
        base = {
            "thread_id": run["thread_id"],
            "assistant_id": run["assistant_id"],
            "run_id": run["id"],
            "t": t,
        }
        project = str(run["project"])  # a claimed row; the guarded append checks the claim
        if self.db.dialect == "postgresql":
            opened = await self._begin_step_pg(
                run,
                worker_id,
                values={
                    **base,
                    "id": run["id"],
                    "project": project,
                    "step_id": step_id,
                    "message_id": message_id,
                    "type": kind,
                    "details": dumps(details),
                    "ext": dumps(extensions),
                },
                message=message,
                pending=pending,
            )
            if opened is None:
                raise LostClaim(run["id"])
            self._notify(run["id"])
            return opened
        async with self.db.transaction() as tx:
            step = await tx.fetchrow(
                "INSERT INTO run_steps (id, project, run_id, thread_id, assistant_id, created_at, "
                "type, status, step_details, metadata, extensions) VALUES (:id, :project, :run_id, "
                f":thread_id, :assistant_id, :t, :type, {sql_is(S.IN_PROGRESS)}, :details, "
                f"'{{}}', :ext) RETURNING {STEP_COLUMNS}",
                {
                    **base,
                    "project": project,
                    "id": step_id,
                    "type": kind,
                    "details": dumps(details),
                    "ext": dumps(extensions),
                },
            )
            assert step is not None
            events: list[Event] = [
                ("thread.run.step.created", step_dict(step)),
                ("thread.run.step.in_progress", step_dict(step)),
            ]
            msg = None
            if message_id is not None:
                msg = await tx.fetchrow(
                    "INSERT INTO messages (id, project, thread_id, created_at, status, role, "
                    "content, assistant_id, run_id, metadata) VALUES (:id, :project, :thread_id, "
                    f":t, {sql_is(M.IN_PROGRESS)}, 'assistant', '[]', :assistant_id, :run_id, "
                    f"'{{}}') RETURNING {MESSAGE_COLUMNS}",
                    {**base, "project": project, "id": message_id},
                )
                assert msg is not None
                events.append(("thread.message.created", message_dict(msg)))
                events.append(("thread.message.in_progress", message_dict(msg)))
            last = await self._guarded_events(
                tx, run["id"], worker_id, [*pending, *events], prepublished=len(pending)
            )
        self._notify(run["id"])
        return step, msg, last

    async def finish_message(
        self,
        run_id: str,
        worker_id: str,
        *,
        step_id: str,
        message_id: str,
        content: list[dict[str, Any]],
        step_usage: dict[str, int] | None,
        run_usage: dict[str, int] | None,
        step_extensions: dict[str, Any] | None,
        pending: Sequence[Event] = (),
        incomplete_reason: str | None = None,
        end_run: R | None = None,
        end_allowed: Sequence[R] = (R.IN_PROGRESS,),
        incomplete_details: dict[str, Any] | None = None,
        run_extensions: dict[str, Any] | None = None,
        successor: Claim | None = None,
    ) -> int:
        """Complete (or mark incomplete) the message and complete its step, after `pending`.

        With `end_run`, the run ends in the same transaction (a one-turn text run costs three
        write transactions in all: claim, open step, finish), and on Postgres the `successor`
        claim, for the slot the run frees, is made in it too (its `rows`: the runs taken).
        """
        t = now()
        if incomplete_reason is None:
            message_sets = f"status = {sql_is(M.COMPLETED)}, completed_at = :t, content = :c"
            event = "thread.message.completed"
        else:
            message_sets = (
                f"status = {sql_is(M.INCOMPLETE)}, incomplete_at = :t, content = :c, "
                "incomplete_details = :d"
            )
            event = "thread.message.incomplete"
        step_sets = (
            f"status = {sql_is(S.COMPLETED)}, completed_at = :t, usage = :u, extensions = :ext"
        )
        values = {
            "t": t,
            "c": dumps(content),
            "d": None if incomplete_reason is None else dumps({"reason": incomplete_reason}),
            "u": dumps(step_usage),
            "ext": dumps(step_extensions),
        }
        # The run's update: it carries the usage (and, ending, the rest of its end).
        fields: dict[str, Any] = {"usage": dumps(run_usage)}
        if run_extensions is not None or end_run is None:
            fields["extensions"] = dumps(run_extensions)
        if incomplete_details is not None and end_run is not None:
            fields["incomplete_details"] = dumps(incomplete_details)
        if self.db.dialect == "postgresql":
            fused = await self._finish_message_pg(
                run_id,
                worker_id,
                step_id=step_id,
                message_id=message_id,
                message_sets=message_sets,
                step_sets=step_sets,
                values=values,
                message_event=event,
                pending=pending,
                end_run=end_run,
                end_allowed=end_allowed,
                run_fields=fields,
                successor=successor,
            )
            if fused is not None:
                self._notify(run_id)
                if successor is not None:
                    self._took(successor.rows)
                return fused
            # The claim was lost, or more of the run is open: the general path says which.
        async with self.db.transaction() as tx:
            msg = await tx.fetchrow(
                f"UPDATE messages SET {message_sets} WHERE id = :id RETURNING {MESSAGE_COLUMNS}",
                {"t": t, "c": values["c"], "d": values["d"], "id": message_id},
            )
            step = await tx.fetchrow(
                f"UPDATE run_steps SET {step_sets} WHERE id = :id RETURNING {STEP_COLUMNS}",
                {"t": t, "u": values["u"], "ext": values["ext"], "id": step_id},
            )
            if msg is None or step is None:
                raise LostClaim(run_id)
            finished: list[Event] = [
                *pending,
                (event, message_dict(msg)),
                ("thread.run.step.completed", step_dict(step)),
            ]
            if end_run is None:
                await tx.execute(
                    "UPDATE runs SET usage = :u, extensions = COALESCE(:ext, extensions) "
                    "WHERE id = :id",
                    {"u": fields["usage"], "ext": fields["extensions"], "id": run_id},
                )
                last = await self._guarded_events(
                    tx, run_id, worker_id, finished, prepublished=len(pending)
                )
            else:
                # The run ends in the same statements: its update carries the usage, and one
                # append logs the message and step completions before the run's end (the
                # update's guard is the claim check the append would make).
                ended = await self._end_run(
                    tx,
                    run_id,
                    to=end_run,
                    allowed=end_allowed,
                    fields=fields,
                    worker_id=worker_id,
                    leading=finished,
                    prepublished=len(pending),
                )
                if ended is None:
                    raise LostClaim(run_id)
                last = ended[1]
        self._notify(run_id)
        return last

    async def pause_for_tools(
        self,
        run_id: str,
        worker_id: str,
        *,
        step_id: str,
        tool_calls: list[dict[str, Any]],
        step_usage: dict[str, int] | None,
        run_usage: dict[str, int] | None,
        step_extensions: dict[str, Any] | None,
        pending: Sequence[Event] = (),
        paused: R,
        allowed: Sequence[R],
        run_extensions: dict[str, Any] | None = None,
        successor: Claim | None = None,
    ) -> None:
        """Record the function calls on their step and pause the run for tool outputs.

        The step stays `in_progress` (it completes when the outputs arrive); its usage waits in
        the step's extensions until then. The run releases its claim; on Postgres the
        `successor` claim, for the slot it frees, is made in the same statement.
        """
        required = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {
                            "name": c["function"]["name"],
                            "arguments": c["function"]["arguments"],
                        },
                    }
                    for c in tool_calls
                    if c["type"] == "function"
                ]
            },
        }
        ext = dict(step_extensions or {})
        ext["pending_usage"] = step_usage
        details = {"type": "tool_calls", "tool_calls": tool_calls}
        if self.db.dialect == "postgresql":
            paused_run = await self._pause_for_tools_pg(
                run_id,
                worker_id,
                step_id=step_id,
                details=details,
                step_extensions=ext,
                required=required,
                run_usage=run_usage,
                run_extensions=run_extensions,
                pending=pending,
                paused=paused,
                allowed=allowed,
                successor=successor,
            )
            if paused_run is None:
                raise LostClaim(run_id)
            self._notify(run_id)
            if successor is not None:
                self._took(successor.rows)
            return
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE run_steps SET step_details = :d, extensions = :ext WHERE id = :id",
                {"d": dumps(details), "ext": dumps(ext), "id": step_id},
            )
            if pending:
                await self._guarded_events(
                    tx, run_id, worker_id, pending, prepublished=len(pending)
                )
            row = await tx.fetchrow(
                f"UPDATE runs SET status = {sql_is(paused)}, required_action = :ra, usage = :u, "
                "extensions = COALESCE(:ext, extensions), "
                "worker_id = NULL, lease_expires_at = NULL WHERE id = :id AND worker_id = :w "
                f"AND status IN {sql_in(allowed)} RETURNING {RUN_COLUMNS}",
                {
                    "ra": dumps(required),
                    "u": dumps(run_usage),
                    "ext": dumps(run_extensions),
                    "id": run_id,
                    "w": worker_id,
                },
            )
            if row is None:
                raise LostClaim(run_id)
            await self._append_events(tx, run_id, [(f"thread.run.{paused}", run_dict(row))])
        self._notify(run_id)

    async def end_run(
        self,
        run_id: str,
        *,
        to: R,
        allowed: Sequence[R],
        worker_id: str | None = None,
        usage: dict[str, int] | None = None,
        last_error: dict[str, str] | None = None,
        incomplete_details: dict[str, Any] | None = None,
        pending: Sequence[Event] = (),
        lapsed_only: bool = False,
        partial: tuple[str, list[dict[str, Any]]] | None = None,
        run_extensions: dict[str, Any] | None = None,
    ) -> Row | None:
        """Move a run to a terminal status (see `_end_run`); `None` if it was not allowed.

        `worker_id` requires that worker to hold the run; `lapsed_only` requires its lease to
        have lapsed (the sweeper), so a worker that heartbeated in between keeps it.
        `partial` is `(message_id, content)`: what an interrupted message had streamed, kept on
        the message that ends `incomplete`.
        """
        fields: dict[str, Any] = {}
        if usage is not None:
            fields["usage"] = dumps(usage)
        if last_error is not None:
            fields["last_error"] = dumps(last_error)
        if incomplete_details is not None:
            fields["incomplete_details"] = dumps(incomplete_details)
        if run_extensions is not None:
            fields["extensions"] = dumps(run_extensions)
        async with self.db.transaction() as tx:
            if partial is not None:
                await tx.execute(
                    "UPDATE messages SET content = :c "
                    f"WHERE id = :id AND status = {sql_is(M.IN_PROGRESS)}",
                    {"c": dumps(partial[1]), "id": partial[0]},
                )
            if pending and worker_id is not None:
                with contextlib.suppress(LostClaim):
                    await self._guarded_events(
                        tx,
                        run_id,
                        worker_id,
                        pending,
                        statuses=tuple(HELD_RUN),
                        prepublished=len(pending),
                    )
            ended = await self._end_run(
                tx,
                run_id,
                to=to,
                allowed=allowed,
                fields=fields,
                worker_id=worker_id,
                lapsed_only=lapsed_only,
            )
        self._notify(run_id)
        return None if ended is None else ended[0]

    # --- the sweeper ------------------------------------------------------------------------

    async def lapsed_runs(self) -> list[Row]:
        """Runs held by a worker whose lease has passed (database clock)."""
        rows: list[Row] = await self.db.fetch(
            "SELECT id, status, attempts, worker_id FROM runs WHERE worker_id IS NOT NULL "
            "AND lease_expires_at < {now}"
        )
        return rows

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
            await self._append_events(tx, run_id, [*events, (f"thread.run.{to}", run_dict(row))])
        self._notify(run_id)
        self._notify_queue()
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

    async def run_row(self, run_id: str) -> Row | None:
        """The whole run row (execution columns included), unscoped: for the runtime."""
        return await self.db.fetchrow(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE id = :id", {"id": run_id}
        )

    async def run_context(self, run: Row) -> tuple[list[Row], list[Row]]:
        """What prompt assembly reads first for `run`, oldest first: the messages (the first
        page of the thread's from before this run, the newest `context_page_limit` of them, and
        every finished message of the run itself) and the run's steps (for resuming after tool
        outputs). Older messages, when the prompt has room for them, come from `history_page`.

        A run claimed on Postgres carries them already (`claim` reads them in its statement);
        otherwise one round trip on Postgres, two in-process queries on SQLite.
        """
        if "context_messages" in run:
            return run["context_messages"], run["context_steps"]
        params = {
            "thread_id": run["thread_id"],
            "run_id": run["id"],
            "page": context_page_limit(run["truncation_strategy"]),
        }
        messages = context_messages_sql(":thread_id", ":run_id", ":page")
        steps = STEPS_SQL.format(run_id=":run_id")
        if self.db.dialect == "postgresql":
            row = await self.db.fetchrow(
                f"SELECT (SELECT json_agg(m ORDER BY m.seq) FROM ({messages}) AS m) AS messages, "
                f"(SELECT json_agg(s ORDER BY s.seq) FROM ({steps}) AS s) AS steps",
                params,
            )
            assert row is not None
            return loads(row["messages"]) or [], loads(row["steps"]) or []
        found = await self.db.fetch(f"SELECT * FROM ({messages}) AS m ORDER BY seq", params)
        return found, await self.db.fetch(f"{steps} ORDER BY seq", params)

    async def history_page(self, run: Row, before_seq: int, limit: int) -> list[Row]:
        """The next page of the prompt history of `run`: at most `limit` of its thread's
        finished messages from before the run and older than `before_seq`, newest first."""
        return await self.db.fetch(
            history_page_sql(":thread_id", ":run_id", ":page", before=":before"),
            {
                "thread_id": run["thread_id"],
                "run_id": run["id"],
                "page": limit,
                "before": before_seq,
            },
        )
