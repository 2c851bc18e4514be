"""Postgres: each write a worker makes for a run as one statement.

In `store.execution` a worker's writes (claiming runs, opening a step, finishing a message and
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

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from store.base import PROCESS_TOKEN, RUNS_CHANNEL, Logged, now
from store.context import STEPS_SQL, context_messages_sql, context_page_limit_sql
from store.db import Row
from store.rows import RUN_COLUMNS, dumps, loads, snapshot_sql
from store.runs import RunsMixin
from store.statuses import MessageStatus as M
from store.statuses import RunStatus as R
from store.statuses import StepStatus as S
from store.statuses import sql_in, sql_is

Event = tuple[str, dict[str, Any]]

# What the claimed runs' prompts are assembled from first (`ExecutionMixin.run_context`: the first
# page of history, the run's own messages and steps), read by the claim itself: one round trip
# less per run.
_CLAIMED_CONTEXT = (
    "(SELECT json_agg(m ORDER BY m.seq) FROM ("
    + context_messages_sql("c.thread_id", "c.id", context_page_limit_sql("c.truncation_strategy"))
    + ") AS m) AS context_messages, (SELECT json_agg(s ORDER BY s.seq) FROM ("
    + STEPS_SQL.format(run_id="c.id")
    + ") AS s) AS context_steps"
)
_STEP_SNAPSHOT = snapshot_sql("step")
_MESSAGE_SNAPSHOT = snapshot_sql("message")
_RUN_SNAPSHOT = snapshot_sql("run")


@dataclass
class Claim:
    """Runs for `worker_id` to take: at most `limit`, each leased for `lease_seconds` (database
    clock), fairly between projects (`pick_sql`), none that would give a project more than
    `project_limits.get(project, project_limit)` runs in flight (None: no limit). Given to the
    write that frees a worker's slot (Postgres), it is made in the same statement, and `rows`
    are the runs it took."""

    worker_id: str
    lease_seconds: float
    limit: int = 1
    project_limit: int | None = None
    project_limits: dict[str, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def params(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "lease": self.lease_seconds,
            "claim_limit": self.limit,
            "project_limit": self.project_limit,
            "project_limits": dumps(self.project_limits),
            "t": now(),
            "token": PROCESS_TOKEN + "|",
        }


# Runs a claim counts against their project: those held by a worker (`in_progress`, `cancelling`).
HELD_SQL = "worker_id IS NOT NULL"
# Queued runs offered beyond the claim's limit (per project, and in all): room for the ones
# other claimers hold locked at the moment (skipped), so a claim still finds runs while others
# claim too. A claim that finds too few leaves its slot to the worker's next claim.
_SLACK = 8
# The projects that have queued runs, in order: one index probe each (a skip scan of
# `ix_runs_queued_project`), never a scan of the queue.
_QUEUED_PROJECTS = (
    f"qp(project) AS (SELECT (SELECT project FROM runs WHERE status = {sql_is(R.QUEUED)} "
    "ORDER BY project LIMIT 1) UNION ALL SELECT (SELECT n.project FROM runs AS n "
    f"WHERE n.status = {sql_is(R.QUEUED)} AND n.project > qp.project "
    "ORDER BY n.project LIMIT 1) "
    "FROM qp WHERE qp.project IS NOT NULL)"
)
_WAITING = f"w.status = {sql_is(R.QUEUED)} AND (w.expires_at IS NULL OR w.expires_at > {{now}})"


def pick_sql(dialect: str, claim: Claim, *, guard: str = "", freed: str = "") -> str:
    """The `seq`s of the queued runs `claim` takes, fairly between projects (a subquery).

    Each project with queued runs offers its oldest ones that have not expired (database clock);
    the `k`-th of them is the project's `held + k`-th run in flight, `held` being its runs that
    workers hold now (less `freed`, SQL conditions excluding a run this very statement frees).
    Runs are taken lowest place first, the oldest first among equal places: the project with
    the fewest runs in flight goes first, and projects take turns, so one project's flood delays
    another's runs by at most a turn. A project's runs that would pass its limit
    (`Claim.project_limit`, `Claim.project_limits`) stay queued. On Postgres the rows are locked
    `FOR UPDATE SKIP LOCKED` (`guard`: more SQL conditions on them); on SQLite the claim's write
    transaction holds the database.

    What the limit guarantees: on SQLite claims are serialised by the write lock, so it is exact.
    On Postgres a claim counts the runs in flight as of its statement's snapshot: claims made at
    the same moment (other workers, other slots) do not see each other's, and together can pass
    the limit by what they took (a successor claim takes one run); while a project is over, no
    claim takes more of its runs. An advisory lock per project would not close this inside one
    statement (the snapshot is taken before the lock), only as a statement of its own before
    every claim: a round trip more per claim, and the project's claims serialised.
    """
    cap = ""
    if claim.project_limits:
        json_rows = (
            "json_each_text(CAST(:project_limits AS json))"
            if dialect == "postgresql"
            else "json_each(:project_limits)"
        )
        cap = (
            f"COALESCE((SELECT CAST(l.value AS integer) FROM {json_rows} AS l "
            "WHERE l.key = qp.project), CAST(:project_limit AS integer))"
        )
    elif claim.project_limit is not None:
        cap = "CAST(:project_limit AS integer)"
    held = f"(SELECT count(*) FROM runs AS h WHERE h.project = qp.project AND h.{HELD_SQL}{freed})"
    cap_column = f", {cap} AS cap" if cap else ""
    capped = " AND (x.cap IS NULL OR x.place <= x.cap)" if cap else ""
    if dialect == "postgresql":
        ranked = (
            f"x AS (SELECT w.seq, held.n + row_number() OVER (PARTITION BY qp.project "
            f"ORDER BY w.seq) AS place{cap_column} FROM qp "
            f"CROSS JOIN LATERAL {held} AS held(n) "
            f"CROSS JOIN LATERAL (SELECT w.seq FROM runs AS w WHERE w.project = qp.project "
            f"AND {_WAITING} ORDER BY w.seq LIMIT :claim_limit + {_SLACK}) AS w "
            "WHERE qp.project IS NOT NULL)"
        )
        # The offer as one array, in the order runs are taken: the rows to lock are then read
        # by primary key (a join with `x` could hash the whole queue instead).
        offer = (
            f"o AS (SELECT ARRAY(SELECT x.seq FROM x WHERE TRUE{capped} "
            f"ORDER BY x.place, x.seq LIMIT :claim_limit + {_SLACK}) AS seqs)"
        )
        return (
            f"WITH RECURSIVE {_QUEUED_PROJECTS}, {ranked}, {offer} SELECT runs.seq FROM runs "
            "WHERE runs.seq = ANY(CAST((SELECT o.seqs FROM o) AS integer[])) "
            # Re-checked on the locked row's newest version; written so that no partial index
            # of queued runs matches it, which a planner without statistics would scan whole.
            f"AND runs.status || '' = {sql_is(R.QUEUED)}{guard} "
            "ORDER BY array_position((SELECT o.seqs FROM o), runs.seq) "
            "LIMIT :claim_limit FOR UPDATE OF runs SKIP LOCKED"
        )
    # SQLite has no LATERAL: each project's window ends at its `k`-th waiting run, found by
    # one index probe, and the window is read as an index range.
    offered = (
        f"o AS MATERIALIZED (SELECT qp.project, {held} AS n{cap_column}, "
        f"(SELECT w.seq FROM runs AS w WHERE w.project = qp.project AND {_WAITING} ORDER BY w.seq "
        f"LIMIT 1 OFFSET :claim_limit - 1) AS last FROM qp WHERE qp.project IS NOT NULL)"
    )
    ranked = (
        "x AS (SELECT w.seq, o.n + row_number() OVER (PARTITION BY o.project ORDER BY w.seq) "
        f"AS place{', o.cap' if cap else ''} FROM o JOIN runs AS w ON w.project = o.project "
        f"AND {_WAITING} AND w.seq <= COALESCE(o.last, 9223372036854775807))"
    )
    return (
        f"WITH RECURSIVE {_QUEUED_PROJECTS}, {offered}, {ranked} SELECT x.seq FROM x "
        f"WHERE TRUE{capped} ORDER BY x.place, x.seq LIMIT :claim_limit"
    )


def _claim_ctes(claim: Claim, guard: str = "", freed: str = "") -> str:
    """The CTEs `picked` (locked), `c` (the claimed runs, their rows and snapshots `j`) and
    `cins` (their `thread.run.in_progress` events), for `Claim.params()`."""
    return (
        f"picked AS MATERIALIZED ({pick_sql('postgresql', claim, guard=guard, freed=freed)}), "
        f"c AS (UPDATE runs SET status = {sql_is(R.IN_PROGRESS)}, worker_id = :worker_id, "
        "lease_expires_at = {now} + :lease, started_at = COALESCE(started_at, :t), "
        "event_seq = event_seq + 1 "
        # The picked rows are locked and queued: joined by the primary key alone, whatever the
        # planner knows of the queue (re-checking the status made it scan the queue).
        "FROM picked WHERE runs.seq = picked.seq "
        f"RETURNING {_qualified(RUN_COLUMNS)}, {snapshot_sql('run', 'runs.')} AS j), "
        "cins AS (INSERT INTO run_events (run_id, seq, created_at, event, data, data_format) "
        "SELECT c.id, c.event_seq, CAST(:created AS double precision), "
        "'thread.run.in_progress', c.j, 'row' FROM c)"
    )


# A claimed run as the claim returns it: its row, the NOTIFY (`in_progress` is no stop: only
# followers hear of it), and what its prompt is assembled from.
_CLAIMED = (
    f"{', '.join(f'c.{c.strip()}' for c in RUN_COLUMNS.split(','))}, "
    f"CASE WHEN c.followers > 0 THEN pg_notify('{RUNS_CHANNEL}', "
    "CAST(:token AS text) || c.id || '|') END AS notified, "
    f"{_CLAIMED_CONTEXT}"
)


def _claimed_row(run: dict[str, Any]) -> Row:
    del run["notified"]
    for key in ("context_messages", "context_steps"):
        value = run[key]
        run[key] = (loads(value) if isinstance(value, str) else value) or []
    return run


def _successor_parts(successor: Claim | None) -> tuple[list[str], str, dict[str, Any]]:
    """The CTEs, select list and parameters that make `successor`'s claim in the statement of a
    write that frees a slot (only if that write's run update `r` matched)."""
    if successor is None:
        return [], "", {}
    return (
        # The run the statement frees no longer counts against its project.
        [_claim_ctes(successor, " AND EXISTS (SELECT 1 FROM r)", " AND h.id != :id")],
        f", (SELECT json_agg(x) FROM (SELECT {_CLAIMED} FROM c) AS x) AS successors",
        successor.params(),
    )


def _took_successors(successor: Claim | None, row: Row) -> None:
    if successor is not None:
        successor.rows = [_claimed_row(run) for run in loads(row["successors"]) or []]


def _held(statuses: Sequence[R]) -> str:
    """The claim check of a worker's write: the run is `:worker_id`'s, in one of `statuses`."""
    return f"id = :id AND worker_id = :worker_id AND status IN {sql_in(statuses)}"


def _qualified(columns: str) -> str:
    """`a, b` as `runs.a, runs.b` (a RETURNING beside a joined CTE)."""
    return ", ".join(f"runs.{c.strip()}" for c in columns.split(","))


class FusedMixin(RunsMixin):
    """The one-statement Postgres variants of `ExecutionMixin`'s hot writes."""

    async def _claim_pg(self, claim: Claim) -> list[Row]:
        """Claim, log each run's `thread.run.in_progress` (its row) and notify, in one statement."""
        rows = await self.db.fetch(
            f"WITH {_claim_ctes(claim)} SELECT {_CLAIMED} FROM c",
            {**claim.params(), "created": time.time()},
        )
        return [_claimed_row(dict(row)) for row in rows]

    async def _begin_step_pg(
        self,
        run: Row,
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
        row = await self._fused(
            None,
            run["id"],
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

    async def _finish_message_pg(
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
        open_ours = (
            " AND EXISTS (SELECT 1 FROM messages WHERE id = :message_id)"
            " AND EXISTS (SELECT 1 FROM run_steps WHERE id = :step_id)"
        )
        claim_ctes, claim_select, claim_params = _successor_parts(
            successor if end_run is not None else None
        )
        params = {
            **claim_params,
            **values,
            "worker_id": worker_id,
            "message_id": message_id,
            "step_id": step_id,
        }
        events = [
            *(Logged(name, data) for name, data in pending),
            Logged(message_event, row="m"),
            Logged("thread.run.step.completed", row="s"),
        ]
        if end_run is None:
            run_update = (
                "UPDATE runs SET usage = :f_usage, extensions = COALESCE(:f_ext, extensions), "
                f"event_seq = event_seq + :n WHERE {_held((R.IN_PROGRESS,))}{open_ours} "
                "RETURNING event_seq, followers"
            )
            params.update(f_usage=run_fields["usage"], f_ext=run_fields.get("extensions"))
        else:
            stamp = {R.COMPLETED: "completed_at = :t, "}.get(end_run, "")
            sets = "".join(f"{name} = :f_{name}, " for name in run_fields)
            params.update({f"f_{name}": value for name, value in run_fields.items()})
            # Nothing else of the run may be open: the general path closes (and logs) such work.
            run_update = (
                f"UPDATE runs SET status = {sql_is(end_run)}, {stamp}{sets}worker_id = NULL, "
                "lease_expires_at = NULL, required_action = NULL, expires_at = NULL, "
                f"event_seq = event_seq + :n WHERE {_held(end_allowed)}{open_ours} "
                "AND NOT EXISTS (SELECT 1 FROM messages WHERE run_id = :id "
                f"AND status = {sql_is(M.IN_PROGRESS)} AND id != :message_id) "
                "AND NOT EXISTS (SELECT 1 FROM run_steps WHERE run_id = :id "
                f"AND status = {sql_is(S.IN_PROGRESS)} AND id != :step_id) "
                f"RETURNING event_seq, followers, {_RUN_SNAPSHOT} AS j"
            )
            events.append(Logged(f"thread.run.{end_run}", row="r"))
        row = await self._fused(
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
        _took_successors(successor if end_run is not None else None, row)
        return int(row["event_seq"])

    async def _pause_for_tools_pg(
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
        claim_ctes, claim_select, claim_params = _successor_parts(successor)
        row = await self._fused(
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
        _took_successors(successor, row)
        return dict(loads(row["r_j"]))
