"""A run claimed while a heartbeat is in flight must not be taken for a lost lease.

The heartbeat renews the worker's leases in one `UPDATE ... RETURNING` and treats a run missing
from the answer as taken from it (its task is cancelled, the run released). A run the claim loop
took *while* the heartbeat was in flight is missing from that answer too; were it judged by it,
it would be released and run twice (two model calls, two claims). On Postgres that interleaving
happens at real loads (`test_no_double_execution`); here it is made exact, in one process: the
heartbeat's answer is held back until the worker has claimed a new run. (On SQLite nothing
suspends between the heartbeat's statement and the use of its answer.)
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
import structlog
import structlog.testing

from assistants import AsyncClient
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.router import ProviderRouter
from runtime.worker import Worker
from store.records import Lease
from store.store import Store
from store.types import Assistant
from tests.faults.harness import until


@asynccontextmanager
async def _beside_a_worker(
    url: str, model: FunctionModel, **settings: Any
) -> AsyncIterator[tuple[AsyncClient, Store, Worker, Assistant]]:
    """A client with no worker of its own, a `Worker` on its store calling `model` as `fn`
    (started by the test, so the test can wrap the store first), and an assistant using it."""
    async with AsyncClient(
        database_url=url,
        worker=False,
        providers={"fn": model},
        poll_seconds=0.05,
        lease_seconds=1.5,
        **settings,
    ) as client:
        store = await client.store()
        worker = Worker(
            store, client.settings, router=ProviderRouter(client.settings, extra={"fn": model})
        )
        yield client, store, worker, await client.assistants.create(model="fn")


async def _completed(store: Store, *run_ids: str) -> bool:
    return all([await store.runs.status(run_id) == "completed" for run_id in run_ids])


async def test_run_claimed_during_a_heartbeat__kept_and_executed_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = anyio.Event()
    calls: Counter[str] = Counter()

    async def answer(request: ModelRequest) -> str:
        key = str(request.messages[-1].content)
        calls[key] += 1
        await gate.wait()
        return f"Answer to {key}"

    async with _beside_a_worker(postgres_url, FunctionModel(answer), sweep_seconds=0.1) as (
        client,
        store,
        worker,
        assistant,
    ):

        async def queue(key: str) -> str:
            run = await client.threads.create_and_run(
                assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": key}]}
            )
            return run.id

        late: list[str] = []
        beats = 0
        original = store.claims.heartbeat

        async def heartbeat(*args: Any, **kwargs: Any) -> dict[str, Lease]:
            nonlocal beats
            beats += 1
            held = await original(*args, **kwargs)
            if not late:
                # While this answer is on its way back, the claim loop takes a new run.
                late.append(await queue("late"))
                await until(lambda: late[0] in worker.active_runs)
            return held

        monkeypatch.setattr(store.claims, "heartbeat", heartbeat)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            first = await queue("first")  # held at the model: the heartbeat has a run to renew
            # The next heartbeat starts once the worker acted on the first one's answer.
            await until(lambda: beats >= 2)
            gate.set()
            await until(lambda: _completed(store, first, late[0]))
            await worker.stop()
        events = [e.event for e in await store.log.read_events(late[0])]
        assert (calls["late"], events.count("thread.run.in_progress")) == (1, 1)


async def test_run_ended_during_a_heartbeat__not_taken_for_lost(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A heartbeat that lands after the executor's final write, before its task returned.

    The final write releases the run (no worker holds a finished run), so the heartbeat's answer
    lacks it. That is not a lost lease: cancelling the task there would cut off everything after
    the write (its `run_finished` line, its wake-ups) and log a false `run_lease_lost`.
    """
    gate = anyio.Event()
    committed = anyio.Event()
    judged = anyio.Event()

    async def answer(request: ModelRequest) -> str:
        await gate.wait()
        return "Done."

    async with _beside_a_worker(database_url, FunctionModel(answer)) as (
        client,
        store,
        worker,
        assistant,
    ):
        real_finish, real_heartbeat = store.work.finish_message, store.claims.heartbeat
        beats = 0

        async def finish_message(*args: Any, **kwargs: Any) -> Any:
            result = await real_finish(*args, **kwargs)
            committed.set()
            await judged.wait()  # the executor has not returned when the heartbeat is judged
            return result

        async def heartbeat(*args: Any, **kwargs: Any) -> dict[str, Lease]:
            nonlocal beats
            beats += 1
            if beats == 1:
                gate.set()
                await committed.wait()  # the run ended (and was released) before this beat
            elif beats == 2:
                judged.set()  # the worker has acted on the first answer
            return await real_heartbeat(*args, **kwargs)

        monkeypatch.setattr(store.work, "finish_message", finish_message)
        monkeypatch.setattr(store.claims, "heartbeat", heartbeat)
        # Info lines too (the suite logs warnings and up), then the suite's set-up again.
        configured = structlog.get_config()
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        try:
            with structlog.testing.capture_logs(
                processors=[structlog.contextvars.merge_contextvars]
            ) as logs:
                async with anyio.create_task_group() as tg:
                    await tg.start(worker.run)
                    run = await client.threads.create_and_run(
                        assistant_id=assistant.id,
                        thread={"messages": [{"role": "user", "content": "hi"}]},
                    )
                    with anyio.fail_after(30):
                        await judged.wait()
                        await until(lambda: not worker.active_runs)
                    await worker.stop()
        finally:
            structlog.configure(**configured)
        names = [(e["event"], e.get("run_id")) for e in logs]
        assert ("run_lease_lost", run.id) not in names
        assert ("run_finished", run.id) in names
        assert await store.runs.status(run.id) == "completed"
