"""Run benchmarks: end-to-end run latency and throughput through the client and embedded worker.

Run:

    .venv/bin/python benchmarks/runs.py            # full sizes (under a minute)
    .venv/bin/python benchmarks/runs.py --quick    # smoke sizes (a few seconds; CI)
    .venv/bin/python benchmarks/runs.py --runs 5000 --in-flight 100 --slow-runs 2000

Every scenario uses a fresh SQLite file in a temporary directory and the built-in `test` model
(no network). Threads, each holding one user message, are created before the clock starts, so
each timing covers run creation -> completed.

(a) sequential: `--runs` `create_and_poll` calls, one after another, through the synchronous
    `Client` (the blocking-portal facade): median and p99 latency, runs/s.
(b) concurrent: `--concurrent-runs` runs through `AsyncClient`, `--in-flight` at a time (each on
    its own thread), `max_concurrent_runs` >= in-flight: total runs/s and per-run latency.
(c) overlap: `--slow-runs` runs in flight at once against a model that waits `--slow-delay`
    seconds per call (`TestModel(delay=...)` registered as "slow" with
    `AsyncClient(providers=...)`, whose embedded worker has `max_concurrent_runs` = runs): wall
    time until all complete.
    The model waits must overlap (target: 1,000 x 200 ms in <= 4 s).
(d) tool round trip: an assistant with one function tool, through the synchronous `Client`:
    `create_and_poll` -> `requires_action` -> `submit_tool_outputs_and_poll` -> `completed`.
(e) write transactions per one-turn text run, from claim to `completed`: the store's
    `transaction()` is wrapped on the instance and each one is attributed to the store method
    that opened it (target <= 4); also the `run_events` rows each run leaves.
(f) poll wake-up latency: from the commit of the run's final transition (stamped by the same
    wrapper) to `poll()` returning: on `AsyncClient` (same loop) and on `Client` (which adds the
    hop back from the portal thread).

Times come from `time.perf_counter_ns`. The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# As a script, this file's directory heads sys.path, and benchmarks/store.py would shadow the
# `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import structlog

from assistants import AsyncClient, Client
from runtime.providers.testmodel import TestModel
from store.db import Tx
from store.records import RunRecord
from store.store import Store

USER_TEXT = "Hello there, what is the weather like in Paris today?"
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
# The store methods (their function names) whose commit ends a run or pauses it.
FINAL_TRANSITIONS = frozenset({"finish_message", "end", "pause_for_tools"})


@dataclass(frozen=True)
class Sizes:
    runs: int
    concurrent_runs: int
    in_flight: int
    slow_runs: int
    slow_delay: float
    tool_runs: int
    probe_runs: int


FULL = Sizes(
    runs=1_000,
    concurrent_runs=1_000,
    in_flight=50,
    slow_runs=1_000,
    slow_delay=0.2,
    tool_runs=500,
    probe_runs=300,
)
QUICK = Sizes(
    runs=100,
    concurrent_runs=200,
    in_flight=50,
    slow_runs=200,
    slow_delay=0.2,
    tool_runs=50,
    probe_runs=50,
)

# --- reporting ---------------------------------------------------------------------------------


def percentile(samples: list[int], q: float) -> float:
    """Nearest-rank percentile."""
    if not samples:
        return math.nan
    s = sorted(samples)
    return float(s[min(len(s), max(1, math.ceil(q * len(s)))) - 1])


def ms(ns: float) -> str:
    return f"{ns / 1e6:.2f} ms"


def us(ns: float) -> str:
    return f"{ns / 1e3:.0f} µs"


class Report:
    """Prints one aligned row per metric: name, value, target, note."""

    def section(self, title: str) -> None:
        print(f"\n{title}", flush=True)

    def add(self, metric: str, value: str, target: str = "", note: str = "") -> None:
        print(f"  {metric:<52} {value:>12}  {target:<8} {note}".rstrip(), flush=True)


def latency_rows(report: Report, what: str, samples: list[int]) -> None:
    report.add(f"{what} median", ms(percentile(samples, 0.5)))
    report.add(f"{what} p99", ms(percentile(samples, 0.99)))


def database_url(tmp: str, name: str) -> str:
    return f"sqlite+aiosqlite:///{Path(tmp) / name}"


# --- observing the store's transactions --------------------------------------------------------


EMPTY_CLAIM = "claim (found no queued run)"


class TxProbe:
    """Wraps one store's `db.transaction` (on the instance): who opened each, when it committed.

    `claim` is wrapped too, to tell a claim that took a run from one that found the queue empty.
    """

    def __init__(self, store: Store) -> None:
        self._original = store.db.transaction
        self._claim = store.claims.claim
        self.commits: list[tuple[str, int]] = []
        store.db.transaction = self._transaction  # type: ignore[method-assign]
        store.claims.claim = self._claimed  # type: ignore[method-assign]

    def _transaction(
        self, *, heavy: bool = False, readonly: bool = False
    ) -> AbstractAsyncContextManager[Tx]:
        return self._observed(sys._getframe(1).f_code.co_name, heavy, readonly)

    @asynccontextmanager
    async def _observed(self, caller: str, heavy: bool, readonly: bool) -> AsyncIterator[Tx]:
        async with self._original(heavy=heavy, readonly=readonly) as tx:
            yield tx
        self.commits.append((caller, time.perf_counter_ns()))

    async def _claimed(
        self,
        worker_id: str,
        *,
        limit: int,
        lease_seconds: float,
        project_limit: int | None = None,
        project_limits: dict[str, int] | None = None,
    ) -> list[RunRecord]:
        rows = await self._claim(
            worker_id,
            limit=limit,
            lease_seconds=lease_seconds,
            project_limit=project_limit,
            project_limits=project_limits,
        )
        if not rows:  # its commit is the last one: nothing else ran since
            caller, stamp = self.commits[-1]
            assert caller == "claim", caller
            self.commits[-1] = (EMPTY_CLAIM, stamp)
        return rows


@dataclass
class ProbeStats:
    per_run: list[int] = field(default_factory=list)
    nonempty_per_run: list[int] = field(default_factory=list)
    callers: Counter[str] = field(default_factory=Counter)
    wake_ns: list[int] = field(default_factory=list)
    runs: int = 0

    def record(self, commits: list[tuple[str, int]], returned_ns: int) -> None:
        """One run's commits (from just before its creation to `poll()` returning)."""
        worker = [(c, t) for c, t in commits if c != "create"]  # `store.runs.create`: the API's
        self.runs += 1
        self.per_run.append(len(worker))
        self.nonempty_per_run.append(sum(1 for c, _ in worker if c != EMPTY_CLAIM))
        self.callers.update(c for c, _ in worker)
        final = [t for c, t in worker if c in FINAL_TRANSITIONS]
        if final:
            self.wake_ns.append(returned_ns - final[-1])


# --- scenarios ---------------------------------------------------------------------------------


def sequential_sync(report: Report, tmp: str, sizes: Sizes) -> None:
    report.section(f"(a) {sizes.runs:,} sequential create_and_poll, sync Client, test model")
    with Client(database_url=database_url(tmp, "a.db")) as client:
        assistant = client.assistants.create(model="test")
        threads = [
            client.threads.create(messages=[{"role": "user", "content": USER_TEXT}]).id
            for _ in range(sizes.runs)
        ]
        samples: list[int] = []
        started = time.perf_counter_ns()
        for thread_id in threads:
            t0 = time.perf_counter_ns()
            run = client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            samples.append(time.perf_counter_ns() - t0)
            assert run.status == "completed", run.status
        wall = time.perf_counter_ns() - started
    latency_rows(report, "create -> completed latency", samples)
    report.add("throughput", f"{sizes.runs / (wall / 1e9):.0f} runs/s")


async def concurrent_async(report: Report, tmp: str, sizes: Sizes) -> None:
    n, k = sizes.concurrent_runs, sizes.in_flight
    report.section(f"(b) {n:,} runs, {k} in flight at once, AsyncClient, test model")
    url = database_url(tmp, "b.db")
    async with AsyncClient(database_url=url, max_concurrent_runs=max(k, 64)) as client:
        assistant = await client.assistants.create(model="test")
        threads = [
            (await client.threads.create(messages=[{"role": "user", "content": USER_TEXT}])).id
            for _ in range(n)
        ]
        todo = iter(threads)
        samples: list[int] = []

        async def runner() -> None:
            for thread_id in todo:
                t0 = time.perf_counter_ns()
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread_id, assistant_id=assistant.id
                )
                samples.append(time.perf_counter_ns() - t0)
                assert run.status == "completed", run.status

        started = time.perf_counter_ns()
        async with anyio.create_task_group() as tg:
            for _ in range(k):
                tg.start_soon(runner)
        wall = time.perf_counter_ns() - started
    report.add("throughput", f"{n / (wall / 1e9):.0f} runs/s", note=f"{n:,} runs in {ms(wall)}")
    latency_rows(report, "per-run create -> completed latency", samples)


async def slow_model_overlap(report: Report, tmp: str, sizes: Sizes) -> None:
    n, delay = sizes.slow_runs, sizes.slow_delay
    report.section(f"(c) {n:,} runs at once, model waits {delay * 1000:.0f} ms per call")
    url = database_url(tmp, "c.db")
    slow = {"slow": TestModel(delay=delay)}
    async with AsyncClient(database_url=url, providers=slow, max_concurrent_runs=n) as client:
        assistant = await client.assistants.create(model="slow")
        threads = [
            (await client.threads.create(messages=[{"role": "user", "content": USER_TEXT}])).id
            for _ in range(n)
        ]
        samples: list[int] = []
        created_ns = 0
        started = 0
        ready = anyio.Event()
        created = 0

        async def one(thread_id: str) -> None:
            nonlocal created, created_ns
            await ready.wait()
            t0 = time.perf_counter_ns()
            run = await client.threads.runs.create(thread_id, assistant_id=assistant.id)
            created += 1
            if created == n:
                created_ns = time.perf_counter_ns() - started
            run = await client.threads.runs.poll(run.id, thread_id)
            samples.append(time.perf_counter_ns() - t0)
            assert run.status == "completed", run.status

        async with anyio.create_task_group() as runs:
            for thread_id in threads:
                runs.start_soon(one, thread_id)
            await anyio.sleep(0.05)  # let every task reach `ready.wait()`
            started = time.perf_counter_ns()
            ready.set()
        wall = time.perf_counter_ns() - started
    report.add(
        f"wall time, all {n:,} runs completed",
        ms(wall),
        "<= 4 s" if n == 1000 else "",
        f"serial model time would be {n * delay:.0f} s",
    )
    report.add("  of which all runs created", ms(created_ns))
    report.add("throughput", f"{n / (wall / 1e9):.0f} runs/s")
    latency_rows(report, "per-run create -> completed latency", samples)


def tool_round_trip(report: Report, tmp: str, sizes: Sizes) -> None:
    n = sizes.tool_runs
    report.section(f"(d) {n:,} tool round trips, sync Client, test model")
    with Client(database_url=database_url(tmp, "d.db")) as client:
        assistant = client.assistants.create(model="test", tools=[TOOL])
        threads = [
            client.threads.create(messages=[{"role": "user", "content": USER_TEXT}]).id
            for _ in range(n)
        ]
        whole: list[int] = []
        to_action: list[int] = []
        to_done: list[int] = []
        for thread_id in threads:
            t0 = time.perf_counter_ns()
            run = client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            t1 = time.perf_counter_ns()
            assert run.status == "requires_action", run.status
            assert run.required_action is not None
            outputs = [
                {"tool_call_id": call.id, "output": "sunny, 21 C"}
                for call in run.required_action.submit_tool_outputs.tool_calls
            ]
            run = client.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id, thread_id=thread_id, tool_outputs=outputs
            )
            t2 = time.perf_counter_ns()
            assert run.status == "completed", run.status
            whole.append(t2 - t0)
            to_action.append(t1 - t0)
            to_done.append(t2 - t1)
    latency_rows(report, "round trip (create -> completed)", whole)
    report.add("  create_and_poll -> requires_action median", ms(percentile(to_action, 0.5)))
    report.add("  submit_tool_outputs_and_poll -> completed median", ms(percentile(to_done, 0.5)))


def report_probe(
    report: Report, stats: ProbeStats, *, events: list[int], deltas: list[int]
) -> None:
    report.add(
        "write transactions per run, claim -> completed",
        f"{percentile(stats.per_run, 0.5):.0f}",
        "<= 4",
        f"min {min(stats.per_run)}, max {max(stats.per_run)}",
    )
    report.add(
        "  of which wrote rows (an empty claim writes none)",
        f"{percentile(stats.nonempty_per_run, 0.5):.0f}",
    )
    for caller, count in sorted(stats.callers.items(), key=lambda kv: -kv[1]):
        report.add(f"  {caller}", f"{count / stats.runs:.2f} /run")
    report.add(
        "run_events rows per run",
        f"{percentile(events, 0.5):.0f}",
        note=f"of which {percentile(deltas, 0.5):.0f} message deltas",
    )


async def probe_async(report: Report, tmp: str, sizes: Sizes) -> ProbeStats:
    n = sizes.probe_runs
    report.section(f"(e) {n:,} sequential one-turn text runs, AsyncClient, transactions observed")
    url = database_url(tmp, "e.db")
    stats = ProbeStats()
    async with AsyncClient(database_url=url) as client:
        probe = TxProbe(await client.store())
        assistant = await client.assistants.create(model="test")
        threads = [
            (await client.threads.create(messages=[{"role": "user", "content": USER_TEXT}])).id
            for _ in range(n)
        ]
        await anyio.sleep(0.1)  # let the worker settle into waiting for work
        latency: list[int] = []
        for thread_id in threads:
            start = len(probe.commits)
            t0 = time.perf_counter_ns()
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            returned = time.perf_counter_ns()
            latency.append(returned - t0)
            assert run.status == "completed", run.status
            stats.record(probe.commits[start:], returned)
    events = _per_run(url, "SELECT count(*) FROM run_events GROUP BY run_id")
    deltas = _per_run(
        url,
        "SELECT count(*) FROM runs LEFT JOIN run_events e ON e.run_id = runs.id "
        "AND e.event = 'thread.message.delta' GROUP BY runs.id",
    )
    report_probe(report, stats, events=events, deltas=deltas)
    report.add(
        "AsyncClient create -> completed latency median",
        ms(percentile(latency, 0.5)),
        note="sequential, for comparison with (a)",
    )
    return stats


def _per_run(url: str, sql: str) -> list[int]:
    path = url.split(":///", 1)[1]
    with sqlite3.connect(path) as conn:
        rows = [int(r[0]) for r in conn.execute(sql)]
    conn.close()
    return rows


def probe_sync(tmp: str, sizes: Sizes) -> ProbeStats:
    n = sizes.probe_runs
    stats = ProbeStats()
    with Client(database_url=database_url(tmp, "f.db")) as client:
        probe = TxProbe(client.portal.call(client.async_client.store))
        assistant = client.assistants.create(model="test")
        threads = [
            client.threads.create(messages=[{"role": "user", "content": USER_TEXT}]).id
            for _ in range(n)
        ]
        time.sleep(0.1)
        for thread_id in threads:
            start = len(probe.commits)
            run = client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            returned = time.perf_counter_ns()
            assert run.status == "completed", run.status
            stats.record(probe.commits[start:], returned)
    return stats


# --- main --------------------------------------------------------------------------------------


@contextmanager
def timed(label: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    print(f"  ({label}: {time.perf_counter() - t0:.1f} s including setup)", flush=True)


def run_all(sizes: Sizes, only: set[str]) -> None:
    report = Report()
    with tempfile.TemporaryDirectory(prefix="assistants-bench-") as tmp:
        if "a" in only:
            with timed("a"):
                sequential_sync(report, tmp, sizes)
        if "b" in only:
            with timed("b"):
                anyio.run(concurrent_async, report, tmp, sizes)
        if "c" in only:
            with timed("c"):
                anyio.run(slow_model_overlap, report, tmp, sizes)
        if "d" in only:
            with timed("d"):
                tool_round_trip(report, tmp, sizes)
        if "e" in only or "f" in only:
            with timed("e, f"):
                stats = anyio.run(probe_async, report, tmp, sizes)
                sync_stats = probe_sync(tmp, sizes)
            report.section("(f) poll() wake-up: final transition committed -> poll() returned")
            report.add("AsyncClient poll() wake-up median", us(percentile(stats.wake_ns, 0.5)))
            report.add("AsyncClient poll() wake-up p99", us(percentile(stats.wake_ns, 0.99)))
            report.add(
                "Client (sync) poll() wake-up median",
                us(percentile(sync_stats.wake_ns, 0.5)),
                note="includes the hop back from the portal thread",
            )
            report.add("Client (sync) poll() wake-up p99", us(percentile(sync_stats.wake_ns, 0.99)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--runs", type=int, help="(a) sequential runs")
    parser.add_argument("--concurrent-runs", type=int, help="(b) runs in total")
    parser.add_argument("--in-flight", type=int, help="(b) runs in flight at once")
    parser.add_argument("--slow-runs", type=int, help="(c) runs in flight at once")
    parser.add_argument("--slow-delay", type=float, help="(c) model wait per call, seconds")
    parser.add_argument("--tool-runs", type=int, help="(d) tool round trips")
    parser.add_argument("--probe-runs", type=int, help="(e), (f) observed runs")
    parser.add_argument(
        "--only", default="abcdef", help="scenarios to run, e.g. 'ac' (default: all)"
    )
    args = parser.parse_args()
    base = QUICK if args.quick else FULL
    overrides: dict[str, Any] = {
        name: getattr(args, name)
        for name in Sizes.__dataclass_fields__
        if getattr(args, name) is not None
    }
    sizes = Sizes(**{**base.__dict__, **overrides})
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"runs benchmark: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"os.cpu_count()={os.cpu_count()}, {platform.system()} {platform.machine()}"
    )
    print(f"sizes: {sizes}")
    started = time.perf_counter()
    run_all(sizes, set(args.only))
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
