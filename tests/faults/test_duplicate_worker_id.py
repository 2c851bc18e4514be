"""Two worker processes started with the same `--worker-id` are still two workers.

Leases and guarded writes are keyed by the id a worker writes into `runs.worker_id`
(`WHERE worker_id = :id AND status = 'in_progress'`). If two processes given one `--worker-id`
wrote the same id, the database would take them for one worker:

- the survivor's heartbeat would renew the leases of the runs its dead twin held, so they would
  not be recovered while the survivor is busy;
- a stale twin (one that stopped renewing its lease, then carried on) could keep writing to a
  run the other process has since claimed under the same id: two answers in one run.

So the id in the database must be unique per process whatever the name. Each scenario runs with
one shared name (`same`) and, as the reference, with distinct names.
"""

from __future__ import annotations

import pytest

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel
from tests.faults.harness import (
    LEASE_SECONDS,
    Workers,
    make_assistant,
    queue_run,
    until,
    wait_for,
    wait_status,
)

MODES = ["same", "distinct"]


def _ids(mode: str) -> tuple[str, str]:
    return ("twin", "twin") if mode == "same" else ("twin-a", "twin-b")


@pytest.mark.parametrize("mode", MODES)
async def test_twin_dies__its_runs_are_recovered_while_the_other_is_busy(
    mode: str, postgres_url: str, fake_model: FakeModel, workers: Workers
) -> None:
    async with AsyncClient(database_url=postgres_url, worker=False) as client:
        await client.store()
        await _twin_dies(mode, postgres_url, client, fake_model, workers)


async def _twin_dies(
    mode: str, database_url: str, client: AsyncClient, fake_model: FakeModel, workers: Workers
) -> None:
    first_id, second_id = _ids(mode)
    assistant_id = await make_assistant(client, tools=False)
    doomed = workers.start(database_url, fake_model, worker_id=first_id, concurrency=1)
    key = "held by the twin that dies"  # hold armed before the run is queued
    orphan_hold = fake_model.hold(key)
    orphan = await queue_run(client, assistant_id, key)
    await orphan_hold.wait()
    survivor = workers.start(database_url, fake_model, worker_id=second_id)
    key = "keeps the survivor busy"  # hold armed before the run is queued
    busy_hold = fake_model.hold(key)
    busy = await queue_run(client, assistant_id, key)
    await busy_hold.wait()  # the doomed twin has no free slot: the survivor took it

    doomed.kill()
    orphan_hold.release()
    # Correct: the orphan's lease lapses and the survivor resumes it, busy or not.
    await wait_status(client, orphan.run_id, ("completed",), timeout=LEASE_SECONDS + 3)
    assert fake_model.calls(orphan.key) == 2
    busy_hold.release()
    await wait_status(client, busy.run_id, ("completed",))
    assert fake_model.calls(busy.key) == 1
    assert survivor.terminate() == 0


@pytest.mark.parametrize("mode", MODES)
async def test_stale_twin_answers_late__only_the_current_holder_writes_the_run(
    mode: str, database_url: str, client: AsyncClient, fake_model: FakeModel, workers: Workers
) -> None:
    """The stale twin stops renewing its lease (its heartbeat comes once a minute), so the run
    is re-queued and claimed by the other process; then the stale twin's model call answers."""
    first_id, second_id = _ids(mode)
    assistant_id = await make_assistant(client, tools=False)
    workers.start(
        database_url,
        fake_model,
        worker_id=first_id,
        concurrency=1,
        env={"ASSISTANTS_HEARTBEAT_SECONDS": "60"},
    )
    key = "written by one worker"  # hold armed before the run is queued
    stale_call = fake_model.hold(key, nth=1)
    current_call = fake_model.hold(key, nth=2, after_chunks=1)
    run = await queue_run(client, assistant_id, key)
    await stale_call.wait()

    # Past the stale twin's lease the run is re-queued; the other process claims it and
    # starts its answer.
    current = workers.start(database_url, fake_model, worker_id=second_id, concurrency=1)
    await current_call.wait()
    await wait_for(
        client,
        "SELECT count(*) AS n FROM messages WHERE run_id = :run_id AND status = 'in_progress'",
        {"run_id": run.run_id},
        at_least=1,
    )
    # The stale twin's model call answers: it writes the answer, if the guards let it. Once
    # it is done with the run its only slot is free, and it is the only worker that can take
    # the next run (the other one's only slot is busy): that call says the stale one is done.
    stale_call.release()
    sentinel = await queue_run(client, assistant_id, "the stale twin's next run")
    await until(lambda: fake_model.calls(sentinel.key) > 0)
    current_call.release()
    await wait_status(client, run.run_id, ("completed",))

    messages = (await client.threads.messages.list(run.thread_id)).data
    answers = [(m.id, m.status) for m in messages if m.role == "assistant"]
    steps = (await client.threads.runs.steps.list(run.run_id, thread_id=run.thread_id)).data
    assert [status for _, status in answers] == ["completed"], answers
    assert [s.status for s in steps] == ["completed"], [(s.id, s.status) for s in steps]
    assert current.terminate() == 0
