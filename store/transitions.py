"""Status changes the API and the sweeper make: cancel, tool outputs, and the end of a run.

Each is one compare-and-set `UPDATE runs ... WHERE status IN (...) RETURNING`, with the statuses
allowed supplied by the caller from `runtime.states`, and the events that describe the change
appended in the same transaction. Zero rows means the move was not allowed. Ending a run closes
its open steps and messages first (`end_in`), in the same transaction, for workers too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from store.base import now
from store.db import Database, Row, Tx
from store.errors import BadRequestError, LostClaim, not_found
from store.eventlog import EventLog
from store.rows import (
    MESSAGE_COLUMNS,
    RUN_COLUMNS,
    STEP_COLUMNS,
    dumps,
    loads,
    message_dict,
    run_dict,
    run_from_row,
    step_dict,
)
from store.statuses import HELD_RUN, STEP_END_FOR_RUN, sql_in, sql_is
from store.statuses import MessageStatus as M
from store.statuses import RunStatus as R
from store.statuses import StepStatus as S
from store.types import Run

Event = tuple[str, dict[str, Any]]


class TransitionPart:
    """Run status changes made by the API (cancel, tool outputs) and by anyone ending a run."""

    def __init__(self, db: Database, log: EventLog) -> None:
        self.db = db
        self.log = log

    async def cancel(
        self,
        project: str,
        thread_id: str,
        run_id: str,
        *,
        cancellable: Sequence[R],
    ) -> Run:
        """Request cancellation: a durable flag, and `cancelling`.

        A run no worker holds (queued, or paused at `requires_action`) ends `cancelled` in the
        same transaction, with its open steps and messages closed. A run a worker holds stays
        `cancelling` until that worker sees the flag (or the sweeper, if the worker vanished);
        the worker, the only writer of a held run's event log, then logs `thread.run.cancelling`
        and what follows.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"UPDATE runs SET status = {sql_is(R.CANCELLING)}, cancel_requested = 1 "
                f"WHERE id = :id AND thread_id = :thread_id AND project = :project "
                f"AND status IN {sql_in(cancellable)} RETURNING {RUN_COLUMNS}",
                {"id": run_id, "thread_id": thread_id, "project": project},
            )
            if row is None:
                current = await self._run_row_or_404_tx(tx, project, thread_id, run_id)
                raise BadRequestError(
                    f"Cannot cancel run with status '{current['status']}'.",
                    param=None,
                    code=None,
                )
            if row["worker_id"] is not None and self.db.dialect == "postgresql":
                await self.log.notify_remote(tx, run_id, "c")
            if row["worker_id"] is None:
                ended = await self.end_in(
                    tx, run_id, to=R.CANCELLED, allowed=(R.CANCELLING,), fields={}
                )
                if ended is not None:
                    row = ended[0]
        self.log.wake(run_id)
        self.log.notifier.notify(f"cancel:{run_id}")
        return run_from_row(row)

    async def _run_row_or_404_tx(self, tx: Tx, project: str, thread_id: str, run_id: str) -> Row:
        row = await tx.fetchrow(
            f"SELECT {RUN_COLUMNS} FROM runs "
            "WHERE id = :id AND thread_id = :thread_id AND project = :project",
            {"id": run_id, "thread_id": thread_id, "project": project},
        )
        if row is None:
            thread = await tx.fetchrow(
                "SELECT id FROM threads WHERE id = :id AND project = :project",
                {"id": thread_id, "project": project},
            )
            raise not_found(
                "thread" if thread is None else "run", thread_id if thread is None else run_id
            )
        return row

    async def submit_tool_outputs(
        self,
        project: str,
        thread_id: str,
        run_id: str,
        outputs: list[dict[str, str]],
        *,
        paused: R,
        resumed: R,
    ) -> tuple[Run, int]:
        """Accept tool outputs for a paused run and queue it again.

        Returns the run and the sequence number of the last event before this submit's (a
        stream of the continuation starts after it).

        The outputs are checked against the pending calls in `required_action`, and the
        compare-and-set matches that same `required_action`, so a concurrent submit or cancel
        can never be applied on top of this one: exactly one wins, the other gets the 400.
        """
        async with self.db.transaction() as tx:
            current = await self._run_row_or_404_tx(tx, project, thread_id, run_id)
            if current["status"] != paused:
                raise BadRequestError(
                    f'Runs in status "{current["status"]}" do not accept tool outputs.'
                )
            required = loads(current["required_action"]) or {}
            calls = required.get("submit_tool_outputs", {}).get("tool_calls", [])
            expected = [c["id"] for c in calls]
            given = [o["tool_call_id"] for o in outputs]
            if sorted(expected) != sorted(given):
                raise BadRequestError(
                    f"Expected tool outputs for call_ids {expected!r}, got {given!r}",
                    param="tool_outputs",
                )
            row = await tx.fetchrow(
                f"UPDATE runs SET status = {sql_is(resumed)}, required_action = NULL "
                f"WHERE id = :id AND status = {sql_is(paused)} AND required_action = :required "
                f"RETURNING {RUN_COLUMNS}",
                {"id": run_id, "required": current["required_action"]},
            )
            if row is None:  # pragma: no cover - the transaction holds the write lock
                raise BadRequestError(
                    f'Runs in status "{current["status"]}" do not accept tool outputs.'
                )
            by_id = {o["tool_call_id"]: o["output"] for o in outputs}
            events = await self._complete_tool_step(tx, run_id, by_id)
            events.append((f"thread.run.{resumed}", run_dict(row)))
            last = await self.log.append(tx, run_id, events)
        self.log.wake(run_id)
        self.log.wake_queue()
        return run_from_row(row), last - len(events)

    async def _complete_tool_step(
        self, tx: Tx, run_id: str, outputs: dict[str, str]
    ) -> list[Event]:
        """Complete the run's open `tool_calls` step with the outputs (by call id) and the usage
        it kept waiting; its event (none if no such step is open)."""
        step = await tx.fetchrow(
            f"SELECT {STEP_COLUMNS} FROM run_steps WHERE run_id = :run_id "
            f"AND type = 'tool_calls' AND status = {sql_is(S.IN_PROGRESS)} "
            "ORDER BY seq DESC LIMIT 1",
            {"run_id": run_id},
        )
        if step is None:
            return []
        details = loads(step["step_details"])
        for call in details.get("tool_calls", []):
            if call.get("type") == "function" and call["id"] in outputs:
                call["function"]["output"] = outputs[call["id"]]
        ext = loads(step["extensions"]) or {}
        usage = ext.pop("pending_usage", None)
        done = await tx.fetchrow(
            f"UPDATE run_steps SET status = {sql_is(S.COMPLETED)}, completed_at = :t, "
            "step_details = :details, usage = :usage, extensions = :ext "
            f"WHERE id = :id AND status = {sql_is(S.IN_PROGRESS)} RETURNING {STEP_COLUMNS}",
            {
                "t": now(),
                "details": dumps(details),
                "usage": dumps(usage),
                "ext": dumps(ext or None),
                "id": step["id"],
            },
        )
        return [] if done is None else [("thread.run.step.completed", step_dict(done))]

    async def end(
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
        """Move a run to a terminal status (see `end_in`); `None` if it was not allowed.

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
                    await self.log.append_held(
                        tx,
                        run_id,
                        worker_id,
                        pending,
                        statuses=tuple(HELD_RUN),
                        prepublished=len(pending),
                    )
            ended = await self.end_in(
                tx,
                run_id,
                to=to,
                allowed=allowed,
                fields=fields,
                worker_id=worker_id,
                lapsed_only=lapsed_only,
            )
        self.log.wake(run_id)
        return None if ended is None else ended[0]

    async def end_in(
        self,
        tx: Tx,
        run_id: str,
        *,
        to: R,
        allowed: Sequence[R],
        fields: dict[str, Any],
        worker_id: str | None = None,
        step_status: S | None = None,
        message_reason: str | None = None,
        lapsed_only: bool = False,
        leading: Sequence[tuple[str, dict[str, Any]]] = (),
        prepublished: int = 0,
    ) -> tuple[Row, int] | None:
        """Move a run to the terminal status `to`, closing its open steps and messages first.

        Open steps become `step_status` (default: the run's own terminal status), open
        assistant messages `incomplete` with `message_reason`; their terminal events precede
        the run's. Returns the run row and the run's last event sequence number, or `None` if
        the run was not in `allowed` (or not held by `worker_id`). `leading` events (the first
        `prepublished` of them already published live) go first in the same append.
        """
        t = now()
        before = None
        if to == R.CANCELLED:
            before = await tx.fetchrow(
                f"SELECT {RUN_COLUMNS} FROM runs "
                f"WHERE id = :id AND status = {sql_is(R.CANCELLING)}",
                {"id": run_id},
            )
        sql, params = _end_update(to, allowed, fields, worker_id=worker_id, lapsed=lapsed_only)
        row = await tx.fetchrow(sql, {**params, "id": run_id, "t": t})
        if row is None:
            return None
        events: list[Event] = list(leading)
        if before is not None:
            events.append(("thread.run.cancelling", run_dict(before)))
        step_to = step_status or STEP_END_FOR_RUN[to]
        events += await self._close_open_work(
            tx,
            run_id,
            t,
            step_to=step_to,
            reason=message_reason or _MESSAGE_REASON[to],
            step_error=fields.get("last_error") if step_to == S.FAILED else None,
        )
        events.append((f"thread.run.{to}", run_dict(row)))
        last = await self.log.append(tx, run_id, events, prepublished=prepublished)
        return row, last

    async def _close_open_work(
        self, tx: Tx, run_id: str, t: int, *, step_to: S, reason: str, step_error: str | None
    ) -> list[Event]:
        """End the run's open messages (`incomplete`, `reason`) and steps (`step_to`)."""
        messages = await tx.fetch(
            f"UPDATE messages SET status = {sql_is(M.INCOMPLETE)}, incomplete_at = :t, "
            "incomplete_details = :details WHERE run_id = :run_id "
            f"AND status = {sql_is(M.IN_PROGRESS)} RETURNING {MESSAGE_COLUMNS}",
            {"t": t, "details": dumps({"reason": reason}), "run_id": run_id},
        )
        events: list[Event] = [("thread.message.incomplete", message_dict(m)) for m in messages]
        steps = await tx.fetch(
            f"UPDATE run_steps SET status = {sql_is(step_to)}, {_STEP_STAMP[step_to]} = :t, "
            "last_error = :last_error WHERE run_id = :run_id "
            f"AND status = {sql_is(S.IN_PROGRESS)} RETURNING {STEP_COLUMNS}",
            {"t": t, "run_id": run_id, "last_error": _step_error(step_error)},
        )
        events.extend((f"thread.run.step.{step_to}", step_dict(s)) for s in steps)
        return events


_RUN_STAMP = {R.CANCELLED: "cancelled_at", R.FAILED: "failed_at", R.COMPLETED: "completed_at"}
"""The time column each terminal run status sets (expired and incomplete runs set none)."""
_STEP_STAMP = {
    S.CANCELLED: "cancelled_at",
    S.FAILED: "failed_at",
    S.EXPIRED: "expired_at",
    S.COMPLETED: "completed_at",
}
_MESSAGE_REASON = {
    R.CANCELLED: "run_cancelled",
    R.FAILED: "run_failed",
    R.EXPIRED: "run_expired",
    R.INCOMPLETE: "max_tokens",
    R.COMPLETED: "run_cancelled",
}
"""Why a message still open when its run ends in each status is `incomplete`."""


def _end_update(
    to: R,
    allowed: Sequence[R],
    fields: dict[str, Any],
    *,
    worker_id: str | None,
    lapsed: bool,
) -> tuple[str, dict[str, Any]]:
    """The compare-and-set that ends a run in `to` (`:id`, `:t` to bind), and its parameters."""
    sets = [
        f"status = {sql_is(to)}",
        "worker_id = NULL",
        "lease_expires_at = NULL",
        "required_action = NULL",
        "expires_at = NULL",
    ]
    params: dict[str, Any] = {}
    if to in _RUN_STAMP:
        sets.append(f"{_RUN_STAMP[to]} = :t")
    for name, value in fields.items():
        sets.append(f"{name} = :f_{name}")
        params[f"f_{name}"] = value
    guard = " AND worker_id IS NOT NULL AND lease_expires_at < {now}" if lapsed else ""
    if worker_id is not None:
        guard += " AND worker_id = :worker_id"
        params["worker_id"] = worker_id
    sql = (
        f"UPDATE runs SET {', '.join(sets)} WHERE id = :id AND status IN {sql_in(allowed)}"
        f"{guard} RETURNING {RUN_COLUMNS}"
    )
    return sql, params


def _step_error(run_error: str | None) -> str | None:
    """A run's `last_error` JSON as a step's (steps allow only two codes)."""
    if run_error is None:
        return None
    err = loads(run_error)
    code = err.get("code")
    if code not in ("server_error", "rate_limit_exceeded"):
        code = "server_error"
    return dumps({"code": code, "message": err.get("message", "")})
