"""What a run's prompt is assembled from: its thread's messages (truncated as the run says) and
its own steps, in SQL usable both with parameters and against a run row being claimed."""

from __future__ import annotations

from store.rows import MESSAGE_COLUMNS, STEP_COLUMNS, loads

STEPS_SQL = f"SELECT {STEP_COLUMNS}, seq FROM run_steps WHERE run_id = {{run_id}}"
"""The run's steps, with `seq` (`{run_id}`: a SQL expression)."""


def context_limit(truncation_strategy: str | None) -> int | None:
    """How many messages from before the run its prompt keeps: `last_messages` of a
    `last_messages` truncation strategy, else None (all of them). `context_limit_sql` is the same
    rule in SQL."""
    truncation = loads(truncation_strategy) or {}
    if truncation.get("type") != "last_messages":
        return None
    last = truncation.get("last_messages")
    return None if last is None else int(last)


def context_limit_sql(truncation_strategy: str) -> str:
    """`context_limit` in SQL (Postgres) over the column expression `truncation_strategy`: NULL,
    which as a LIMIT keeps every row, when there is no limit."""
    strategy = f"CAST({truncation_strategy} AS json)"
    return (
        f"CASE WHEN {strategy}->>'type' = 'last_messages' "
        f"THEN CAST({strategy}->>'last_messages' AS integer) END"
    )


def context_messages_sql(thread_id: str, run_id: str, last: str | None) -> str:
    """The finished messages of a run's prompt, with `seq`: the newest `last` of the thread's
    from before the run (all of them when `last` is None) and all of the run's own. The
    arguments are SQL expressions: parameters, or the columns of a run being claimed."""
    finished = "status != 'in_progress'"
    if last is None:
        return (
            f"SELECT {MESSAGE_COLUMNS}, seq FROM messages "
            f"WHERE thread_id = {thread_id} AND {finished}"
        )
    return (
        f"SELECT * FROM (SELECT {MESSAGE_COLUMNS}, seq FROM messages "
        f"WHERE thread_id = {thread_id} AND {finished} "
        f"AND (run_id IS NULL OR run_id != {run_id}) "
        f"ORDER BY seq DESC LIMIT {last}) AS newest "
        f"UNION ALL SELECT * FROM (SELECT {MESSAGE_COLUMNS}, seq FROM messages "
        f"WHERE run_id = {run_id} AND {finished}) AS own"
    )
