"""Many worker processes on one database: every run is claimed and executed exactly once.

Runs are queued first (through a client with no worker), then the processes start together and
race for them: 4 processes x `--concurrency 10` on Postgres over 2,000 runs, 2 processes on one
SQLite file over 300. `ASSISTANTS_SCALE_RUNS` shrinks (or grows) both sizes.

Exactly once is checked from every side: the model saw one call per run (per distinct user
message), each run was claimed once (one `thread.run.in_progress` event), has one
assistant message, completed, and appears in exactly one worker's log.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import anyio

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel
from tests.faults.harness import MODEL, Workers, until

SIZES = {"postgres": (4, 2000), "sqlite": (2, 300)}  # processes, runs
LONG_LEASE = {"ASSISTANTS_LEASE_SECONDS": "15"}  # no recovery here: starved leases must not lapse


async def _count(client: AsyncClient, sql: str) -> int:
    store = await client.store()
    row = await store.db.fetchrow(sql)
    assert row is not None
    return int(row["n"])


async def test_worker_processes_race_for_queued_runs__each_executed_exactly_once(
    database_url: str,
    client: AsyncClient,
    fake_model: FakeModel,
    workers: Workers,
) -> None:
    kind = "postgres" if database_url.startswith("postgresql") else "sqlite"
    processes, runs = SIZES[kind]
    runs = int(os.environ.get("ASSISTANTS_SCALE_RUNS", runs))
    assistant = await client.assistants.create(model=MODEL)

    started = time.perf_counter()
    limiter = anyio.CapacityLimiter(8)
    run_ids: dict[str, str] = {}

    async def create(i: int) -> None:
        async with limiter:
            key = f"scale run {i}"
            run = await client.threads.create_and_run(
                assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": key}]}
            )
            run_ids[run.id] = key

    async with anyio.create_task_group() as tg:
        for i in range(runs):
            tg.start_soon(create, i)
    created_in = time.perf_counter() - started

    started = time.perf_counter()
    group = [
        workers.start(database_url, fake_model, concurrency=10, env=LONG_LEASE)
        for _ in range(processes)
    ]

    async def all_completed() -> bool:
        for process in group:
            assert process.alive(), process.log_tail()
        done = await _count(client, "SELECT count(*) AS n FROM runs WHERE status = 'completed'")
        return done == runs

    await until(all_completed, timeout=180, interval=0.1)
    executed_in = time.perf_counter() - started
    for process in group:
        assert process.terminate() == 0, process.log_tail()
    print(
        f"{kind}: {runs} runs created in {created_in:.2f} s; {processes} workers x 10 executed "
        f"them in {executed_in:.2f} s, start-up included ({runs / executed_in:.0f} runs/s)"
    )

    # The model: one call per run, none for anything else.
    doubled = {key: n for (key, _), n in fake_model.counts.items() if n != 1}
    notes = [
        e
        for process in group
        for e in process.events()
        if e.get("level") != "info" or e.get("event") not in ("model_call", "run_finished")
    ]
    assert not doubled, f"{doubled}\n{notes}"
    assert fake_model.total_calls() == runs
    # The database: every run completed, claimed once, one answer.
    assert await _count(client, "SELECT count(*) AS n FROM runs WHERE status != 'completed'") == 0
    claims = await _count(
        client, "SELECT count(*) AS n FROM run_events WHERE event = 'thread.run.in_progress'"
    )
    assert claims == runs
    answers = await _count(client, "SELECT count(*) AS n FROM messages WHERE role = 'assistant'")
    assert answers == runs
    assert (
        await _count(
            client,
            "SELECT count(*) AS n FROM (SELECT run_id FROM messages WHERE role = 'assistant' "
            "GROUP BY run_id HAVING count(*) > 1) AS doubled",
        )
        == 0
    )
    # The workers: each run finished in exactly one process's log, and every process took part.
    finished: Counter[str] = Counter()
    per_worker: list[int] = []
    for process in group:
        mine = {e["run_id"] for e in process.events() if e.get("event") == "run_finished"}
        per_worker.append(len(mine))
        finished.update(mine)
    assert set(finished) == set(run_ids)
    assert set(finished.values()) == {1}
    assert all(n > 0 for n in per_worker), per_worker
    print(f"{kind}: runs per worker {per_worker}")
