"""Runs, run steps and the run event log: creation, lookups and API-driven transitions.

Each status change is one compare-and-set `UPDATE runs ... WHERE status IN (...) RETURNING`,
with the statuses allowed supplied by the caller from `runtime.states`, and the event rows that
describe the change appended in the same transaction. Zero rows means the move was not allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store import ids
from store.base import StoreBase, now
from store.db import Row, Tx, UniqueViolation
from store.errors import BadRequestError, not_found
from store.objects import ObjectsMixin
from store.rows import (
    MESSAGE_COLUMNS,
    RUN_COLUMNS,
    STEP_COLUMNS,
    THREAD_COLUMNS,
    dumps,
    event_payload,
    loads,
    message_dict,
    run_dict,
    run_from_row,
    step_dict,
    step_from_row,
    thread_from_row,
)
from store.statuses import STEP_END_FOR_RUN, sql_in, sql_is
from store.statuses import MessageStatus as M
from store.statuses import RunStatus as R
from store.statuses import StepStatus as S
from store.types import ListPage, Run, RunEvent, RunStep, Thread

RUN_EXPIRY_SECONDS = 600

_RUN_FIELDS = (
    "assistant_id",
    "model",
    "instructions",
    "tools",
    "metadata",
    "temperature",
    "top_p",
    "max_prompt_tokens",
    "max_completion_tokens",
    "truncation_strategy",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "extensions",
)
_RUN_JSON = frozenset(
    {"tools", "metadata", "truncation_strategy", "tool_choice", "response_format", "extensions"}
)


def active_run_error(thread_id: str, run_id: str) -> BadRequestError:
    return BadRequestError(f"Thread {thread_id} already has an active run {run_id}.")


class RunsMixin(ObjectsMixin, StoreBase):
    # --- creation --------------------------------------------------------------------------

    def _run_row(self, project: str, thread_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        created_at = now()
        row = {f: (dumps(fields.get(f)) if f in _RUN_JSON else fields.get(f)) for f in _RUN_FIELDS}
        row["metadata"] = dumps(fields.get("metadata") or {})
        row["parallel_tool_calls"] = 1 if fields.get("parallel_tool_calls", True) else 0
        row["instructions"] = fields.get("instructions") or ""
        row.update(
            id=ids.new_id("run"),
            project=project,
            thread_id=thread_id,
            created_at=created_at,
            status=R.QUEUED.value,
            expires_at=RUN_EXPIRY_SECONDS,  # from the database clock: see `_insert_run`
        )
        return row

    async def _insert_run(
        self, tx: Tx, row: dict[str, Any], first_events: Sequence[tuple[str, dict[str, Any]]] = ()
    ) -> Row:
        cols = ", ".join(row)
        # `expires_at` is compared with the database clock by claims and the sweeper, so it is
        # stamped with it too, and `created_at` with it (the run says it expires 600 s after it
        # was created): a creating process whose clock is behind (or ahead) must not make runs
        # that are already expired (or that live too long). `row["expires_at"]` holds the
        # lifetime in seconds until here.
        stamped = {"created_at": "{now_s}", "expires_at": "{now_s} + :expires_at"}
        values = ", ".join(stamped.get(c, f":{c}") for c in row)
        try:
            created = await tx.fetchrow(
                f"INSERT INTO runs ({cols}) VALUES ({values}) RETURNING {RUN_COLUMNS}", row
            )
        except UniqueViolation:
            active = await self._active_run(tx, row["thread_id"])
            raise active_run_error(row["thread_id"], active or "unknown") from None
        assert created is not None
        snapshot = run_dict(created)
        await self._append_events(
            tx,
            row["id"],
            [*first_events, ("thread.run.created", snapshot), ("thread.run.queued", snapshot)],
        )
        return created

    async def create_run(
        self,
        project: str,
        thread_id: str,
        fields: dict[str, Any],
        additional_messages: list[dict[str, Any]],
    ) -> Run:
        """Queue a run on an existing thread, after appending `additional_messages`.

        Refused with the real API's 400 when the thread already has an active run; the partial
        unique index on `runs(thread_id)` enforces it even against a concurrent creator.
        """
        row = self._run_row(project, thread_id, fields)
        async with self.db.transaction() as tx:
            await self._lock_thread(tx, project, thread_id)
            active = await self._active_run(tx, thread_id)
            if active is not None:
                raise active_run_error(thread_id, active)
            await self._insert_messages(
                tx, project, thread_id, additional_messages, row["created_at"]
            )
            created = await self._insert_run(tx, row)
        self._notify_queue()
        return run_from_row(created)

    async def create_thread_and_run(
        self,
        project: str,
        thread: dict[str, Any],
        fields: dict[str, Any],
    ) -> tuple[Thread, Run]:
        """Create a thread (with its messages) and queue a run on it, in one transaction."""
        thread_id = ids.new_id("thread")
        row = self._run_row(project, thread_id, fields)
        async with self.db.transaction() as tx:
            trow = await tx.fetchrow(
                "INSERT INTO threads (id, project, created_at, tool_resources, metadata, version) "
                "VALUES (:id, :project, :created_at, :tool_resources, :metadata, 0) "
                f"RETURNING {THREAD_COLUMNS}",
                {
                    "id": thread_id,
                    "project": project,
                    "created_at": row["created_at"],
                    "tool_resources": dumps(thread.get("tool_resources")),
                    "metadata": dumps(thread.get("metadata") or {}),
                },
            )
            await self._insert_messages(
                tx, project, thread_id, thread.get("messages") or [], row["created_at"]
            )
            assert trow is not None
            created = await self._insert_run(
                tx, row, [("thread.created", thread_from_row(trow).to_dict())]
            )
        assert trow is not None
        self._notify_queue()
        return thread_from_row(trow), run_from_row(created)

    def _notify_queue(self) -> None:
        from store.notify import QUEUE  # noqa: PLC0415

        self.notifier.notify(QUEUE)

    # --- lookups ---------------------------------------------------------------------------

    async def _run_row_or_404(self, project: str, thread_id: str, run_id: str) -> Row:
        row = await self.db.fetchrow(
            f"SELECT {RUN_COLUMNS} FROM runs "
            "WHERE id = :id AND thread_id = :thread_id AND project = :project",
            {"id": run_id, "thread_id": thread_id, "project": project},
        )
        if row is None:
            await self.get_thread(project, thread_id)
            raise not_found("run", run_id)
        return row

    async def get_run(self, project: str, thread_id: str, run_id: str) -> Run:
        return run_from_row(await self._run_row_or_404(project, thread_id, run_id))

    async def run_status(self, run_id: str) -> str | None:
        """The run's status, for waiters (no scoping: callers already hold a scoped run)."""
        row = await self.db.fetchrow("SELECT status FROM runs WHERE id = :id", {"id": run_id})
        return None if row is None else str(row["status"])

    async def update_run(
        self, project: str, thread_id: str, run_id: str, metadata: dict[str, str] | None
    ) -> Run:
        """Replace the run's metadata; allowed in every status (workers never write it)."""
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "UPDATE runs SET metadata = :metadata "
                "WHERE id = :id AND thread_id = :thread_id AND project = :project "
                f"RETURNING {RUN_COLUMNS}",
                {
                    "metadata": dumps(metadata or {}),
                    "id": run_id,
                    "thread_id": thread_id,
                    "project": project,
                },
            )
        if row is None:
            await self.get_thread(project, thread_id)
            raise not_found("run", run_id)
        return run_from_row(row)

    async def list_runs(
        self,
        project: str,
        thread_id: str,
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
    ) -> ListPage[Run]:
        page = await self._page(
            table="runs",
            columns=RUN_COLUMNS,
            scope="thread_id = :thread_id AND project = :project",
            params={"thread_id": thread_id, "project": project},
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=run_from_row,
        )
        if not page.data:
            await self.get_thread(project, thread_id)
        return page

    async def get_step(self, project: str, thread_id: str, run_id: str, step_id: str) -> RunStep:
        row = await self.db.fetchrow(
            f"SELECT {STEP_COLUMNS} FROM run_steps WHERE id = :id AND run_id = :run_id "
            "AND thread_id = :thread_id AND project = :project",
            {"id": step_id, "run_id": run_id, "thread_id": thread_id, "project": project},
        )
        if row is None:
            await self._run_row_or_404(project, thread_id, run_id)
            raise not_found("run step", step_id)
        return step_from_row(row)

    async def list_steps(
        self,
        project: str,
        thread_id: str,
        run_id: str,
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
    ) -> ListPage[RunStep]:
        page = await self._page(
            table="run_steps",
            columns=STEP_COLUMNS,
            scope="run_id = :run_id AND thread_id = :thread_id AND project = :project",
            params={"run_id": run_id, "thread_id": thread_id, "project": project},
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=step_from_row,
        )
        if not page.data:
            await self._run_row_or_404(project, thread_id, run_id)
        return page

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

    # --- API-driven transitions ------------------------------------------------------------

    async def cancel_run(
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
                await self._notify_remote(tx, run_id, "c")
            if row["worker_id"] is None:
                ended = await self._end_run(
                    tx, run_id, to=R.CANCELLED, allowed=(R.CANCELLING,), fields={}
                )
                if ended is not None:
                    row = ended[0]
        self._notify(run_id)
        self.notifier.notify(f"cancel:{run_id}")
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
            step = await tx.fetchrow(
                f"SELECT {STEP_COLUMNS} FROM run_steps WHERE run_id = :run_id "
                f"AND type = 'tool_calls' AND status = {sql_is(S.IN_PROGRESS)} "
                "ORDER BY seq DESC LIMIT 1",
                {"run_id": run_id},
            )
            events: list[tuple[str, dict[str, Any]]] = []
            if step is not None:
                details = loads(step["step_details"])
                for call in details.get("tool_calls", []):
                    if call.get("type") == "function" and call["id"] in by_id:
                        call["function"]["output"] = by_id[call["id"]]
                ext = loads(step["extensions"]) or {}
                usage = ext.pop("pending_usage", None)
                done = await tx.fetchrow(
                    f"UPDATE run_steps SET status = {sql_is(S.COMPLETED)}, completed_at = :t, "
                    "step_details = :details, usage = :usage, extensions = :ext "
                    f"WHERE id = :id AND status = {sql_is(S.IN_PROGRESS)} "
                    f"RETURNING {STEP_COLUMNS}",
                    {
                        "t": now(),
                        "details": dumps(details),
                        "usage": dumps(usage),
                        "ext": dumps(ext or None),
                        "id": step["id"],
                    },
                )
                if done is not None:
                    events.append(("thread.run.step.completed", step_dict(done)))
            events.append((f"thread.run.{resumed}", run_dict(row)))
            last = await self._append_events(tx, run_id, events)
        self._notify(run_id)
        self._notify_queue()
        return run_from_row(row), last - len(events)

    # --- ending a run ----------------------------------------------------------------------

    async def _end_run(
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
        stamp = {
            R.CANCELLED: "cancelled_at",
            R.FAILED: "failed_at",
            R.COMPLETED: "completed_at",
            R.EXPIRED: None,
            R.INCOMPLETE: None,
        }[to]
        sets = [
            f"status = {sql_is(to)}",
            "worker_id = NULL",
            "lease_expires_at = NULL",
            "required_action = NULL",
            "expires_at = NULL",
        ]
        params: dict[str, Any] = {"id": run_id, "t": t}
        if stamp:
            sets.append(f"{stamp} = :t")
        for name, value in fields.items():
            sets.append(f"{name} = :f_{name}")
            params[f"f_{name}"] = value
        guard = " AND worker_id IS NOT NULL AND lease_expires_at < {now}" if lapsed_only else ""
        if worker_id is not None:
            guard += " AND worker_id = :worker_id"
            params["worker_id"] = worker_id
        row = await tx.fetchrow(
            f"UPDATE runs SET {', '.join(sets)} WHERE id = :id AND status IN {sql_in(allowed)}"
            f"{guard} RETURNING {RUN_COLUMNS}",
            params,
        )
        if row is None:
            return None
        events: list[tuple[str, dict[str, Any]]] = list(leading)
        if before is not None:
            events.append(("thread.run.cancelling", run_dict(before)))
        step_to = step_status or STEP_END_FOR_RUN[to]
        step_stamp = {
            S.CANCELLED: "cancelled_at",
            S.FAILED: "failed_at",
            S.EXPIRED: "expired_at",
            S.COMPLETED: "completed_at",
        }[step_to]
        reason = (
            message_reason
            or {
                R.CANCELLED: "run_cancelled",
                R.FAILED: "run_failed",
                R.EXPIRED: "run_expired",
                R.INCOMPLETE: "max_tokens",
                R.COMPLETED: "run_cancelled",
            }[to]
        )
        messages = await tx.fetch(
            f"UPDATE messages SET status = {sql_is(M.INCOMPLETE)}, incomplete_at = :t, "
            "incomplete_details = :details WHERE run_id = :run_id "
            f"AND status = {sql_is(M.IN_PROGRESS)} RETURNING {MESSAGE_COLUMNS}",
            {"t": t, "details": dumps({"reason": reason}), "run_id": run_id},
        )
        events.extend(("thread.message.incomplete", message_dict(m)) for m in messages)
        step_error = fields.get("last_error") if step_to == S.FAILED else None
        steps = await tx.fetch(
            f"UPDATE run_steps SET status = {sql_is(step_to)}, {step_stamp} = :t, "
            "last_error = :last_error WHERE run_id = :run_id "
            f"AND status = {sql_is(S.IN_PROGRESS)} RETURNING {STEP_COLUMNS}",
            {"t": t, "run_id": run_id, "last_error": _step_error(step_error)},
        )
        events.extend((f"thread.run.step.{step_to}", step_dict(s)) for s in steps)
        events.append((f"thread.run.{to}", run_dict(row)))
        last = await self._append_events(tx, run_id, events, prepublished=prepublished)
        return row, last


def _step_error(run_error: str | None) -> str | None:
    """A run's `last_error` JSON as a step's (steps allow only two codes)."""
    if run_error is None:
        return None
    err = loads(run_error)
    code = err.get("code")
    if code not in ("server_error", "rate_limit_exceeded"):
        code = "server_error"
    return dumps({"code": code, "message": err.get("message", "")})
