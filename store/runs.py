"""Runs and their steps: creation, lookups, and the metadata users may change.

A run is created `queued` with its `thread.run.created` and `thread.run.queued` events in the
same transaction, under the thread's lock (`ThreadPart.lock`); status changes are made by
`store.transitions` (the API and the sweeper), `store.claims` and `store.work` (workers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store import ids
from store.base import now
from store.db import Database, Row, Tx, UniqueViolation
from store.errors import BadRequestError, not_found
from store.eventlog import EventLog
from store.paging import page
from store.records import RunRecord
from store.rows import (
    RUN_COLUMNS,
    STEP_COLUMNS,
    dumps,
    run_dict,
    run_from_row,
    step_from_row,
    thread_from_row,
)
from store.statuses import RunStatus as R
from store.threads import ThreadPart
from store.types import ListPage, Run, RunStep, Thread

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


class RunPart:
    """The `runs` and `run_steps` tables, as the API reads and creates them."""

    def __init__(self, db: Database, log: EventLog, threads: ThreadPart) -> None:
        self.db = db
        self.log = log
        self.threads = threads

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
            active = await self.threads.active_run(tx, row["thread_id"])
            raise active_run_error(row["thread_id"], active or "unknown") from None
        assert created is not None
        snapshot = run_dict(created)
        await self.log.append(
            tx,
            row["id"],
            [*first_events, ("thread.run.created", snapshot), ("thread.run.queued", snapshot)],
        )
        return created

    async def create(
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
            await self.threads.lock(tx, project, thread_id)
            active = await self.threads.active_run(tx, thread_id)
            if active is not None:
                raise active_run_error(thread_id, active)
            await self.threads.insert_messages(
                tx, project, thread_id, additional_messages, row["created_at"]
            )
            created = await self._insert_run(tx, row)
        self.log.wake_queue()
        return run_from_row(created)

    async def create_with_thread(
        self,
        project: str,
        thread: dict[str, Any],
        fields: dict[str, Any],
    ) -> tuple[Thread, Run]:
        """Create a thread (with its messages) and queue a run on it, in one transaction."""
        thread_id = ids.new_id("thread")
        row = self._run_row(project, thread_id, fields)
        async with self.db.transaction() as tx:
            trow = await self.threads.insert(tx, project, thread_id, row["created_at"], thread)
            await self.threads.insert_messages(
                tx, project, thread_id, thread.get("messages") or [], row["created_at"]
            )
            created = await self._insert_run(
                tx, row, [("thread.created", thread_from_row(trow).to_dict())]
            )
        self.log.wake_queue()
        return thread_from_row(trow), run_from_row(created)

    async def row_or_404(self, project: str, thread_id: str, run_id: str) -> Row:
        row = await self.db.fetchrow(
            f"SELECT {RUN_COLUMNS} FROM runs "
            "WHERE id = :id AND thread_id = :thread_id AND project = :project",
            {"id": run_id, "thread_id": thread_id, "project": project},
        )
        if row is None:
            await self.threads.get(project, thread_id)
            raise not_found("run", run_id)
        return row

    async def get(self, project: str, thread_id: str, run_id: str) -> Run:
        return run_from_row(await self.row_or_404(project, thread_id, run_id))

    async def status(self, run_id: str) -> str | None:
        """The run's status, for waiters (no scoping: callers already hold a scoped run)."""
        row = await self.db.fetchrow("SELECT status FROM runs WHERE id = :id", {"id": run_id})
        return None if row is None else str(row["status"])

    async def update(
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
            await self.threads.get(project, thread_id)
            raise not_found("run", run_id)
        return run_from_row(row)

    async def list(
        self,
        project: str,
        thread_id: str,
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
    ) -> ListPage[Run]:
        found = await page(
            self.db,
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
        if not found.data:
            await self.threads.get(project, thread_id)
        return found

    async def get_step(self, project: str, thread_id: str, run_id: str, step_id: str) -> RunStep:
        row = await self.db.fetchrow(
            f"SELECT {STEP_COLUMNS} FROM run_steps WHERE id = :id AND run_id = :run_id "
            "AND thread_id = :thread_id AND project = :project",
            {"id": step_id, "run_id": run_id, "thread_id": thread_id, "project": project},
        )
        if row is None:
            await self.row_or_404(project, thread_id, run_id)
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
        found = await page(
            self.db,
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
        if not found.data:
            await self.row_or_404(project, thread_id, run_id)
        return found

    async def row(self, run_id: str) -> Row | None:
        """The whole run row (execution columns included), unscoped."""
        return await self.db.fetchrow(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE id = :id", {"id": run_id}
        )

    async def record(self, run_id: str) -> RunRecord | None:
        """The run as its executor reads it (`RunRecord`), unscoped: for the runtime."""
        row = await self.row(run_id)
        return None if row is None else RunRecord.from_row(row)
