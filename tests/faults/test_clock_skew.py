"""A worker whose clock is wrong: leases are judged on the database clock, so it changes nothing.

The skewed worker runs under libfaketime (`apt-get install faketime`; the tests skip without
it), its process clock minutes ahead of or behind the database's, next to a worker with the
right time, on Postgres (where `{now}` is the server's `clock_timestamp()`; SQLite's clock is
each process's own, and processes sharing a SQLite file share one host's clock):

- a worker ahead does not steal a run whose lease another worker keeps renewing (if its sweeper
  compared leases with its own clock, every lease would look lapsed);
- a worker behind keeps the runs it holds (if it wrote leases with its own clock, they would be
  lapsed for everyone else at once);
- when the skewed worker dies, its run is recovered within the lease (plus a sweep), not after
  the skew.

Run expiry must follow the database clock too: judged on its own clock, a worker 15 minutes
ahead would expire the queued runs it should execute (runs expire 10 minutes after creation);
stamped with its own clock, an API process 15 minutes behind creates runs already expired.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from datetime import datetime

import anyio
import pytest

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel, Hold
from tests.faults.harness import (
    LEASE_SECONDS,
    Tracked,
    WorkerProcess,
    Workers,
    make_assistant,
    now,
    queue_run,
    until,
    wait_status,
)

LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
pytestmark = pytest.mark.skipif(
    not LIBFAKETIME, reason="libfaketime is not installed (apt-get install faketime)"
)


def _skewed(seconds: int) -> dict[str, str]:
    return {"LD_PRELOAD": LIBFAKETIME[0], "FAKETIME": f"{seconds:+d}"}


async def _start_skewed(
    workers: Workers, url: str, fake: FakeModel, skew: int, **options: int
) -> WorkerProcess:
    process = workers.start(url, fake, worker_id=f"skewed{skew:+d}", env=_skewed(skew), **options)
    await process.started()
    [started] = [e for e in process.events() if e.get("event") == "worker_started"]
    logged = datetime.fromisoformat(started["timestamp"].replace("Z", "+00:00")).timestamp()
    assert abs(logged - time.time() - skew) < 30, "the worker's clock is not skewed"
    return process


async def _holder(client: AsyncClient, run_id: str) -> tuple[str, float]:
    store = await client.store()
    row = await store.db.fetchrow(
        "SELECT worker_id, lease_expires_at FROM runs WHERE id = :id", {"id": run_id}
    )
    assert row is not None
    assert row["lease_expires_at"] is not None, f"{run_id} is no longer held"
    return str(row["worker_id"]), float(row["lease_expires_at"])


async def _renewed(client: AsyncClient, run_ids: list[str], times: int) -> None:
    """Wait until each run's lease was renewed `times` times, checking it kept its worker."""
    holders = {run_id: (await _holder(client, run_id))[0] for run_id in run_ids}
    seen: dict[str, set[float]] = {run_id: set() for run_id in run_ids}

    async def renewed() -> bool:
        for run_id in run_ids:
            worker_id, lease = await _holder(client, run_id)
            assert worker_id == holders[run_id], f"{run_id} was taken from its worker"
            seen[run_id].add(lease)
        return all(len(s) > times for s in seen.values())

    await until(renewed, timeout=LEASE_SECONDS * times + 10, interval=0.05)


async def test_skewed_workers__leases_follow_the_database_clock(
    postgres_url: str, fake_model: FakeModel, workers: Workers
) -> None:
    """Workers 5 minutes ahead and behind hold runs next to one on time; nobody steals a run;
    when the skewed ones die, the one on time recovers their runs within the lease."""
    async with AsyncClient(database_url=postgres_url, worker=False) as client:
        await client.store()
        assistant_id = await make_assistant(client, tools=False)
        held: dict[int, tuple[WorkerProcess | None, Tracked, Hold]] = {}
        for skew in (300, -300, 0):
            # One free slot each, so each run goes to the worker started just before it.
            if skew:
                process: WorkerProcess | None = await _start_skewed(
                    workers, postgres_url, fake_model, skew, concurrency=1
                )
            else:
                process = None
                healthy = workers.start(postgres_url, fake_model, worker_id="on-time")
                await healthy.started()
            key = f"held by the worker at {skew:+d} s"  # hold armed before the run is queued
            hold = fake_model.hold(key)
            run = await queue_run(client, assistant_id, key)
            await hold.wait()
            held[skew] = (process, run, hold)
        run_ids = [run.run_id for _, run, _ in held.values()]

        # Three heartbeats each (and some thirty sweeps by each worker): nothing changes hands.
        await _renewed(client, run_ids, times=3)
        for process in workers.started:
            assert not [e for e in process.events() if e.get("event") == "run_requeued"]

        for process, _, hold in held.values():
            if process is not None:
                process.kill()
                hold.release()
        killed_at = now()
        for skew in (300, -300):
            await wait_status(client, held[skew][1].run_id, ("completed",), timeout=10)
        recovered_in = now() - killed_at
        held[0][2].release()
        await wait_status(client, held[0][1].run_id, ("completed",))
        calls = [fake_model.calls(run.key) for _, run, _ in held.values()]
        assert calls == [2, 2, 1]
        # Lease (1 s) + a sweep (0.1 s) + a claim and a model call, not the skew.
        assert recovered_in < LEASE_SECONDS + 2, recovered_in
        assert healthy.terminate() == 0


async def test_worker_far_ahead__runs_the_queued_run_instead_of_expiring_it(
    postgres_url: str, fake_model: FakeModel, workers: Workers
) -> None:
    async with AsyncClient(database_url=postgres_url, worker=False) as client:
        await client.store()
        assistant_id = await make_assistant(client, tools=False)
        await _start_skewed(workers, postgres_url, fake_model, 900)
        run = await queue_run(client, assistant_id, "queued by a client on time")
        final = await wait_status(client, run.run_id, ("completed", "expired"))
        assert final == "completed"


CREATE_RUN = """
import sys, anyio
from assistants import AsyncClient

async def main() -> None:
    async with AsyncClient(database_url=sys.argv[1], worker=False) as client:
        thread = await client.threads.create(messages=[{"role": "user", "content": sys.argv[3]}])
        run = await client.threads.runs.create(thread.id, assistant_id=sys.argv[2])
        print(run.id)

anyio.run(main)
"""


async def test_client_far_behind__its_run_is_executed_not_expired(
    postgres_url: str, fake_model: FakeModel, workers: Workers
) -> None:
    """An API process (here a client with no worker) 15 minutes behind queues a run: its expiry
    is stamped with the database clock, which the claims and the sweeper compare it with."""
    async with AsyncClient(database_url=postgres_url, worker=False) as client:
        store = await client.store()
        assistant_id = await make_assistant(client, tools=False)
        created = await anyio.run_process(
            [sys.executable, "-c", CREATE_RUN, postgres_url, assistant_id, "from the past"],
            env={**os.environ, **_skewed(-900)},
        )
        run_id = created.stdout.decode().strip()
        row = await store.runs.row(run_id)
        assert row is not None
        stamped = f"expires_at {row['expires_at'] - time.time():+.0f} s from now"
        workers.start(postgres_url, fake_model)
        final = await wait_status(client, run_id, ("completed", "expired"))
        assert final == "completed", stamped
