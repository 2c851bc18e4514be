"""Prompt-read benchmark: what one turn of a run costs to read its prompt, by thread length.

Run:

    .venv/bin/python benchmarks/context.py            # threads of 20, 1,000 and 10,000 messages
    .venv/bin/python benchmarks/context.py --quick    # smoke sizes (CI)
    .venv/bin/python benchmarks/context.py --postgres postgresql+asyncpg://postgres@127.0.0.1/db

Threads are seeded through `AsyncClient` on a SQLite file (or the Postgres URL given), each
message about 54 prompt tokens. For each thread length and truncation a run is created and
claimed, then `runtime.context.read_context` (what the executor calls every turn: the store read
plus prompt assembly) is timed, median and p99 over `--iterations` calls. The same run is also
read "whole": every finished message of the thread and assembly over them, which is what a turn
cost before history was read in pages, for the ratio. Truncations:

- `last_messages=20`: reads the 20 newest;
- `max_prompt_tokens=1000`: the budget fills at about 18 messages (one page);
- `max_prompt_tokens=4000`: the budget fills at about 70 messages (two pages);
- `auto` with no `max_prompt_tokens`: the model's context (128k tokens, about 2,300 of these
  messages) is the budget, so the read grows with the thread until that is filled, then stays.

Target: per-turn cost flat in the thread's length (<= 1.5x from 20 to 10,000 messages) when the
budget is filled by the newest messages. The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

# As a script, this file's directory heads sys.path and its name would shadow the `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog

from assistants import AsyncClient
from runtime.context import assemble, read_context
from store.records import MessageRecord, RunRecord, StepRecord
from store.rows import MESSAGE_COLUMNS
from store.statuses import RunStatus
from store.store import Store

TEXT = "word " * 40  # about 50 tokens, 54 with the message overhead
TRUNCATIONS: dict[str, dict[str, Any]] = {
    "last_messages=20": {"truncation_strategy": {"type": "last_messages", "last_messages": 20}},
    "max_prompt_tokens=1000": {"max_prompt_tokens": 1000},
    "max_prompt_tokens=4000": {"max_prompt_tokens": 4000},
    "auto (128k context)": {},
}


def percentile(sorted_ns: list[int], q: float) -> float:
    """The nearest-rank percentile of already sorted samples."""
    if not sorted_ns:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_ns)))
    return float(sorted_ns[min(rank, len(sorted_ns)) - 1])


async def timed(call: Callable[[], Awaitable[object]], iterations: int) -> tuple[float, float]:
    """Median and p99 of `call()` in µs, after a tenth as many warm-up calls."""
    gc.collect()
    for _ in range(max(1, iterations // 10)):
        await call()
    samples: list[int] = []
    for _ in range(iterations):
        t0 = time.perf_counter_ns()
        await call()
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    return percentile(samples, 0.5) / 1000, percentile(samples, 0.99) / 1000


async def whole_read(store: Store, run: RunRecord, budget: int | None) -> object:
    """Every finished message of the thread, then assembly: a turn's read without pages."""
    messages = await store.db.fetch(
        f"SELECT {MESSAGE_COLUMNS}, seq FROM messages WHERE thread_id = :t "
        "AND status != 'in_progress' ORDER BY seq",
        {"t": run.thread_id},
    )
    steps = await store.db.fetch("SELECT * FROM run_steps WHERE run_id = :r", {"r": run.id})
    return assemble(
        run,
        [MessageRecord.from_row(m) for m in messages],
        [StepRecord.from_row(s) for s in steps],
        prompt_budget=budget,
    )


async def bench(url: str, lengths: list[int], iterations: int) -> None:
    async with AsyncClient(database_url=url, worker=False) as client:
        store = await client.store()
        assistant = await client.assistants.create(model="test")
        threads: dict[int, str] = {}
        for n in lengths:
            thread = await client.threads.create()
            for i in range(n):
                await client.threads.messages.create(thread.id, role="user", content=f"m{i} {TEXT}")
            threads[n] = thread.id
        print(f"\n{'truncation':<24}{'messages':>9}{'paged µs':>11}{'p99':>9}"
              f"{'whole µs':>11}{'p99':>9}{'whole/paged':>13}")  # fmt: skip
        for label, options in TRUNCATIONS.items():
            firsts: list[float] = []
            for n in lengths:
                run = await client.threads.runs.create(
                    threads[n], assistant_id=assistant.id, **options
                )
                (row,) = await store.claims.claim("bench", limit=1, lease_seconds=600)
                assert row.id == run.id
                budget = row.max_prompt_tokens
                fresh_row = await store.runs.row(run.id)
                assert fresh_row is not None
                fresh = RunRecord.from_row(fresh_row)

                async def paged(fresh: RunRecord = fresh, budget: int | None = budget) -> object:
                    return await read_context(store, fresh, prompt_budget=budget)

                async def whole(fresh: RunRecord = fresh, budget: int | None = budget) -> object:
                    return await whole_read(store, fresh, budget)

                p50, p99 = await timed(paged, iterations)
                w50, w99 = await timed(whole, max(5, iterations // 10))
                firsts.append(p50)
                print(f"{label:<24}{n:>9,}{p50:>11.0f}{p99:>9.0f}{w50:>11.0f}{w99:>9.0f}"
                      f"{w50 / p50:>12.1f}x")  # fmt: skip
                await client.threads.runs.cancel(run.id, thread_id=threads[n])
                await store.transitions.end(
                    run.id,
                    to=RunStatus.CANCELLED,
                    allowed=(RunStatus.CANCELLING,),
                    worker_id="bench",
                )
            print(f"{'':<24}{'ratio':>9}{firsts[-1] / firsts[0]:>10.2f}x  "
                  f"({lengths[-1]:,} vs {lengths[0]:,} messages)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--iterations", type=int, default=300, help="timed reads per case")
    parser.add_argument("--postgres", help="a Postgres URL to run on instead of a SQLite file")
    args = parser.parse_args()
    lengths = [20, 200] if args.quick else [20, 1_000, 10_000]
    iterations = min(20, args.iterations) if args.quick else args.iterations
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"prompt-read benchmark: Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, {platform.system()} {platform.machine()}; "
        f"{iterations} timed reads per case; times in µs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite+aiosqlite:///{Path(tmp) / 'context.db'}"
        started = time.perf_counter()
        asyncio.run(bench(url, lengths, iterations))
        print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
