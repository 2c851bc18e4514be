"""Postgres: each write a worker makes for a run as one statement.

In `store.work` a worker's writes (claiming runs, opening a step, finishing a message and
ending the run, pausing for tool outputs) are transactions of three to seven statements. Over a
network each statement, and BEGIN and COMMIT, is a round trip that costs both ends CPU, so on
Postgres they run here as one data-modifying statement each (`WITH r AS (UPDATE runs ...), s AS
(INSERT ...), ins AS (INSERT INTO run_events ...) SELECT ...`), atomic on its own. The guard is the
general path's: `r`, the update of the run, checks the claim (`worker_id` and status) and every
other change is made only if `r` matched, so a worker that lost its claim changes nothing.

Snapshot events (a run, step or message as of the change) are logged as the changed row
(`data_format = 'row'`, see `store.rows.snapshot_sql`) and rendered into the API's shape when read,
by the functions that render those rows everywhere; the statement's answer carries the same
snapshots for this process's live subscribers.

The statement that completes or pauses a run can also claim the next queued run for the slot it
frees (`Claim`, a successor), with the claimed run's prompt context, as a claim statement does:
a worker busy with a queue claims without a round trip of its own.

A finish takes this path when the run's only open step and message are the ones it completes
(almost always); otherwise, or when the claim was lost, the general transaction runs and says
what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store.base import Logged
from store.db import Database, Row
from store.eventlog import EventLog
from store.picking import (
    CLAIMED,
    Claim,
    claim_ctes,
    claimed_row,
    successor_parts,
    took_successors,
)
from store.records import RunRecord
from store.rows import dumps, loads, snapshot_sql
from store.statuses import MessageStatus as M
from store.statuses import RunStatus as R
from store.statuses import StepStatus as S
from store.statuses import sql_in, sql_is

Event = tuple[str, dict[str, Any]]

_STEP_SNAPSHOT = snapshot_sql("step")
_MESSAGE_SNAPSHOT = snapshot_sql("message")
_RUN_SNAPSHOT = snapshot_sql("run")


def _held(statuses: Sequence[R]) -> str:
    """The claim check of a worker's write: the run is `:worker_id`'s, in one of `statuses`."""
    return f"id = :id AND worker_id = :worker_id AND status IN {sql_in(statuses)}"


_OPEN_OURS = (
    " AND EXISTS (SELECT 1 FROM messages WHERE id = :message_id)"
    " AND EXISTS (SELECT 1 FROM run_steps WHERE id = :step_id)"
)
"""The message and step a turn finishes are still there (not discarded by a re-queue)."""


def _run_goes_on(run_fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A finished message's run update when the run goes on (a message before tool calls):
    its usage and extensions, if the worker still holds it in progress."""
    return (
        "UPDATE runs SET usage = :f_usage, extensions = COALESCE(:f_ext, extensions), "
        f"event_seq = event_seq + :n WHERE {_held((R.IN_PROGRESS,))}{_OPEN_OURS} "
        "RETURNING event_seq, followers",
        {"f_usage": run_fields["usage"], "f_ext": run_fields.get("extensions")},
    )


def _run_ends(
    end_run: R, end_allowed: Sequence[R], run_fields: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A finished message's run update when the message ends the run: `end_run` with
    `run_fields`, the claim released, if nothing else of the run is open (the general path
    closes, and logs, such work)."""
    stamp = {R.COMPLETED: "completed_at = :t, "}.get(end_run, "")
    sets = "".join(f"{name} = :f_{name}, " for name in run_fields)
    return (
        f"UPDATE runs SET status = {sql_is(end_run)}, {stamp}{sets}worker_id = NULL, "
        "lease_expires_at = NULL, required_action = NULL, expires_at = NULL, "
        f"event_seq = event_seq + :n WHERE {_held(end_allowed)}{_OPEN_OURS} "
        "AND NOT EXISTS (SELECT 1 FROM messages WHERE run_id = :id "
        f"AND status = {sql_is(M.IN_PROGRESS)} AND id != :message_id) "
        "AND NOT EXISTS (SELECT 1 FROM run_steps WHERE run_id = :id "
        f"AND status = {sql_is(S.IN_PROGRESS)} AND id != :step_id) "
        f"RETURNING event_seq, followers, {_RUN_SNAPSHOT} AS j",
        {f"f_{name}": value for name, value in run_fields.items()},
    )


class PgWrites:
    """The one-statement Postgres twins of `store.work`'s and `store.claims`' hot writes (the
    general transactions stay the reference: tests/store/test_pg_twin.py runs both)."""

    def __init__(self, db: Database, log: EventLog) -> None:
        self.db = db
        self.log = log

    async def claim(self, claim: Claim) -> list[Row]:
        """Claim, log each run's `thread.run.in_progress` (its row) and notify, in one statement."""
        rows = await self.db.fetch(
            f"WITH {claim_ctes(claim)} SELECT {CLAIMED} FROM c",
            claim.params(),
        )
        return [claimed_row(dict(row)) for row in rows]

    async def begin_step(
        self,
        run: RunRecord,
        worker_id: str,
        *,
        values: dict[str, Any],
        message: bool,
        pending: Sequence[Event],
    ) -> tuple[Row, Row | None, int] | None:
        """Open a step (and its message) after `pending`, in one statement; None if the claim
        was lost."""
        ctes = [
            "s AS (INSERT INTO run_steps (id, project, run_id, thread_id, assistant_id, "
            "created_at, type, status, step_details, metadata, extensions) SELECT "
            "CAST(:step_id AS text), CAST(:project AS text), CAST(:id AS text), "
            "CAST(:thread_id AS text), CAST(:assistant_id AS text), CAST(:t AS integer), "
            f"CAST(:type AS text), {sql_is(S.IN_PROGRESS)}, CAST(:details AS text), '{{}}', "
            f"CAST(:ext AS text) FROM r RETURNING {_STEP_SNAPSHOT} AS j)"
        ]
        events = [
            *(Logged(name, data) for name, data in pending),
            Logged("thread.run.step.created", row="s"),
            Logged("thread.run.step.in_progress", row="s"),
        ]
        if message:
            ctes.append(
                "m AS (INSERT INTO messages (id, project, thread_id, created_at, status, role, "
                "content, assistant_id, run_id, metadata) SELECT CAST(:message_id AS text), "
                "CAST(:project AS text), CAST(:thread_id AS text), CAST(:t AS integer), "
                f"{sql_is(M.IN_PROGRESS)}, 'assistant', '[]', CAST(:assistant_id AS text), "
                f"CAST(:id AS text), '{{}}' FROM r RETURNING {_MESSAGE_SNAPSHOT} AS j)"
            )
            events.append(Logged("thread.message.created", row="m"))
            events.append(Logged("thread.message.in_progress", row="m"))
        row = await self.log.fused(
            None,
            run.id,
            f"UPDATE runs SET event_seq = event_seq + :n WHERE {_held((R.IN_PROGRESS,))} "
            "RETURNING event_seq, followers",
            ctes,
            events,
            {**values, "worker_id": worker_id},
            prepublished=len(pending),
        )
        if row is None:
            return None
        msg = loads(row["m_j"]) if message else None
        return loads(row["s_j"]), msg, int(row["event_seq"])

    async def finish_message(
        self,
        run_id: str,
        worker_id: str,
        *,
        step_id: str,
        message_id: str,
        message_sets: str,
        step_sets: str,
        values: dict[str, Any],
        message_event: str,
        pending: Sequence[Event],
        end_run: R | None,
        end_allowed: Sequence[R],
        run_fields: dict[str, Any],
        successor: Claim | None,
    ) -> int | None:
        """Complete the message and its step after `pending` (and with `end_run`, end the run
        and make the `successor` claim), in one statement; None if the claim was lost or other
        work of the run is open."""
        claim_ctes, claim_select, claim_params = successor_parts(
            successor if end_run is not None else None
        )
        events = [
            *(Logged(name, data) for name, data in pending),
            Logged(message_event, row="m"),
            Logged("thread.run.step.completed", row="s"),
        ]
        if end_run is None:
            run_update, run_params = _run_goes_on(run_fields)
        else:
            run_update, run_params = _run_ends(end_run, end_allowed, run_fields)
            events.append(Logged(f"thread.run.{end_run}", row="r"))
        params = {
            **claim_params,
            **values,
            **run_params,
            "worker_id": worker_id,
            "message_id": message_id,
            "step_id": step_id,
        }
        row = await self.log.fused(
            None,
            run_id,
            run_update,
            [
                f"m AS (UPDATE messages SET {message_sets} WHERE id = :message_id "
                f"AND EXISTS (SELECT 1 FROM r) RETURNING {_MESSAGE_SNAPSHOT} AS j)",
                f"s AS (UPDATE run_steps SET {step_sets} WHERE id = :step_id "
                f"AND EXISTS (SELECT 1 FROM r) RETURNING {_STEP_SNAPSHOT} AS j)",
                *claim_ctes,
            ],
            events,
            params,
            prepublished=len(pending),
            select=claim_select,
        )
        if row is None:
            return None
        took_successors(successor if end_run is not None else None, row)
        return int(row["event_seq"])

    async def pause_for_tools(
        self,
        run_id: str,
        worker_id: str,
        *,
        step_id: str,
        details: dict[str, Any],
        step_extensions: dict[str, Any],
        required: dict[str, Any],
        run_usage: dict[str, int] | None,
        run_extensions: dict[str, Any] | None,
        pending: Sequence[Event],
        paused: R,
        allowed: Sequence[R],
        successor: Claim | None,
    ) -> dict[str, Any] | None:
        """Record the calls on their step and pause the run after `pending`, in one statement;
        the run's snapshot (its API columns), or None if the claim was lost. The `successor`
        claim is made in the same statement."""
        claim_ctes, claim_select, claim_params = successor_parts(successor)
        row = await self.log.fused(
            None,
            run_id,
            f"UPDATE runs SET status = {sql_is(paused)}, required_action = :ra, usage = :u, "
            "extensions = COALESCE(:run_ext, extensions), worker_id = NULL, "
            f"lease_expires_at = NULL, event_seq = event_seq + :n WHERE {_held(allowed)} "
            "AND EXISTS (SELECT 1 FROM run_steps WHERE id = :step_id) "
            f"RETURNING event_seq, followers, {_RUN_SNAPSHOT} AS j",
            [
                "s AS (UPDATE run_steps SET step_details = :d, extensions = :step_ext "
                "WHERE id = :step_id AND EXISTS (SELECT 1 FROM r) RETURNING id)",
                *claim_ctes,
            ],
            [
                *(Logged(name, data) for name, data in pending),
                Logged(f"thread.run.{paused}", row="r"),
            ],
            {
                **claim_params,
                "worker_id": worker_id,
                "step_id": step_id,
                "d": dumps(details),
                "step_ext": dumps(step_extensions),
                "ra": dumps(required),
                "u": dumps(run_usage),
                "run_ext": dumps(run_extensions),
            },
            prepublished=len(pending),
            select=claim_select,
        )
        if row is None:
            return None
        took_successors(successor, row)
        return dict(loads(row["r_j"]))
