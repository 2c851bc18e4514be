"""What a worker writes for a run it holds: deltas, steps, messages, tool calls.

Every write made on behalf of a worker is guarded by `worker_id = :worker AND status =
'in_progress'` in the same statement that bumps the run's event sequence. A worker that lost its
claim (the run was cancelled, expired, or re-queued after its lease lapsed) gets `LostClaim` and
its transaction rolls back: a late worker can never overwrite what happened since.

On Postgres the hot writes take their one-statement twins (`store.pg`) when the part is given
them; the transactions here are the general path, and the reference the twins are tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store import ids
from store.base import now
from store.db import Database, Row, Tx
from store.errors import LostClaim
from store.eventlog import EventLog
from store.pg import PgWrites
from store.picking import Claim
from store.records import RunRecord
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
from store.transitions import TransitionPart
from store.turns import Finish, finish_sql, required_action

Event = tuple[str, dict[str, Any]]


class WorkPart:
    """The writes of a claimed run's execution, each guarded by the claim (`LostClaim`)."""

    def __init__(
        self, db: Database, log: EventLog, transitions: TransitionPart, pg: PgWrites | None
    ) -> None:
        self.db = db
        self.log = log
        self.transitions = transitions
        self.pg = pg
        """The Postgres twins of these writes; None takes the general transactions."""

    async def append_events(
        self, run_id: str, worker_id: str, events: Sequence[Event], *, prepublished: int = 0
    ) -> int:
        """Append a batch of events (token deltas) in one transaction; returns the last seq."""
        if self.db.dialect == "postgresql":  # one statement commits on its own
            last = await self.log.append_held(
                None, run_id, worker_id, events, prepublished=prepublished
            )
        else:
            async with self.db.transaction() as tx:
                last = await self.log.append_held(
                    tx, run_id, worker_id, events, prepublished=prepublished
                )
        self.log.wake(run_id)
        return last

    async def begin_step(
        self,
        run: RunRecord,
        worker_id: str,
        *,
        kind: str,
        message: bool,
        extensions: dict[str, Any] | None = None,
        pending: Sequence[Event] = (),
    ) -> tuple[str, str | None, int]:
        """Open a step (`message_creation` with its in-progress message, or `tool_calls`).

        `pending` (already published) events are persisted first; returns the step's id, the
        message's, and the run's last event sequence number.
        """
        step_id = ids.new_id("step")
        message_id = ids.new_id("message") if message else None
        details: dict[str, Any] = (
            {"type": "message_creation", "message_creation": {"message_id": message_id}}
            if kind == "message_creation"
            else {"type": "tool_calls", "tool_calls": []}
        )
        values = {
            "id": run.id,
            "run_id": run.id,
            "thread_id": run.thread_id,
            "assistant_id": run.assistant_id,
            "t": now(),
            "project": run.project,  # a claimed run; the guarded append checks the claim
            "step_id": step_id,
            "message_id": message_id,
            "type": kind,
            "details": dumps(details),
            "ext": dumps(extensions),
        }
        if self.pg is not None:
            opened = await self.pg.begin_step(
                run, worker_id, values=values, message=message, pending=pending
            )
            if opened is None:
                raise LostClaim(run.id)
        else:
            async with self.db.transaction() as tx:
                opened = await self._begin_step(tx, worker_id, values, pending)
        self.log.wake(run.id)
        step, opened_message, last = opened
        return step["id"], None if opened_message is None else opened_message["id"], last

    async def _begin_step(
        self, tx: Tx, worker_id: str, values: dict[str, Any], pending: Sequence[Event]
    ) -> tuple[Row, Row | None, int]:
        step = await tx.fetchrow(
            "INSERT INTO run_steps (id, project, run_id, thread_id, assistant_id, created_at, "
            "type, status, step_details, metadata, extensions) VALUES (:step_id, :project, "
            f":run_id, :thread_id, :assistant_id, :t, :type, {sql_is(S.IN_PROGRESS)}, :details, "
            f"'{{}}', :ext) RETURNING {STEP_COLUMNS}",
            values,
        )
        assert step is not None
        events: list[Event] = [
            ("thread.run.step.created", step_dict(step)),
            ("thread.run.step.in_progress", step_dict(step)),
        ]
        msg = None
        if values["message_id"] is not None:
            msg = await tx.fetchrow(
                "INSERT INTO messages (id, project, thread_id, created_at, status, role, "
                "content, assistant_id, run_id, metadata) VALUES (:message_id, :project, "
                f":thread_id, :t, {sql_is(M.IN_PROGRESS)}, 'assistant', '[]', :assistant_id, "
                f":run_id, '{{}}') RETURNING {MESSAGE_COLUMNS}",
                values,
            )
            assert msg is not None
            events.append(("thread.message.created", message_dict(msg)))
            events.append(("thread.message.in_progress", message_dict(msg)))
        last = await self.log.append_held(
            tx, values["run_id"], worker_id, [*pending, *events], prepublished=len(pending)
        )
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
        # Over 60 lines: its keyword signature, forwarded whole to the twin or the transaction.
        finish = finish_sql(
            content,
            step_usage,
            step_extensions,
            run_usage,
            incomplete_reason=incomplete_reason,
            ending=end_run is not None,
            incomplete_details=incomplete_details,
            run_extensions=run_extensions,
        )
        if self.pg is not None:
            fused = await self.pg.finish_message(
                run_id,
                worker_id,
                step_id=step_id,
                message_id=message_id,
                message_sets=finish.message_sets,
                step_sets=finish.step_sets,
                values=finish.values,
                message_event=finish.event,
                pending=pending,
                end_run=end_run,
                end_allowed=end_allowed,
                run_fields=finish.run_fields,
                successor=successor,
            )
            if fused is not None:
                self.log.wake(run_id)
                if successor is not None:
                    self.log.publish_claimed(successor.rows)
                return fused
            # The claim was lost, or more of the run is open: the general path says which.
        async with self.db.transaction() as tx:
            last = await self._finish(
                tx, run_id, worker_id, step_id, message_id, finish, pending, end_run, end_allowed
            )
        self.log.wake(run_id)
        return last

    async def _finish(
        self,
        tx: Tx,
        run_id: str,
        worker_id: str,
        step_id: str,
        message_id: str,
        finish: Finish,
        pending: Sequence[Event],
        end_run: R | None,
        end_allowed: Sequence[R],
    ) -> int:
        """`finish_message`'s general path, in `tx`."""
        finished = [*pending, *await self._finish_rows(tx, run_id, step_id, message_id, finish)]
        if end_run is None:
            await tx.execute(
                "UPDATE runs SET usage = :u, extensions = COALESCE(:ext, extensions) "
                "WHERE id = :id",
                {
                    "u": finish.run_fields["usage"],
                    "ext": finish.run_fields["extensions"],
                    "id": run_id,
                },
            )
            return await self.log.append_held(
                tx, run_id, worker_id, finished, prepublished=len(pending)
            )
        # The run ends in the same statements: its update carries the usage, and one append
        # logs the message and step completions before the run's end (the update's guard is
        # the claim check the append would make).
        ended = await self.transitions.end_in(
            tx,
            run_id,
            to=end_run,
            allowed=end_allowed,
            fields=finish.run_fields,
            worker_id=worker_id,
            leading=finished,
            prepublished=len(pending),
        )
        if ended is None:
            raise LostClaim(run_id)
        return ended[1]

    async def _finish_rows(
        self, tx: Tx, run_id: str, step_id: str, message_id: str, finish: Finish
    ) -> list[Event]:
        """Finish the message and complete its step; their events."""
        v = finish.values
        msg = await tx.fetchrow(
            f"UPDATE messages SET {finish.message_sets} WHERE id = :id RETURNING {MESSAGE_COLUMNS}",
            {"t": v["t"], "c": v["c"], "d": v["d"], "id": message_id},
        )
        step = await tx.fetchrow(
            f"UPDATE run_steps SET {finish.step_sets} WHERE id = :id RETURNING {STEP_COLUMNS}",
            {"t": v["t"], "u": v["u"], "ext": v["ext"], "id": step_id},
        )
        if msg is None or step is None:
            raise LostClaim(run_id)
        return [(finish.event, message_dict(msg)), ("thread.run.step.completed", step_dict(step))]

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
        # Over 60 lines: its keyword signature, forwarded whole to the twin or the transaction.
        required = required_action(tool_calls)
        ext = {**(step_extensions or {}), "pending_usage": step_usage}
        details = {"type": "tool_calls", "tool_calls": tool_calls}
        if self.pg is not None:
            paused_run = await self.pg.pause_for_tools(
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
            self.log.wake(run_id)
            if successor is not None:
                self.log.publish_claimed(successor.rows)
            return
        async with self.db.transaction() as tx:
            row = await self._pause(
                tx,
                run_id,
                worker_id,
                step_id,
                details,
                ext,
                required,
                pending,
                paused,
                allowed,
                run_usage=run_usage,
                run_extensions=run_extensions,
            )
            await self.log.append(tx, run_id, [(f"thread.run.{paused}", run_dict(row))])
        self.log.wake(run_id)

    async def _pause(
        self,
        tx: Tx,
        run_id: str,
        worker_id: str,
        step_id: str,
        details: dict[str, Any],
        ext: dict[str, Any],
        required: dict[str, Any],
        pending: Sequence[Event],
        paused: R,
        allowed: Sequence[R],
        *,
        run_usage: dict[str, int] | None,
        run_extensions: dict[str, Any] | None,
    ) -> Row:
        """`pause_for_tools`' general path, in `tx`: the paused run."""
        await tx.execute(
            "UPDATE run_steps SET step_details = :d, extensions = :ext WHERE id = :id",
            {"d": dumps(details), "ext": dumps(ext), "id": step_id},
        )
        if pending:
            await self.log.append_held(tx, run_id, worker_id, pending, prepublished=len(pending))
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
        return row
