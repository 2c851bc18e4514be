"""The write that ends or pauses a run claims the next queued run for the slot it frees (on
Postgres, in the same statement): the slot goes on without a claim of its own, and a successor
taken as the worker stops goes back to the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from assistants import AsyncClient
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.base import Chunk, TextDelta
from runtime.providers.router import ProviderRouter
from runtime.worker import Worker
from store.errors import LostClaim
from store.picking import Claim
from store.records import RunRecord
from store.statuses import RunStatus
from tests.helpers import TEST_WORKER, USAGE, finish_message, open_message

FAST: dict[str, Any] = {"poll_seconds": 0.02, "sweep_seconds": 0.02, "lease_seconds": 5.0}


async def _queue(client: AsyncClient, assistant_id: str, text: str) -> tuple[str, str]:
    thread = await client.threads.create(messages=[{"role": "user", "content": text}])
    run = await client.threads.runs.create(thread.id, assistant_id=assistant_id)
    return thread.id, run.id


async def test_finish__claims_the_next_queued_run_for_the_slot(client: AsyncClient) -> None:
    """Completing a run with a successor claim takes the oldest queued run (Postgres: in the
    same statement, `in_progress` logged, its prompt context attached); SQLite claims apart."""
    assistant = await client.assistants.create(model="test")
    await _queue(client, assistant.id, "first")
    _, second_id = await _queue(client, assistant.id, "second")
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    step_id, message_id = await open_message(store, run)
    successor = Claim(TEST_WORKER, 60)
    await finish_message(store, run.id, step_id, message_id, successor=successor)
    second = await store.runs.row(second_id)
    assert second is not None
    if store.db.dialect != "postgresql":
        assert successor.rows == []
        assert second["status"] == "queued"
        return
    (taken,) = successor.runs
    assert taken.id == second_id
    assert (second["status"], second["worker_id"]) == ("in_progress", TEST_WORKER)
    assert taken.event_seq == second["event_seq"]
    assert taken.context is not None  # read by the claiming statement
    unclaimed = await store.context.first_page(RunRecord.from_row(second))
    assert [m.content for m in taken.context.messages] == [m.content for m in unclaimed.messages]
    assert taken.context.steps == []
    events = await store.log.read_events(second_id)
    assert [e.event for e in events][-1] == "thread.run.in_progress"
    assert events[-1].data["status"] == "in_progress"


async def test_finish__without_the_claim__takes_no_successor(client: AsyncClient) -> None:
    """A finish whose run was taken from the worker claims nothing: the queue is left as is."""
    assistant = await client.assistants.create(model="test")
    thread_id, first_id = await _queue(client, assistant.id, "first")
    _, second_id = await _queue(client, assistant.id, "second")
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    step_id, message_id = await open_message(store, run)
    await client.threads.runs.cancel(first_id, thread_id=thread_id)
    successor = Claim(TEST_WORKER, 60)
    with pytest.raises(LostClaim, match=first_id):
        await finish_message(store, first_id, step_id, message_id, successor=successor)
    assert successor.rows == []
    second = await store.runs.row(second_id)
    assert second is not None
    assert (second["status"], second["worker_id"]) == ("queued", None)


async def test_pause__claims_the_next_queued_run_for_the_slot(client: AsyncClient) -> None:
    """Pausing for tool outputs frees the slot too: on Postgres it takes the next queued run."""
    assistant = await client.assistants.create(model="test")
    await _queue(client, assistant.id, "first")
    _, second_id = await _queue(client, assistant.id, "second")
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    step, _, _ = await store.work.begin_step(run, TEST_WORKER, kind="tool_calls", message=False)
    successor = Claim(TEST_WORKER, 60)
    await store.work.pause_for_tools(
        run.id,
        TEST_WORKER,
        step_id=step,
        tool_calls=[
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
        step_usage=USAGE,
        run_usage=USAGE,
        step_extensions=None,
        paused=RunStatus.REQUIRES_ACTION,
        allowed=(RunStatus.IN_PROGRESS,),
        successor=successor,
    )
    expected = [second_id] if store.db.dialect == "postgresql" else []
    assert [r["id"] for r in successor.rows] == expected


async def test_worker__one_slot_runs_the_queue_through_successor_claims(
    database_url: str,
) -> None:
    """With one slot, every queued run completes once, in queue order."""
    async with AsyncClient(
        database_url=database_url, worker=False, max_concurrent_runs=1, **FAST
    ) as client:
        assistant = await client.assistants.create(model="test")
        runs = [await _queue(client, assistant.id, f"run {i}") for i in range(5)]
        store = await client.store()
        worker = Worker(store, client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(20):
                done = [await client.threads.runs.poll(r, t) for t, r in runs]
            await worker.stop()
        assert [d.status for d in done] == ["completed"] * 5
        started = [d.started_at or 0 for d in done]
        assert started == sorted(started)
        for thread_id, run_id in runs:
            messages = (await client.threads.messages.list(thread_id, run_id=run_id)).data
            assert len(messages) == 1


async def test_worker__successor_taken_as_it_stops__goes_back_to_the_queue(
    database_url: str,
) -> None:
    """A run claimed by the last write of a stopping worker is released, not executed, and not
    lost: it is queued again for another worker, which completes it."""
    called, answer = anyio.Event(), anyio.Event()

    async def held(request: ModelRequest) -> AsyncIterator[Chunk]:
        called.set()
        await answer.wait()
        yield TextDelta("done")

    async with AsyncClient(
        database_url=database_url, worker=False, max_concurrent_runs=1, **FAST
    ) as client:
        assistant = await client.assistants.create(model="test")
        first_thread, first = await _queue(client, assistant.id, "first")
        second_thread, second = await _queue(client, assistant.id, "second")
        store = await client.store()
        model = FunctionModel(held)
        worker = Worker(
            store, client.settings, router=ProviderRouter(client.settings, extra={"test": model})
        )
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(10):
                await called.wait()
                tg.start_soon(worker.stop)
                await anyio.wait_all_tasks_blocked()  # the stop is under way: no more claims
                answer.set()
        assert (await client.threads.runs.retrieve(first, thread_id=first_thread)).status == (
            "completed"
        )
        released = await client.threads.runs.retrieve(second, thread_id=second_thread)
        assert released.status == "queued"
        assert len(model.requests) == 1
        names = [e.event for e in await store.log.read_events(second)]
        # On Postgres the first run's completion took it (and it was given back); on SQLite the
        # stopping worker claimed no more.
        taken = 1 if store.db.dialect == "postgresql" else 0
        assert names.count("thread.run.in_progress") == taken
        assert names.count("thread.run.queued") == 1 + taken
        other = Worker(store, client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(other.run)
            with anyio.fail_after(10):
                done = await client.threads.runs.poll(second, second_thread)
            await other.stop()
        assert done.status == "completed"
