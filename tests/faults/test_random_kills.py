"""Randomised kill trials: SIGKILL the worker at a random moment of a few runs' lifetime.

Each trial queues 2-4 runs (plain answers and runs with one or two tool rounds, which the test
answers as the application would), lets the live worker start on them, SIGKILLs it after a delay
drawn from a seeded RNG within the runs' lifetime, starts a new worker, and checks every run
against the invariants of `tests.faults.harness.verify` once all are terminal. The new worker is
the next trial's victim, so each trial starts one process.

Trials run in independent chains (each on a database of its own) at once. The default tier
runs `ASSISTANTS_FAULT_TRIALS` (default 20) trials per database kind in 2 chains; the `slow`
tier 200 in 4.
`ASSISTANTS_FAULT_SEED` changes the seed (a failure names the seed, the trial and the delay).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from assistants import AsyncClient
from tests.faults.conftest import shared_database
from tests.faults.fakemodel import FakeModel
from tests.faults.harness import Outcome, Tracked, Workers, drive, make_assistant, queue_run, verify

SEED = int(os.environ.get("ASSISTANTS_FAULT_SEED", "20240917"))
CHAINS = 2
LIFETIME = 1.0  # seconds: about the time the worker needs for a trial's runs
# On a loaded machine a healthy worker starved past its 1 s lease is interrupted too; the attempt
# budget (test_attempts.py) is not what these trials are about.
TRIAL_ENV = {"ASSISTANTS_MAX_ATTEMPTS": "10"}


@dataclass
class Tally:
    trials: int = 0
    runs: int = 0
    interrupted_runs: int = 0
    trials_with_interruption: int = 0
    held_at_kill: int = 0


async def _held(client: AsyncClient, runs: list[Tracked]) -> int:
    """How many of `runs` the (just killed) worker held: their leases are what must lapse."""
    store = await client.store()
    held = 0
    for run in runs:
        row = await store.runs.row(run.run_id)
        assert row is not None
        held += row["worker_id"] is not None
    return held


async def _chain(
    kind: str, directory: Path, fake: FakeModel, workers: Workers, trials: int, chain: int
) -> Tally:
    rng = random.Random(f"{SEED}:{kind}:{chain}")
    tally = Tally()
    async with (
        shared_database(kind, directory) as url,
        AsyncClient(database_url=url, worker=False, poll_seconds=0.05) as client,
    ):
        await client.store()
        assistant_id = await make_assistant(client, tools=False)
        victim = workers.start(url, fake, env=TRIAL_ENV)
        await victim.started()
        for trial in range(trials):
            runs: list[Tracked] = []
            for i in range(rng.randint(2, 4)):
                key = f"c{chain}-t{trial}-r{i}"
                runs.append(
                    await queue_run(client, assistant_id, key, rounds=rng.choice([0, 1, 2]))
                )
            delay = rng.uniform(0, LIFETIME)
            label = f"{kind} chain {chain} trial {trial} (seed {SEED}, kill after {delay:.3f} s)"
            outcomes: list[Outcome] = []
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(drive, client, fake, runs, 60.0)
                    await anyio.sleep(delay)  # the random kill moment (not a synchronisation)
                    victim.kill()
                    held = await _held(client, runs)
                    victim = workers.start(url, fake, env=TRIAL_ENV)
                for run in runs:
                    outcomes.append(await verify(client, fake, run))
            except (AssertionError, TimeoutError) as exc:
                raise AssertionError(f"{label}: {exc}\n{victim.log_tail()}") from exc
            hit = sum(o.interrupted for o in outcomes)
            print(f"{label}: held at kill {held}, interrupted {hit}/{len(runs)}")
            tally.trials += 1
            tally.runs += len(runs)
            tally.interrupted_runs += hit
            tally.held_at_kill += held
            tally.trials_with_interruption += hit > 0
        victim.kill()
    return tally


async def _trials(
    kind: str, tmp_path: Path, workers: Workers, trials: int, chains: int = CHAINS
) -> Tally:
    fake = FakeModel(chunks=6, chunk_delay=0.05)
    tallies: list[Tally] = []
    try:

        async def one(chain: int, count: int) -> None:
            tallies.append(await _chain(kind, tmp_path, fake, workers, count, chain))

        async with anyio.create_task_group() as tg:
            for chain in range(chains):
                tg.start_soon(one, chain, trials // chains + (chain < trials % chains))
    finally:
        fake.close()
    total = Tally()
    for t in tallies:
        total.trials += t.trials
        total.runs += t.runs
        total.interrupted_runs += t.interrupted_runs
        total.trials_with_interruption += t.trials_with_interruption
        total.held_at_kill += t.held_at_kill
    print(f"{kind}: {total}")
    assert total.trials == trials
    # The delays must land inside runs: many kills interrupt one (others hit queued or paused
    # runs, or finished ones).
    assert total.trials_with_interruption >= trials // 3, total
    return total


@pytest.mark.parametrize("kind", ["postgres", "sqlite-file"])
async def test_random_kills__every_run_completes_once(
    kind: str, anyio_backend: str, tmp_path: Path, workers: Workers
) -> None:
    await _trials(kind, tmp_path, workers, int(os.environ.get("ASSISTANTS_FAULT_TRIALS", "20")))


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("kind", ["postgres", "sqlite-file"])
async def test_random_kills__200_trials(
    kind: str, anyio_backend: str, tmp_path: Path, workers: Workers
) -> None:
    await _trials(kind, tmp_path, workers, 200, chains=4)
