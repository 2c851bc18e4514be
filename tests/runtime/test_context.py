"""Prompt assembly reads the thread's history a page at a time, newest first, only while the
prompt budget has room: the prompt equals the one assembled from the whole thread."""

from __future__ import annotations

from typing import Any

import pytest

from assistants import AsyncClient
from runtime.context import MODEL_CONTEXT_TOKENS, assemble, read_context
from store.context import CONTEXT_PAGE, CONTEXT_PAGE_MAX, context_page_limit, context_page_limit_sql
from store.records import MessageRecord, RunRecord
from store.rows import MESSAGE_COLUMNS, dumps
from store.sqlite import SqliteDatabase
from store.store import Store
from tests.helpers import TEST_WORKER

WORDS = "word " * 40  # 50 tokens a message, 54 with the message overhead


async def _claimed_run(client: AsyncClient, count: int, **options: Any) -> tuple[Store, RunRecord]:
    """A claimed run on a thread of `count` messages (`m0` oldest), created with `options`."""
    assistant = await client.assistants.create(model="test")
    thread = await client.threads.create()
    for i in range(count):
        await client.threads.messages.create(thread.id, role="user", content=f"m{i} {WORDS}")
    await client.threads.runs.create(thread.id, assistant_id=assistant.id, **options)
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    return store, run


async def _whole_thread(store: Store, run: RunRecord) -> list[MessageRecord]:
    """Every finished message of the run's thread, oldest first: the unpaged reference."""
    rows = await store.db.fetch(
        f"SELECT {MESSAGE_COLUMNS}, seq FROM messages WHERE thread_id = :t "
        "AND status != 'in_progress' ORDER BY seq",
        {"t": run.thread_id},
    )
    return [MessageRecord.from_row(r) for r in rows]


@pytest.mark.parametrize(
    ("count", "options", "budget"),
    [
        (3, {}, None),
        (130, {}, None),
        (130, {"max_prompt_tokens": 2000}, 2000),
        (130, {"max_prompt_tokens": 5000}, 5000),
        (130, {"max_prompt_tokens": 20000}, 20000),
        (130, {"truncation_strategy": {"type": "last_messages", "last_messages": 7}}, None),
        (130, {"truncation_strategy": {"type": "last_messages", "last_messages": 50}}, None),
        (130, {"truncation_strategy": {"type": "last_messages", "last_messages": 77}}, None),
        (130, {"truncation_strategy": {"type": "last_messages", "last_messages": 77},
               "max_prompt_tokens": 3000}, 3000),
        (100, {"truncation_strategy": {"type": "last_messages", "last_messages": 100}}, None),
    ],
)  # fmt: skip
async def test_read_context__equals_assembling_the_whole_thread(
    client: AsyncClient, count: int, options: dict[str, Any], budget: int | None
) -> None:
    """Paged reading yields the prompt assembling every message would, for each budget and
    truncation: full pages, a short last page, `last_messages` across pages, and a page boundary
    at the thread's first message."""
    store, run = await _claimed_run(client, count, **options)
    messages, steps = await read_context(store, run, prompt_budget=budget)
    whole = assemble(run, await _whole_thread(store, run), steps, prompt_budget=budget)
    assert messages == whole
    assert messages[-1].content == f"m{count - 1} {WORDS}"


async def test_read_context__drops_the_oldest_past_the_models_context(
    client: AsyncClient,
) -> None:
    """Without `max_prompt_tokens` the model's context is the budget: the oldest history goes."""
    _, run = await _claimed_run(client, 3)
    big = "x" * (MODEL_CONTEXT_TOKENS * 4 * 2 // 5)  # two fifths of the context each
    thread_messages = [
        MessageRecord(f"msg_{i}", None, "user",
                      [{"type": "text", "text": {"value": f"{i}{big}", "annotations": []}}], i)
        for i in range(3)
    ]  # fmt: skip
    prompt = assemble(run, thread_messages, [], prompt_budget=None)
    assert [str(m.content)[:1] for m in prompt] == ["1", "2"]


def _history_pages(store: Store) -> list[str]:
    """Record the history-page statements the store runs on its SQLite connection."""
    assert isinstance(store.db, SqliteDatabase)
    conn = store.db._require()
    seen: list[str] = []

    def trace(statement: str) -> None:
        if "seq < " in statement:
            seen.append(statement)

    conn.set_trace_callback(trace)
    return seen


@pytest.mark.parametrize(
    ("options", "pages"),
    [
        ({"max_prompt_tokens": 1000}, 0),  # the first page (20) fills the budget
        ({"max_prompt_tokens": 2000}, 1),  # 36 fit: pages of 20 + 20
        ({"max_prompt_tokens": 5000}, 3),  # 92 fit: 20 + 20 + 40 + 80
        ({"truncation_strategy": {"type": "last_messages", "last_messages": 20}}, 0),
        ({"truncation_strategy": {"type": "last_messages", "last_messages": 60}}, 2),
        ({}, 4),  # all 250 fit the context: 20, then 20 + 40 + 80 + 100 (of which 90 remain)
    ],
)
async def test_read_context__reads_pages_only_while_the_budget_has_room(
    anyio_backend: str, options: dict[str, Any], pages: int
) -> None:
    """A turn reads no page past the one that fills the budget or `last_messages`."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        store, run = await _claimed_run(client, 250, **options)
        seen = _history_pages(store)
        try:
            await read_context(store, run, prompt_budget=run.max_prompt_tokens)
        finally:
            assert isinstance(store.db, SqliteDatabase)
            store.db._require().set_trace_callback(None)
    assert len(seen) == pages


async def test_context_page_limit__sql_equals_python(store: Store) -> None:
    """The claim's first page (SQL, Postgres) holds as many messages as the Python rule says."""
    if store.db.dialect != "postgresql":
        pytest.skip("only the Postgres claim reads the first page in SQL")
    strategies = [None, dumps({"type": "auto", "last_messages": None})] + [
        dumps({"type": "last_messages", "last_messages": n})
        for n in (1, CONTEXT_PAGE - 1, CONTEXT_PAGE, CONTEXT_PAGE + 1, 10_000)
    ]
    for strategy in strategies:
        row = await store.db.fetchrow(
            f"SELECT {context_page_limit_sql('CAST(:s AS text)')} AS n", {"s": strategy}
        )
        assert row is not None
        assert (strategy, row["n"]) == (strategy, context_page_limit(strategy))


def test_context_page_limit__what_is_left_of_last_messages() -> None:
    """Each page holds as many as were read (20 first, 100 at most) until `last_messages` runs
    out; then it holds what is left."""
    last = dumps({"type": "last_messages", "last_messages": 120})
    assert [context_page_limit(last, read) for read in (0, 20, 40, 80, 120)] == [20, 20, 40, 40, 0]
    assert [context_page_limit(None, read) for read in (0, 20, 40, 80, 160, 10_000)] == [
        CONTEXT_PAGE, 20, 40, 80, CONTEXT_PAGE_MAX, CONTEXT_PAGE_MAX]  # fmt: skip
