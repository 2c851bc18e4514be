"""Store micro-benchmarks: our store and client against the same SQL on raw drivers.

Run:

    .venv/bin/python benchmarks/store.py            # full sizes (about a minute)
    .venv/bin/python benchmarks/store.py --quick    # smoke sizes (a few seconds; CI)
    .venv/bin/python benchmarks/store.py --iterations 5000 --big-thread 50000

A SQLite file in a temporary directory is seeded through `AsyncClient` (never raw SQL): 100
threads of 100 messages, one thread of 10,000 messages and one of 20, plus queued runs. Then each
operation is timed (median and p99 over `--iterations` calls, after `--warmup` calls):

- create-message: `client.threads.messages.create` and `Store.create_message`;
- retrieve-run: `client.threads.runs.retrieve` and `Store.get_run`;
- list-messages: a page of 20 from the middle of the 10,000-message thread (an `after` cursor)
  and the first page of the 20-message thread; their ratio should stay near 1 (target <= 1.5x);
- compare-and-set: `Store.claim(limit=1)` (queued -> in_progress plus an event row) and
  `Store.heartbeat` (a lease renewal).

Each operation is also issued as "the same statement" on raw drivers against the same file, in the
same process and event loop: through a separate `aiosqlite` connection (a hop to its thread per
statement, what a typical async SQLite stack pays) and through the stdlib `sqlite3` module called
inline (the floor, for context). Each path is timed in its own block. Writes are wrapped in
`BEGIN IMMEDIATE` / `COMMIT` like ours; every connection uses WAL with `synchronous=NORMAL`.
Targets from the issue: store hot paths <= 3x raw aiosqlite, client CRUD <= 6x raw aiosqlite.
The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# As a script, this file's directory heads sys.path and its name would shadow the `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosqlite
import structlog

from assistants import AsyncClient
from assistants import validation as v
from store.rows import MESSAGE_COLUMNS, RUN_COLUMNS
from store.store import Store
from store.types import Thread

PROJECT = "default"


@dataclass(frozen=True)
class Sizes:
    threads: int
    per_thread: int
    big_thread: int
    small_thread: int
    iterations: int
    warmup: int
    retrieve_runs: int


FULL = Sizes(
    threads=100,
    per_thread=100,
    big_thread=10_000,
    small_thread=20,
    iterations=2_000,
    warmup=200,
    retrieve_runs=100,
)
QUICK = Sizes(
    threads=10,
    per_thread=10,
    big_thread=1_000,
    small_thread=20,
    iterations=200,
    warmup=20,
    retrieve_runs=20,
)

# --- timing ------------------------------------------------------------------------------------


def percentile(sorted_ns: list[int], q: float) -> float:
    """The nearest-rank percentile of already sorted samples."""
    if not sorted_ns:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_ns)))
    return float(sorted_ns[min(rank, len(sorted_ns)) - 1])


@dataclass
class Variant:
    """One way of doing an operation: ours (store or client) or a raw driver."""

    label: str
    kind: str  # "sqlite3", "aiosqlite", "store" or "client"
    call: Callable[[int], Awaitable[object]]
    samples: list[int] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        s = sorted(self.samples)
        return percentile(s, 0.5) / 1000

    @property
    def p99_us(self) -> float:
        s = sorted(self.samples)
        return percentile(s, 0.99) / 1000


async def measure(variants: list[Variant], *, iterations: int, warmup: int) -> None:
    """Time each variant in its own block: warm-up calls, then `iterations` timed calls.

    Blocks, not call-by-call interleaving: SQLite drops a connection's page cache whenever another
    connection wrote, so interleaving would charge every path for its neighbours' writes.
    """
    for var in variants:
        gc.collect()
        for i in range(warmup):
            await var.call(i)
        for i in range(warmup, warmup + iterations):
            t0 = time.perf_counter_ns()
            await var.call(i)
            var.samples.append(time.perf_counter_ns() - t0)


TARGETS = {"store": 3.0, "client": 6.0}


def print_table(title: str, variants: list[Variant]) -> None:
    aio = next(v for v in variants if v.kind == "aiosqlite")
    floor = next(v for v in variants if v.kind == "sqlite3")
    print(f"\n{title}")
    header = (
        f"  {'path':<58} {'median µs':>10} {'p99 µs':>10} {'ours/aio med':>13} "
        f"{'ours/aio p99':>13} {'ours/sqlite3':>13} {'target':>8} {'meets':>6}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for var in variants:
        cells = f"  {var.label:<58} {var.median_us:>10.1f} {var.p99_us:>10.1f}"
        if var.kind in TARGETS:
            ratio = var.median_us / aio.median_us
            target = TARGETS[var.kind]
            cells += (
                f" {ratio:>12.2f}x {var.p99_us / aio.p99_us:>12.2f}x "
                f"{var.median_us / floor.median_us:>12.2f}x {'<=' + format(target, 'g') + 'x':>8} "
                f"{'yes' if ratio <= target else 'NO':>6}"
            )
        print(cells)


# --- the raw drivers ---------------------------------------------------------------------------


class RawSqlite3:
    """The stdlib module called inline: the floor."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")

    def write(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        rows = c.execute(sql, params).fetchall()
        c.execute("COMMIT")
        return rows

    def cas(self, run_id: str, to: str, source: str, worker: str) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        cur = c.execute(CAS_SQL, (to, worker, time.time() + 30, run_id, source))
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
        assert row is not None
        snapshot = dict(zip(names, row, strict=True))
        c.execute(
            EVENT_SQL,
            (run_id, snapshot["event_seq"], time.time(), f"thread.run.{to}", json.dumps(snapshot)),
        )
        c.execute("COMMIT")

    def fetchall(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


class RawAiosqlite:
    """A separate aiosqlite connection: each statement is a hop to its thread and back."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, path: str) -> RawAiosqlite:
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        return cls(conn)

    async def write(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        c = self.conn
        await c.execute("BEGIN IMMEDIATE")
        async with c.execute(sql, params) as cur:
            rows = list(await cur.fetchall())
        await c.execute("COMMIT")
        return rows

    async def cas(self, run_id: str, to: str, source: str, worker: str) -> None:
        c = self.conn
        await c.execute("BEGIN IMMEDIATE")
        async with c.execute(CAS_SQL, (to, worker, time.time() + 30, run_id, source)) as cur:
            row = await cur.fetchone()
            names = [d[0] for d in cur.description]
        assert row is not None
        snapshot = dict(zip(names, row, strict=True))
        await c.execute(
            EVENT_SQL,
            (run_id, snapshot["event_seq"], time.time(), f"thread.run.{to}", json.dumps(snapshot)),
        )
        await c.execute("COMMIT")

    async def fetchall(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def close(self) -> None:
        await self.conn.close()


INSERT_MESSAGE_SQL = (
    "INSERT INTO messages (id, project, thread_id, created_at, status, role, content, "
    "attachments, metadata) VALUES (?, ?, ?, ?, 'completed', 'user', ?, NULL, '{}')"
)
SELECT_RUN_SQL = f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?"
PAGE_SQL = (
    f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? AND seq < ? "
    "ORDER BY seq DESC LIMIT 21"
)
FIRST_PAGE_SQL = (
    f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? ORDER BY seq DESC LIMIT 21"
)
CAS_SQL = (
    "UPDATE runs SET status = ?, worker_id = ?, lease_expires_at = ?, "
    "event_seq = event_seq + 1 WHERE id = ? AND status IN (?) RETURNING *"
)
EVENT_SQL = "INSERT INTO run_events (run_id, seq, created_at, event, data) VALUES (?, ?, ?, ?, ?)"
HEARTBEAT_SQL = (
    "UPDATE runs SET lease_expires_at = ? WHERE worker_id = ? RETURNING id, status, "
    "cancel_requested"
)
CONTENT = json.dumps([{"type": "text", "text": {"value": "benchmark message", "annotations": []}}])

# --- the benchmark -----------------------------------------------------------------------------


@dataclass
class Seeded:
    assistant_id: str
    threads: list[str]
    big_thread: str
    small_thread: str
    middle_id: str
    middle_seq: int
    retrieve: list[tuple[str, str]]  # (thread_id, run_id), queued
    toggle_runs: list[str]  # in_progress runs the raw compare-and-set flips back and forth
    raw_thread: str  # where the raw drivers insert their messages


async def long_thread(client: AsyncClient, n: int) -> Thread:
    """A thread of `n` messages: the first 1,000 (what one request may carry) at its creation,
    the rest added one by one."""
    first = min(n, 1000)
    thread = await client.threads.create(
        messages=[{"role": "user", "content": f"message {m}"} for m in range(first)]
    )
    for m in range(first, n):
        await client.threads.messages.create(thread.id, role="user", content=f"message {m}")
    return thread


async def seed(client: AsyncClient, store: Store, sizes: Sizes, path: str) -> Seeded:
    t0 = time.perf_counter()
    assistant = await client.assistants.create(model="test", name="bench")
    threads = []
    for t in range(sizes.threads):
        thread = await client.threads.create(
            messages=[
                {"role": "user", "content": f"thread {t} message {m}"}
                for m in range(sizes.per_thread)
            ]
        )
        threads.append(thread.id)
    big = await long_thread(client, sizes.big_thread)
    small = await long_thread(client, sizes.small_thread)
    raw_thread = await client.threads.create()

    async def queued_run() -> tuple[str, str]:
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
        return thread.id, run.id

    # Held runs first: `claim` takes the oldest queued runs.
    toggles = [(await queued_run())[1] for _ in range(2)]
    claimed = await store.claims.claim("bench-raw", limit=2, lease_seconds=3600)
    assert sorted(r.id for r in claimed) == sorted(toggles)
    await queued_run()
    assert len(await store.claims.claim("bench-heartbeat", limit=1, lease_seconds=3600)) == 1
    retrieve = [await queued_run() for _ in range(sizes.retrieve_runs)]
    # The claim benchmark takes the retrieve runs too, then these, and then finds none left.
    for _ in range(max(0, sizes.warmup + sizes.iterations - sizes.retrieve_runs)):
        await queued_run()

    with sqlite3.connect(path) as conn:
        middle = conn.execute(
            "SELECT id, seq FROM messages WHERE thread_id = ? ORDER BY seq LIMIT 1 OFFSET ?",
            (big.id, sizes.big_thread // 2),
        ).fetchone()
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM threads), "
            "(SELECT count(*) FROM runs)"
        ).fetchone()
    conn.close()
    print(
        f"seeded {counts[0]:,} messages, {counts[1]:,} threads, {counts[2]:,} runs "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return Seeded(
        assistant_id=assistant.id,
        threads=threads,
        big_thread=big.id,
        small_thread=small.id,
        middle_id=middle[0],
        middle_seq=middle[1],
        retrieve=retrieve,
        toggle_runs=toggles,
        raw_thread=raw_thread.id,
    )


async def run(sizes: Sizes) -> None:
    with tempfile.TemporaryDirectory(prefix="assistants-bench-") as tmp:
        path = str(Path(tmp) / "bench.db")
        async with AsyncClient(database_url=f"sqlite+aiosqlite:///{path}", worker=False) as client:
            store = await client.store()
            s = await seed(client, store, sizes, path)
            aio = await RawAiosqlite.open(path)
            floor = RawSqlite3(path)
            try:
                await benchmark(client, store, s, sizes, aio, floor)
            finally:
                await aio.close()
                floor.close()


async def benchmark(
    client: AsyncClient,
    store: Store,
    s: Seeded,
    sizes: Sizes,
    aio: RawAiosqlite,
    floor: RawSqlite3,
) -> None:
    n, w = sizes.iterations, sizes.warmup
    counter = itertools.count()

    def raw_id() -> str:
        return f"msg_raw{next(counter):020d}"

    # create-message -------------------------------------------------------------------------
    message = v.new_message({"role": "user", "content": "benchmark message"}, "")

    async def floor_insert(i: int) -> object:
        return floor.write(INSERT_MESSAGE_SQL, (raw_id(), PROJECT, s.raw_thread, 0, CONTENT))

    async def aio_insert(i: int) -> object:
        return await aio.write(INSERT_MESSAGE_SQL, (raw_id(), PROJECT, s.raw_thread, 0, CONTENT))

    async def store_create(i: int) -> object:
        return await store.threads.create_message(PROJECT, s.threads[i % len(s.threads)], message)

    async def client_create(i: int) -> object:
        return await client.threads.messages.create(
            s.threads[i % len(s.threads)], role="user", content="benchmark message"
        )

    create = [
        Variant("raw sqlite3 inline: BEGIN; INSERT message; COMMIT", "sqlite3", floor_insert),
        Variant("raw aiosqlite: BEGIN; INSERT message; COMMIT", "aiosqlite", aio_insert),
        Variant("ours Store.create_message", "store", store_create),
        Variant("ours client.threads.messages.create", "client", client_create),
    ]
    await measure(create, iterations=n, warmup=w)
    print_table("create-message", create)

    # retrieve-run ---------------------------------------------------------------------------
    def pick(i: int) -> tuple[str, str]:
        return s.retrieve[i % len(s.retrieve)]

    async def floor_get(i: int) -> object:
        return floor.fetchall(SELECT_RUN_SQL, (pick(i)[1],))

    async def aio_get(i: int) -> object:
        return await aio.fetchall(SELECT_RUN_SQL, (pick(i)[1],))

    async def store_get(i: int) -> object:
        thread_id, run_id = pick(i)
        return await store.runs.get(PROJECT, thread_id, run_id)

    async def client_get(i: int) -> object:
        thread_id, run_id = pick(i)
        return await client.threads.runs.retrieve(run_id, thread_id=thread_id)

    retrieve = [
        Variant("raw sqlite3 inline: SELECT run by id", "sqlite3", floor_get),
        Variant("raw aiosqlite: SELECT run by id", "aiosqlite", aio_get),
        Variant("ours Store.get_run", "store", store_get),
        Variant("ours client.threads.runs.retrieve", "client", client_get),
    ]
    await measure(retrieve, iterations=n, warmup=w)
    print_table("retrieve-run", retrieve)

    # list-messages --------------------------------------------------------------------------
    async def floor_page(i: int) -> object:
        return floor.fetchall(PAGE_SQL, (s.big_thread, s.middle_seq))

    async def aio_page(i: int) -> object:
        return await aio.fetchall(PAGE_SQL, (s.big_thread, s.middle_seq))

    async def floor_small(i: int) -> object:
        return floor.fetchall(FIRST_PAGE_SQL, (s.small_thread,))

    async def aio_small(i: int) -> object:
        return await aio.fetchall(FIRST_PAGE_SQL, (s.small_thread,))

    async def store_deep(i: int) -> object:
        page = await store.threads.list_messages(
            PROJECT,
            s.big_thread,
            limit=20,
            order="desc",
            after=s.middle_id,
            before=None,
            run_id=None,
        )
        assert len(page.data) == 20
        return page

    async def store_small(i: int) -> object:
        return await store.threads.list_messages(
            PROJECT, s.small_thread, limit=20, order="desc", after=None, before=None, run_id=None
        )

    async def client_deep(i: int) -> object:
        return await client.threads.messages.list(s.big_thread, after=s.middle_id, limit=20)

    async def client_small(i: int) -> object:
        return await client.threads.messages.list(s.small_thread, limit=20)

    deep = [
        Variant("raw sqlite3 inline: page SELECT (seq < ?)", "sqlite3", floor_page),
        Variant("raw aiosqlite: page SELECT (seq < ?)", "aiosqlite", aio_page),
        Variant("ours Store.list_messages(after=<middle>)", "store", store_deep),
        Variant("ours client.threads.messages.list(after=<middle>)", "client", client_deep),
    ]
    shallow = [
        Variant("raw sqlite3 inline: first page SELECT", "sqlite3", floor_small),
        Variant("raw aiosqlite: first page SELECT", "aiosqlite", aio_small),
        Variant("ours Store.list_messages", "store", store_small),
        Variant("ours client.threads.messages.list", "client", client_small),
    ]
    await measure(deep + shallow, iterations=n, warmup=w)
    print_table(
        f"list-messages: page of 20 from the middle of the {sizes.big_thread:,}-message thread",
        deep,
    )
    print_table(
        f"list-messages: first page of 20 of the {sizes.small_thread}-message thread", shallow
    )
    print("  deep page / small-thread page (target <= 1.5x):")
    for d, sh in zip(deep, shallow, strict=True):
        print(
            f"    {d.kind:<10} median {d.median_us / sh.median_us:.2f}x"
            f"   p99 {d.p99_us / sh.p99_us:.2f}x"
        )

    # compare-and-set ------------------------------------------------------------------------
    def flip(i: int) -> tuple[str, str]:
        # Held runs flip between in_progress and requires_action: never queued, so they stay
        # out of the way of the store's claims.
        return (
            ("requires_action", "in_progress") if i % 2 == 0 else ("in_progress", "requires_action")
        )

    async def floor_cas(i: int) -> object:
        to, source = flip(i)
        floor.cas(s.toggle_runs[0], to, source, "bench-raw")
        return None

    async def aio_cas(i: int) -> object:
        to, source = flip(i)
        await aio.cas(s.toggle_runs[1], to, source, "bench-raw")
        return None

    async def store_claim(i: int) -> object:
        rows = await store.claims.claim("bench-claim", limit=1, lease_seconds=30)
        assert len(rows) == 1
        return rows

    async def store_claim_empty(i: int) -> object:
        if i == 0:  # any run the claims above left queued
            while await store.claims.claim("bench-claim", limit=100, lease_seconds=30):
                pass
        rows = await store.claims.claim("bench-claim", limit=1, lease_seconds=30)
        assert not rows
        return rows

    cas = [
        Variant("raw sqlite3 inline: BEGIN; UPDATE..RETURNING; INSERT event", "sqlite3", floor_cas),
        Variant("raw aiosqlite: BEGIN; UPDATE..RETURNING; INSERT event", "aiosqlite", aio_cas),
        Variant("ours Store.claim(limit=1): queued -> in_progress", "store", store_claim),
        Variant("(ours Store.claim(limit=1) on an empty queue)", "info", store_claim_empty),
    ]
    await measure(cas, iterations=n, warmup=w)
    print_table("compare-and-set transition (+ event row, one transaction)", cas)

    async def floor_heartbeat(i: int) -> object:
        return floor.write(HEARTBEAT_SQL, (time.time() + 30, "bench-heartbeat"))

    async def aio_heartbeat(i: int) -> object:
        return await aio.write(HEARTBEAT_SQL, (time.time() + 30, "bench-heartbeat"))

    mine = await store.db.fetchrow("SELECT id FROM runs WHERE worker_id = 'bench-heartbeat'")
    assert mine is not None

    async def store_heartbeat(i: int) -> object:
        held = await store.claims.heartbeat("bench-heartbeat", [mine["id"]], lease_seconds=30)
        assert len(held) == 1
        return held

    heartbeat = [
        Variant("raw sqlite3 inline: BEGIN; UPDATE lease; COMMIT", "sqlite3", floor_heartbeat),
        Variant("raw aiosqlite: BEGIN; UPDATE lease; COMMIT", "aiosqlite", aio_heartbeat),
        Variant("ours Store.heartbeat", "store", store_heartbeat),
    ]
    await measure(heartbeat, iterations=n, warmup=w)
    leased = floor.fetchall("SELECT count(*) FROM runs WHERE worker_id IS NOT NULL", ())[0][0]
    print_table(
        f"lease renewal: a worker holding 1 run, while {leased:,} runs are leased in all", heartbeat
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--iterations", type=int, help="timed calls per operation")
    parser.add_argument("--warmup", type=int, help="untimed calls per operation first")
    parser.add_argument("--threads", type=int, help="seeded threads")
    parser.add_argument("--per-thread", type=int, help="messages per seeded thread")
    parser.add_argument("--big-thread", type=int, help="messages in the big thread")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    overrides = {
        "iterations": args.iterations,
        "warmup": args.warmup,
        "threads": args.threads,
        "per_thread": args.per_thread,
        "big_thread": args.big_thread,
    }
    sizes = Sizes(**{**sizes.__dict__, **{k: x for k, x in overrides.items() if x is not None}})
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"store benchmark: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"aiosqlite {aiosqlite.__version__}, os.cpu_count()={os.cpu_count()}, "
        f"{platform.system()} {platform.machine()}"
    )
    print(
        f"sizes: {sizes.threads} threads x {sizes.per_thread} messages, big thread "
        f"{sizes.big_thread:,}, small thread {sizes.small_thread}; {sizes.iterations:,} timed "
        f"calls per path after {sizes.warmup:,} warm-up calls; times in µs"
    )
    started = time.perf_counter()
    asyncio.run(run(sizes))
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
