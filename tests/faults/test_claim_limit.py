"""A claim takes at most `limit` runs, so a worker never holds more runs than its concurrency.

The trap on Postgres: as `UPDATE runs ... WHERE seq IN (SELECT seq ... LIMIT :limit FOR UPDATE
SKIP LOCKED)`, when the planner expects few queued rows (a new table, no statistics yet), the
statement becomes a nested-loop semi-join that re-runs the subquery for every outer row; each
re-run skips the rows the statement already updated and returns the next ones, so every queued
run matches and one worker takes the whole queue, running all of it at once while the others get
nothing. These tests queue runs in a fresh schema (no statistics), where that plan is chosen.
"""

from __future__ import annotations

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel
from tests.faults.harness import Workers, make_assistant, queue_run, until


async def _count(client: AsyncClient, where: str) -> int:
    store = await client.store()
    row = await store.db.fetchrow(f"SELECT count(*) AS n FROM runs WHERE {where}")
    assert row is not None
    return int(row["n"])


async def test_claim__takes_at_most_limit_runs(database_url: str, client: AsyncClient) -> None:
    assistant_id = await make_assistant(client, tools=False)
    for i in range(30):
        await queue_run(client, assistant_id, f"queued {i}")
    store = await client.store()
    claimed = await store.claims.claim("one-worker", limit=5, lease_seconds=30)
    assert len(claimed) == 5
    assert await _count(client, "status = 'in_progress'") == 5


async def test_worker__holds_no_more_runs_than_its_concurrency(
    database_url: str,
    client: AsyncClient,
    fake_model: FakeModel,
    workers: Workers,
) -> None:
    assistant_id = await make_assistant(client, tools=False)
    runs = [await queue_run(client, assistant_id, f"queued {i}") for i in range(20)]
    holds = [fake_model.hold(run.key) for run in runs]
    workers.start(database_url, fake_model, concurrency=2)
    # Two model calls are under way, so the worker's first claim is done.
    await until(lambda: fake_model.total_calls() >= 2)
    held = await _count(client, "status = 'in_progress'")
    for hold in holds:
        hold.release()
    assert held == 2

    async def all_completed() -> bool:
        return await _count(client, "status = 'completed'") == 20

    await until(all_completed, timeout=60)
