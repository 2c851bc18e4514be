"""A write transaction is a scheduling point on every database: a task that writes several in a
row lets the other tasks of the loop run between them, as Postgres's awaits always did. On
SQLite the statements run inline, so without that turn a run that ends (or starts) with three
or four transactions held the whole loop, every stream and heartbeat, for their sum."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.lowlevel

from store.store import Store
from tests.helpers import other_task_turns

WRITES = 12


async def _turns_while(store: Store, keep_writing: Callable[[int], bool]) -> tuple[int, int]:
    """How many turns another task got while this one wrote threads until `keep_writing()` is
    false; and how many it wrote."""
    writes = 0
    async with other_task_turns() as turns:
        before = turns()
        while keep_writing(writes):
            await store.threads.create("default", messages=[], metadata=None, tool_resources=None)
            writes += 1
        during = turns() - before
    return during, writes


async def test_write_transactions__each_lets_the_other_tasks_run_first(store: Store) -> None:
    with anyio.fail_after(10):
        during, _ = await _turns_while(store, lambda writes: writes < WRITES)
    # One turn between each two writes at least (0 on SQLite when they ran back to back).
    assert during >= WRITES - 1, during


async def test_write_transaction__the_turn_it_gives_is_no_cancellation_point(
    memory_store: Store,
) -> None:
    """On SQLite the turn is shielded: a write in a cancelled scope commits as it did before
    (cancellation is delivered where the code awaits something, not inside the store's turn)."""
    with anyio.fail_after(10):
        with anyio.CancelScope() as scope:
            scope.cancel()
            thread = await memory_store.threads.create(
                "default", messages=[], metadata=None, tool_resources=None
            )
    assert (await memory_store.threads.get("default", thread.id)).id == thread.id
