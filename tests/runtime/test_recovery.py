"""Leases, the sweeper, expiry and graceful stop: no run is lost, none is left stuck."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio

from assistants import AsyncClient
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.base import Chunk, TextDelta
from runtime.providers.router import ProviderRouter
from runtime.worker import Worker
from store.store import Store

FAST: dict[str, Any] = {"poll_seconds": 0.02, "sweep_seconds": 0.02, "lease_seconds": 5.0}


async def _setup(client: AsyncClient, text: str = "hello") -> tuple[str, str]:
    assistant = await client.assistants.create(model="test")
    thread = await client.threads.create(messages=[{"role": "user", "content": text}])
    return assistant.id, thread.id


async def _lapse(store: Store, run_id: str) -> None:
    """Make a lease lapse now (as if its worker stopped heartbeating long ago)."""
    async with store.db.transaction() as tx:
        await tx.execute("UPDATE runs SET lease_expires_at = 0 WHERE id = :id", {"id": run_id})


async def test_lapsed_lease__run_requeued_and_completed_once(database_url: str) -> None:
    """A run whose worker vanished mid-message is re-queued, resumed, and has one answer."""
    async with AsyncClient(database_url=database_url, worker=False, **FAST) as client:
        assistant_id, thread_id = await _setup(client, "survive")
        run = await client.threads.runs.create(thread_id, assistant_id=assistant_id)
        store = await client.store()
        (claimed,) = await store.claims.claim("ghost", limit=1, lease_seconds=60)
        # The ghost got as far as opening the answer, then died.
        await store.work.begin_step(claimed, "ghost", kind="message_creation", message=True)
        await _lapse(store, run.id)
        worker = Worker(store, client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(10):
                done = await client.threads.runs.poll(run.id, thread_id)
            await worker.stop()
        assert done.status == "completed"
        messages = (await client.threads.messages.list(thread_id, run_id=run.id)).data
        assert len(messages) == 1
        assert messages[0].status == "completed"
        steps = (await client.threads.runs.steps.list(run.id, thread_id=thread_id)).data
        assert [s.status for s in steps] == ["completed"]
        names = [e.event for e in await store.log.read_events(run.id)]
        assert names.count("thread.run.in_progress") == 2
        assert "thread.message.incomplete" in names  # live streams saw the abandoned message end
        row = await store.runs.row(run.id)
        assert row is not None
        assert row["attempts"] == 1  # one interruption (claims of tool rounds do not count)


async def test_lapsed_lease__attempt_budget_spent_fails_the_run(database_url: str) -> None:
    """After max_attempts lost leases the sweeper fails the run with server_error."""
    async with AsyncClient(
        database_url=database_url, worker=False, max_attempts=1, **FAST
    ) as client:
        assistant_id, thread_id = await _setup(client)
        run = await client.threads.runs.create(thread_id, assistant_id=assistant_id)
        store = await client.store()
        await store.claims.claim("ghost", limit=1, lease_seconds=60)
        await _lapse(store, run.id)
        worker = Worker(store, client.settings)
        await worker.sweep()
        done = await client.threads.runs.retrieve(run.id, thread_id=thread_id)
        assert done.status == "failed"
        assert done.last_error is not None
        assert done.last_error.code == "server_error"
        assert "interrupted 1 times" in done.last_error.message


async def test_live_lease__sweeper_leaves_it_alone(database_url: str) -> None:
    """A run whose lease has not lapsed is not touched by the sweeper."""
    async with AsyncClient(database_url=database_url, worker=False, **FAST) as client:
        assistant_id, thread_id = await _setup(client)
        run = await client.threads.runs.create(thread_id, assistant_id=assistant_id)
        store = await client.store()
        await store.claims.claim("alive", limit=1, lease_seconds=60)
        await Worker(store, client.settings).sweep()
        still = await client.threads.runs.retrieve(run.id, thread_id=thread_id)
        assert still.status == "in_progress"


async def test_cancelling_run_of_a_vanished_worker__sweeper_finishes_the_cancel(
    database_url: str,
) -> None:
    """Cancel of a held run whose worker then vanished ends `cancelled` via the sweeper."""
    async with AsyncClient(database_url=database_url, worker=False, **FAST) as client:
        assistant_id, thread_id = await _setup(client)
        run = await client.threads.runs.create(thread_id, assistant_id=assistant_id)
        store = await client.store()
        await store.claims.claim("ghost", limit=1, lease_seconds=60)
        cancelling = await client.threads.runs.cancel(run.id, thread_id=thread_id)
        assert cancelling.status == "cancelling"
        await _lapse(store, run.id)
        await Worker(store, client.settings).sweep()
        done = await client.threads.runs.retrieve(run.id, thread_id=thread_id)
        assert done.status == "cancelled"


async def test_expiry__queued_and_paused_runs_past_expires_at_expire(database_url: str) -> None:
    """Runs past expires_at end `expired`, with their open tool step expired too."""
    async with AsyncClient(database_url=database_url, worker=False, **FAST) as client:
        tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        assistant = await client.assistants.create(model="test", tools=[tool])
        thread = await client.threads.create(messages=[{"role": "user", "content": "call f"}])
        store = await client.store()
        worker = Worker(store, client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(10):
                paused = await client.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id
                )
            await worker.stop()
        assert paused.status == "requires_action"
        queued_thread = await client.threads.create()
        queued = await client.threads.runs.create(queued_thread.id, assistant_id=assistant.id)
        async with store.db.transaction() as tx:
            await tx.execute("UPDATE runs SET expires_at = created_at - 1", {})
        await Worker(store, client.settings).sweep()
        for run_id, thread_id in ((paused.id, thread.id), (queued.id, queued_thread.id)):
            run = await client.threads.runs.retrieve(run_id, thread_id=thread_id)
            assert run.status == "expired"
        (step,) = (await client.threads.runs.steps.list(paused.id, thread_id=thread.id)).data
        assert step.status == "expired"
        assert step.expired_at is not None


async def test_graceful_stop__in_flight_run_released_to_the_queue() -> None:
    """Stopping a worker past its grace period hands its run back; another worker finishes it."""
    started = anyio.Event()
    block = anyio.Event()

    async def slow(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("thinking")
        started.set()
        await block.wait()
        yield TextDelta(" done")

    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", worker=False, stop_grace_seconds=0, **FAST
    ) as client:
        assistant = await client.assistants.create(model="test")
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        store = await client.store()
        first = Worker(
            store,
            client.settings,
            router=ProviderRouter(client.settings, extra={"test": FunctionModel(slow)}),
        )
        run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
        async with anyio.create_task_group() as tg:
            await tg.start(first.run)
            with anyio.fail_after(10):
                await started.wait()
                await first.stop()
        released = await client.threads.runs.retrieve(run.id, thread_id=thread.id)
        assert released.status == "queued"
        assert (await client.threads.messages.list(thread.id, run_id=run.id)).data == []
        second = Worker(store, client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(second.run)
            with anyio.fail_after(10):
                done = await client.threads.runs.poll(run.id, thread.id)
            await second.stop()
        assert done.status == "completed"
        assert len((await client.threads.messages.list(thread.id, run_id=run.id)).data) == 1


async def test_concurrent_create_run__exactly_one_wins(database_url: str) -> None:
    """Two concurrent run creations on one thread: one run, one 400 with the API's wording."""
    from assistants import BadRequestError

    async with AsyncClient(database_url=database_url, worker=False) as client:
        assistant_id, thread_id = await _setup(client)
        results: list[Any] = []

        async def create() -> None:
            try:
                results.append(
                    await client.threads.runs.create(thread_id, assistant_id=assistant_id)
                )
            except BadRequestError as exc:
                results.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(create)
        runs = [r for r in results if not isinstance(r, BadRequestError)]
        errors = [r for r in results if isinstance(r, BadRequestError)]
        assert len(runs) == 1
        assert len(errors) == 7
        assert {e.message for e in errors} == {
            f"Thread {thread_id} already has an active run {runs[0].id}."
        }


async def test_concurrent_cancel_and_submit__one_wins_state_valid(database_url: str) -> None:
    """Cancel and submit race on a paused run: exactly one applies; the run stays consistent."""
    from assistants import BadRequestError

    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    async with AsyncClient(database_url=database_url, worker=False, **FAST) as client:
        assistant = await client.assistants.create(model="test", tools=[tool])
        thread = await client.threads.create(messages=[{"role": "user", "content": "call f"}])
        store = await client.store()
        worker = Worker(store, client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(10):
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id
                )
            await worker.stop()
        call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
        outcomes: dict[str, Any] = {}

        async def cancel() -> None:
            try:
                outcomes["cancel"] = await client.threads.runs.cancel(run.id, thread_id=thread.id)
            except BadRequestError as exc:
                outcomes["cancel"] = exc

        async def submit() -> None:
            try:
                outcomes["submit"] = await client.threads.runs.submit_tool_outputs(
                    run.id,
                    thread_id=thread.id,
                    tool_outputs=[{"tool_call_id": call.id, "output": "x"}],
                )
            except BadRequestError as exc:
                outcomes["submit"] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel)
            tg.start_soon(submit)
        winners = [k for k, v in outcomes.items() if not isinstance(v, BadRequestError)]
        final = await client.threads.runs.retrieve(run.id, thread_id=thread.id)
        if winners == ["cancel"]:
            assert final.status == "cancelled"
            assert isinstance(outcomes["submit"], BadRequestError)
        elif winners == ["submit"]:
            # The submit re-queued the run; the cancel then found a queued run and cancelled it,
            # or lost: either way the run is in a valid state and the step holds the output.
            assert final.status in ("queued", "cancelled")
            steps = (await client.threads.runs.steps.list(run.id, thread_id=thread.id)).data
            assert steps[0].step_details.tool_calls[0].function.output == "x"  # type: ignore[union-attr]
        else:
            assert sorted(winners) == ["cancel", "submit"]
            assert final.status == "cancelled"
