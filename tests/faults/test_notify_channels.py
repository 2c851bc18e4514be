"""Postgres NOTIFY channels: a worker-only process hears work (runs queued, cancels), not every
event of every run; a client or server process hears every change announced; a run's appends
are announced while a stream follows it, its stops always.

The writer is another process (a process ignores its own notifications): it queues a run, sends
a plain change of it, then queues a second run, which arrives last on both channels."""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import Any

import anyio
import asyncpg

from assistants import AsyncClient
from store.base import RUNS_CHANNEL
from store.notify import QUEUE
from store.store import Store
from tests.faults.harness import until
from tests.helpers import complete_with_message

WRITER = """
import sys, anyio
from assistants import AsyncClient

async def main() -> None:
    async with AsyncClient(database_url=sys.argv[1], worker=False) as client:
        store = await client.store()
        assistant = await client.assistants.create(model="test")
        first = await client.threads.create_and_run(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "one"}]}
        )
        async with store.db.transaction() as tx:  # a change of the run that is not work
            await store.log.notify_remote(tx, first.id, "")
        await client.threads.create_and_run(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "two"}]}
        )
        print(first.id)

anyio.run(main)
"""


async def test_worker_channel__hears_work_not_every_change(postgres_url: str) -> None:
    await (await Store.open(postgres_url)).close()  # the schema, before anyone listens
    worker_side, client_side = await Store.open(postgres_url), await Store.open(postgres_url)
    heard: dict[str, Counter[str]] = {"worker": Counter(), "client": Counter()}
    worker_side.notifier.subscribe(lambda key: heard["worker"].update([key]))
    client_side.notifier.subscribe(lambda key: heard["client"].update([key]))
    try:
        async with anyio.create_task_group() as tg:

            async def listen(store: Store, runs: bool, *, task_status: Any) -> None:
                await store.listen(runs=runs, task_status=task_status)

            await tg.start(listen, worker_side, False)
            await tg.start(listen, client_side, True)
            with anyio.fail_after(30):
                written = await anyio.run_process(
                    [sys.executable, "-c", WRITER, postgres_url], env=dict(os.environ)
                )
                run_id = written.stdout.decode().strip()
                # The second run's queueing was sent last: once both heard it, all has arrived.
                await until(lambda: min(heard["worker"][QUEUE], heard["client"][QUEUE]) >= 2)
            tg.cancel_scope.cancel()
    finally:
        await worker_side.close()
        await client_side.close()
    # Of the first run, the client side heard the queueing and the plain change; the worker side
    # the queueing only.
    assert heard["client"][run_id] == 2
    assert heard["worker"][run_id] == 1


async def test_runs_channel__announces_stops_always_other_appends_while_followed(
    postgres_url: str,
) -> None:
    """A worker's writes announce a run's stop always, and its other appends (claim, opened
    step) only while a stream in some process follows the run: announcements wake every
    listening backend, and most runs have only pollers, who wait for the stop."""
    heard: Counter[str] = Counter()
    marker = anyio.Event()

    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == "marker":
            marker.set()
        else:
            heard[payload.split("|")[1]] += 1

    listener = await asyncpg.connect("postgresql://" + postgres_url.split("://", 1)[1])
    try:
        await listener.add_listener(RUNS_CHANNEL, on_notify)
        async with AsyncClient(database_url=postgres_url, worker=False) as client:
            store = await client.store()
            assistant = await client.assistants.create(model="test")
            unfollowed, _, _ = await _run_once(client, assistant.id)
            thread = await client.threads.create()
            run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
            async with store.log.following(run.id):
                row = await store.runs.row(run.id)
                assert row is not None
                assert row["followers"] == 1
                followed, _, _ = await complete_with_message(client, "hi")
            row = await store.runs.row(run.id)
            assert row is not None
            assert row["followers"] == 0
        # Announcements arrive in commit order: once this one is heard, all the others were.
        await listener.execute(f"SELECT pg_notify('{RUNS_CHANNEL}', 'marker')")
        with anyio.fail_after(10):
            await marker.wait()
    finally:
        await listener.close()
    assert followed == run.id
    assert heard[unfollowed] == 2  # queued (work too), completed
    assert heard[followed] == 4  # queued, in progress, step opened, completed


async def _run_once(client: AsyncClient, assistant_id: str) -> tuple[str, str, str]:
    thread = await client.threads.create()
    await client.threads.runs.create(thread.id, assistant_id=assistant_id)
    return await complete_with_message(client, "hi")
