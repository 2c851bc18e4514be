"""What a run's prompt is assembled from: its thread's messages (truncated as the run says) and
its own steps, in SQL usable both with parameters and against a run row being claimed.

The thread's earlier messages are read newest first, a page at a time: prompt assembly asks for
the next, older page only while the prompt budget still has room, so a turn reads what its prompt
can use, however long the thread is. The first page (`CONTEXT_PAGE`) is read with the run (by the
claim itself on Postgres); each further page is as large as what was read so far, at most
`CONTEXT_PAGE_MAX`, so a prompt of n messages costs about log2(n / 20) more statements, each
bounded. `context_page_limit` and `context_page_limit_sql` are the one rule for how many messages
a page holds, in Python and (the first page) in SQL.
"""

from __future__ import annotations

from typing import Any

from store.db import Database
from store.records import Context, MessageRecord, RunRecord
from store.rows import MESSAGE_COLUMNS, STEP_COLUMNS, loads
from store.statuses import MessageStatus, sql_is

CONTEXT_PAGE = 20
"""Earlier messages in the first page of a prompt's history."""

CONTEXT_PAGE_MAX = 100
"""The most earlier messages in any one page."""

STEPS_SQL = f"SELECT {STEP_COLUMNS}, seq FROM run_steps WHERE run_id = {{run_id}}"
"""The run's steps, with `seq` (`{run_id}`: a SQL expression)."""

_FINISHED = f"status != {sql_is(MessageStatus.IN_PROGRESS)}"


def context_limit(truncation_strategy: str | dict[str, Any] | None) -> int | None:
    """How many messages from before the run its prompt keeps: `last_messages` of a
    `last_messages` truncation strategy (its JSON, or decoded), else None (as many as the prompt
    budget takes)."""
    decoded = loads(truncation_strategy) if isinstance(truncation_strategy, str) else None
    truncation: dict[str, Any] = (
        decoded if isinstance(truncation_strategy, str) else truncation_strategy
    ) or {}
    if truncation.get("type") != "last_messages":
        return None
    last = truncation.get("last_messages")
    return None if last is None else int(last)


def context_page_limit(truncation_strategy: str | dict[str, Any] | None, read: int = 0) -> int:
    """How many earlier messages the next page holds when `read` have been read already: as
    many as were read (`CONTEXT_PAGE` at first, `CONTEXT_PAGE_MAX` at most), or what is left of
    `last_messages` when that is less. `context_page_limit_sql` is the same rule in SQL for the
    first page."""
    page = min(CONTEXT_PAGE_MAX, max(CONTEXT_PAGE, read))
    last = context_limit(truncation_strategy)
    if last is None:
        return page
    return max(0, min(page, last - read))


def context_page_limit_sql(truncation_strategy: str) -> str:
    """`context_page_limit` of the first page in SQL (Postgres, where the claim reads the first
    page) over the column expression `truncation_strategy`."""
    strategy = f"CAST({truncation_strategy} AS json)"
    last = (
        f"CASE WHEN {strategy}->>'type' = 'last_messages' "
        f"THEN CAST({strategy}->>'last_messages' AS integer) END"
    )
    return f"LEAST(COALESCE({last}, {CONTEXT_PAGE}), {CONTEXT_PAGE})"


def history_page_sql(thread_id: str, run_id: str, limit: str, before: str | None = None) -> str:
    """A page of the thread's finished messages from before the run, newest first, with `seq`:
    at most `limit`, older than `seq` `before` when given. The arguments are SQL expressions:
    parameters, or the columns of a run being claimed."""
    older = "" if before is None else f"AND seq < {before} "
    return (
        f"SELECT {MESSAGE_COLUMNS}, seq FROM messages "
        f"WHERE thread_id = {thread_id} AND {_FINISHED} "
        f"AND (run_id IS NULL OR run_id != {run_id}) {older}"
        f"ORDER BY seq DESC LIMIT {limit}"
    )


def context_messages_sql(thread_id: str, run_id: str, limit: str) -> str:
    """The finished messages of a run's first prompt read, with `seq`: the first page of the
    thread's from before the run (`history_page_sql`, at most `limit`) and all of the run's own
    (bounded by the run: one per message step)."""
    return (
        f"SELECT * FROM ({history_page_sql(thread_id, run_id, limit)}) AS newest "
        f"UNION ALL SELECT * FROM (SELECT {MESSAGE_COLUMNS}, seq FROM messages "
        f"WHERE run_id = {run_id} AND {_FINISHED}) AS own"
    )


class ContextPart:
    """The prompt reads of a run: its context's first page, and older pages on demand."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def first_page(self, run: RunRecord) -> Context:
        """What prompt assembly reads first for `run`, oldest first: the messages (the first
        page of the thread's from before this run, the newest `context_page_limit` of them, and
        every finished message of the run itself) and the run's steps (for resuming after tool
        outputs). Older messages, when the prompt has room for them, come from `older_page`.

        A run claimed on Postgres carries them already (`claim` reads them in its statement);
        otherwise one round trip on Postgres, two in-process queries on SQLite.
        """
        if run.context is not None:
            return run.context
        params = {
            "thread_id": run.thread_id,
            "run_id": run.id,
            "page": context_page_limit(run.truncation_strategy),
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
            return Context.from_rows(loads(row["messages"]) or [], loads(row["steps"]) or [])
        found = await self.db.fetch(f"SELECT * FROM ({messages}) AS m ORDER BY seq", params)
        return Context.from_rows(found, await self.db.fetch(f"{steps} ORDER BY seq", params))

    async def older_page(self, run: RunRecord, before_seq: int, limit: int) -> list[MessageRecord]:
        """The next page of the prompt history of `run`: at most `limit` of its thread's
        finished messages from before the run and older than `before_seq`, newest first."""
        rows = await self.db.fetch(
            history_page_sql(":thread_id", ":run_id", ":page", before=":before"),
            {"thread_id": run.thread_id, "run_id": run.id, "page": limit, "before": before_seq},
        )
        return [MessageRecord.from_row(r) for r in rows]
