"""A worker SIGKILLed and restarted on the same host resumes its runs at once, not after the lease.

The lease is 300 s here, so a run resumed within the test's 60 s bounds was reclaimed because the
new process proved the old one gone (same host, its pid no longer running that process), never
because the lease lapsed. Each round queues runs, lets the worker stream part of each answer,
kills it mid-stream, starts a new one (the next round's victim), and checks every run completed
exactly once (`verify`: one terminal event, one message with the full answer, no claim that
called the model twice).
"""

from __future__ import annotations

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel, Hold
from tests.faults.harness import Tracked, WorkerProcess, Workers, make_assistant, queue_run, verify

KILLS = 3
RUNS_PER_ROUND = 3
LONG_LEASE = {"ASSISTANTS_LEASE_SECONDS": "300"}


def _worker_id(process: WorkerProcess) -> str:
    (started,) = [e for e in process.events() if e.get("event") == "worker_started"]
    return str(started["worker_id"])


async def test_sigkill_then_restart__runs_resume_without_waiting_out_the_lease(
    database_url: str, client: AsyncClient, fake_model: FakeModel, workers: Workers
) -> None:
    assistant_id = await make_assistant(client, tools=False)
    store = await client.store()
    victim = workers.start(database_url, fake_model, env=LONG_LEASE)
    await victim.started()
    for round_ in range(KILLS):
        runs: list[Tracked] = []
        holds: list[Hold] = []
        for i in range(RUNS_PER_ROUND):
            key = f"round{round_}-run{i}"
            holds.append(fake_model.hold(key, 0, after_chunks=1))
            runs.append(await queue_run(client, assistant_id, key))
        for hold in holds:
            await hold.wait()
        lost = _worker_id(victim)
        victim.kill()
        for run in runs:
            row = await store.runs.row(run.run_id)
            assert row is not None
            assert row["worker_id"] == lost  # still leased to the dead process

        victim = workers.start(database_url, fake_model, env=LONG_LEASE)
        await victim.started()
        await victim.logged("worker_gone", timeout=30)
        gone = [e for e in victim.events() if e.get("event") == "worker_gone"]
        assert [e["lost_worker"] for e in gone] == [lost]
        for run in runs:
            await victim.logged("run_finished", run_id=run.run_id, timeout=60)
            outcome = await verify(client, fake_model, run)
            assert outcome.claims == [2], outcome  # claimed by the victim, then once more
        row = await store.db.fetchrow("SELECT count(*) AS n FROM workers")
        assert row is not None
        assert row["n"] == 1  # the dead one forgotten, the live one registered
    assert victim.terminate() == 0
    row = await store.db.fetchrow("SELECT count(*) AS n FROM workers")
    assert row is not None
    assert row["n"] == 0  # a clean stop leaves no row
