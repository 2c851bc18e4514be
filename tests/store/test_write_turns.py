"""A write transaction is a scheduling point on every database: a task that writes several in a
row lets the other tasks of the loop run between them, as Postgres's awaits always did. On
SQLite the statements run inline, so without that turn a run that ends (or starts) with three
or four transactions held the whole loop, every stream and heartbeat, for their sum. A turn
costs a loop iteration, so SQLite gives one at most every `TURN_EVERY` seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from store.store import Store

WRITES = 12


async def _turns_while(store: Store, keep_writing: Callable[[int], bool]) -> tuple[int, int]:
    """How many turns another task got while this one wrote threads until `keep_writing()` is
    false; and how many it wrote."""
    turns = 0
    done = anyio.Event()

    async def other_task() -> None:
        nonlocal turns
        while not done.is_set():
            await anyio.lowlevel.checkpoint()
            turns += 1

    writes = 0
    async with anyio.create_task_group() as tg:
        tg.start_soon(other_task)
        await anyio.lowlevel.checkpoint()
        before = turns
        while keep_writing(writes):
            await store.threads.create("default", messages=[], metadata=None, tool_resources=None)
            writes += 1
        during = turns - before
        done.set()
    return during, writes


async def test_write_transactions__each_lets_the_other_tasks_run_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("store.sqlite.TURN_EVERY", 0.0)
    with anyio.fail_after(10):
        during, _ = await _turns_while(store, lambda writes: writes < WRITES)
    # One turn between each two writes at least (0 on SQLite when they ran back to back).
    assert during >= WRITES - 1, during


async def test_write_transactions__a_task_writing_without_pause_gives_turns_on_the_way(
    store: Store,
) -> None:
    """With the default spacing: 20 ms of back-to-back writes give the loop turns all along."""
    deadline = time.perf_counter() + 0.02
    with anyio.fail_after(10):
        during, writes = await _turns_while(store, lambda _: time.perf_counter() < deadline)
    # A write that starts 0.5 ms or more after the last turn gives one: every write when they
    # are slow, at least one per 2 ms of writing when they are fast (about 40 here).
    assert writes > 1
    assert during >= min(writes - 1, 10), (during, writes)


async def test_write_transaction__the_turn_it_gives_is_no_cancellation_point(
    memory_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the turn is shielded: a write in a cancelled scope commits as it did before
    (cancellation is delivered where the code awaits something, not inside the store's turn)."""
    monkeypatch.setattr("store.sqlite.TURN_EVERY", 0.0)
    with anyio.fail_after(10):
        with anyio.CancelScope() as scope:
            scope.cancel()
            thread = await memory_store.threads.create(
                "default", messages=[], metadata=None, tool_resources=None
            )
    assert (await memory_store.threads.get("default", thread.id)).id == thread.id
