"""The attempt budget counts interruptions, not the claims a run's tool rounds take.

A run is claimed again after each tool round; the sweeper fails a run once it has been
interrupted `max_attempts` times (default 3). Were claims counted, a run in its third model call
(two tool rounds done) whose worker dies once would be failed as "interrupted 3 times" instead
of being resumed by another worker.
"""

from __future__ import annotations

import anyio

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel
from tests.faults.harness import Workers, drive, make_assistant, queue_run, verify


async def test_one_crash_in_the_third_round__run_resumed_not_failed(
    database_url: str, client: AsyncClient, fake_model: FakeModel, workers: Workers
) -> None:
    assistant_id = await make_assistant(client, tools=False)
    victim = workers.start(database_url, fake_model)
    run = await queue_run(client, assistant_id, "three rounds", rounds=2)
    hold = fake_model.hold(run.key, 2)  # the third model call: the answer after two rounds
    async with anyio.create_task_group() as tg:
        tg.start_soon(drive, client, fake_model, [run], 30.0)  # until the run is terminal
        await hold.wait()
        victim.kill()
        hold.release()
        workers.start(database_url, fake_model)
    store = await client.store()
    row = await store.runs.row(run.run_id)
    assert row is not None
    assert row["status"] == "completed", row["last_error"]
    outcome = await verify(client, fake_model, run)
    assert outcome.calls == [1, 1, 2]
