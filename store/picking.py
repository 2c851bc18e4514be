"""Claims: which queued runs a worker takes, fairly between projects, and the SQL that takes them.

`pick_sql` chooses the runs (both dialects); on Postgres the claim is one statement
(`claim_ctes`), which a write that frees a worker's slot can carry too (`successor_parts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.base import PROCESS_TOKEN, RUNS_CHANNEL, now
from store.context import STEPS_SQL, context_messages_sql, context_page_limit_sql
from store.db import Row
from store.records import RunRecord
from store.rows import RUN_COLUMNS, dumps, loads, snapshot_sql
from store.statuses import RunStatus as R
from store.statuses import sql_is

# What the claimed runs' prompts are assembled from first (`ContextPart.first_page`: the first
# page of history, the run's own messages and steps), read by the claim itself: one round trip
# less per run.
CLAIMED_CONTEXT = (
    "(SELECT json_agg(m ORDER BY m.seq) FROM ("
    + context_messages_sql("c.thread_id", "c.id", context_page_limit_sql("c.truncation_strategy"))
    + ") AS m) AS context_messages, (SELECT json_agg(s ORDER BY s.seq) FROM ("
    + STEPS_SQL.format(run_id="c.id")
    + ") AS s) AS context_steps"
)


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
    runs: list[RunRecord] = field(default_factory=list)
    """The runs taken, decoded for their executor (`rows`: as claimed, for their events)."""

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
    # Over 60 lines: one query per dialect, side by side so the two stay the same choice.
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


def claim_ctes(claim: Claim, guard: str = "", freed: str = "") -> str:
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
        f"RETURNING {qualified(RUN_COLUMNS)}, {snapshot_sql('run', 'runs.')} AS j), "
        "cins AS (INSERT INTO run_events (run_id, seq, created_at, event, data, data_format) "
        "SELECT c.id, c.event_seq, {now}, "
        "'thread.run.in_progress', c.j, 'row' FROM c)"
    )


# A claimed run as the claim returns it: its row, the NOTIFY (`in_progress` is no stop: only
# followers hear of it), and what its prompt is assembled from.
CLAIMED = (
    f"{', '.join(f'c.{c.strip()}' for c in RUN_COLUMNS.split(','))}, "
    f"CASE WHEN c.followers > 0 THEN pg_notify('{RUNS_CHANNEL}', "
    "CAST(:token AS text) || c.id || '|') END AS notified, "
    f"{CLAIMED_CONTEXT}"
)


def claimed_row(run: dict[str, Any]) -> Row:
    del run["notified"]
    for key in ("context_messages", "context_steps"):
        value = run[key]
        run[key] = (loads(value) if isinstance(value, str) else value) or []
    return run


def successor_parts(successor: Claim | None) -> tuple[list[str], str, dict[str, Any]]:
    """The CTEs, select list and parameters that make `successor`'s claim in the statement of a
    write that frees a slot (only if that write's run update `r` matched)."""
    if successor is None:
        return [], "", {}
    return (
        # The run the statement frees no longer counts against its project.
        [claim_ctes(successor, " AND EXISTS (SELECT 1 FROM r)", " AND h.id != :id")],
        f", (SELECT json_agg(x) FROM (SELECT {CLAIMED} FROM c) AS x) AS successors",
        successor.params(),
    )


def took_successors(successor: Claim | None, row: Row) -> None:
    if successor is not None:
        successor.rows = [claimed_row(run) for run in loads(row["successors"]) or []]
        successor.runs = [RunRecord.from_row(run) for run in successor.rows]


def qualified(columns: str) -> str:
    """`a, b` as `runs.a, runs.b` (a RETURNING beside a joined CTE)."""
    return ", ".join(f"runs.{c.strip()}" for c in columns.split(","))
