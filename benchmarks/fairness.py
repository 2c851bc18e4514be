"""Fair claims between projects: one project's flood against another's sequential runs.

Run (Postgres from `--database-url`, else `ASSISTANTS_TEST_POSTGRES_URL`):

    .venv/bin/python benchmarks/fairness.py            # every part (about a minute)
    .venv/bin/python benchmarks/fairness.py --only sqlite,postgres --flood 200 --runs 20

The model is the loopback chat-completions server of `benchmarks/scale.py` (a process of its
own, used as `ollama/fake`), waiting `--model-delay` (150 ms) before each answer; each worker has
10 slots.

(sqlite, postgres) latency under a flood: project `b` runs `--runs` sequential
    `create_and_poll`s (create -> completed, seen by the client) with the worker otherwise idle
    (unloaded), then again while project `a` keeps `--flood` runs queued (it queues that many at
    once, then tops its queue up every 50 ms as the worker drains it: loaded); reported:
    b's median, p95 and maximum of each, the ratio of the p95s (target: loaded within 2x),
    and how many of a's runs were still queued when b's last run completed. `sqlite` is the
    embedded worker of one `AsyncClient` on a SQLite file; `postgres` is one `assistants worker`
    process, the client in this process.
(claim) what one claim costs: `Store.claim(limit=1)` timed `--claims` times (median, p99) with
    `--queue` runs queued in 1 and in 20 projects and 10 runs in flight (after each timed claim
    the run claimed 10 claims before ends, untimed), on a SQLite file and on Postgres (a fresh
    schema: no statistics). Run it on two versions of the code to compare their claims.
(limit) the per-project limit across processes: 4 worker processes (40 slots) on Postgres,
    `ASSISTANTS_PROJECT_RUN_LIMITS=a=N` (`--limit`, 5), 200 runs each of `a` and `b` queued at
    once; reported: the most runs of `a` held by workers at once, as sampled by a query every
    few milliseconds (a lower bound), and as rebuilt from the event log (each run's
    `in_progress` to its `completed`, timed by the workers before each statement: an upper
    bound), and the wall time. Claims by different processes at the same moment do not see each
    other's uncommitted claims, so the limit can be passed by what overlapping claims took.

Numbers, not pass/fail; the machine is shared (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# As a script, this file's directory heads sys.path, and benchmarks/store.py would shadow the
# `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import asyncpg
import structlog

from assistants import AsyncClient
from benchmarks.scale import (
    FAKE_MODEL,
    FakeModel,
    Schema,
    Workers,
    admin_dsn,
    percentile,
    queue_runs,
    wait_until,
)
from store.statuses import RunStatus

PARTS = ("sqlite", "postgres", "claim", "limit")


@dataclass(frozen=True)
class Latencies:
    unloaded: list[float]
    loaded: list[float]
    left_queued: int  # of the flood, when b's last loaded run completed

    def row(self, name: str) -> str:
        u50, u95 = statistics.median(self.unloaded), percentile(self.unloaded, 0.95)
        l50, l95 = statistics.median(self.loaded), percentile(self.loaded, 0.95)
        return (
            f"| {name} | {u50 * 1e3:.0f} / {u95 * 1e3:.0f} / {max(self.unloaded) * 1e3:.0f} "
            f"| {l50 * 1e3:.0f} / {l95 * 1e3:.0f} / {max(self.loaded) * 1e3:.0f} "
            f"| {l95 / u95:.2f}x | {self.left_queued} |"
        )


async def _sequential(client: AsyncClient, assistant_id: str, runs: int) -> list[float]:
    """Seconds from create to completed of `runs` runs, one after the other."""
    samples = []
    for i in range(runs):
        thread = await client.threads.create(messages=[{"role": "user", "content": f"b {i}"}])
        started = time.perf_counter()
        run = await client.threads.runs.create(thread.id, assistant_id=assistant_id)
        done = await client.threads.runs.poll(run.id, thread.id, poll_interval_ms=50)
        assert done.status == "completed", done.status
        samples.append(time.perf_counter() - started)
    return samples


async def _queued(client: AsyncClient, project: str) -> int:
    store = await client.store()
    row = await store.db.fetchrow(
        "SELECT count(*) AS n FROM runs WHERE status = 'queued' AND project = :p", {"p": project}
    )
    assert row is not None
    return int(row["n"])


async def _flooded(client: AsyncClient, flood: int, runs: int) -> Latencies:
    """b's runs unloaded, then with a's `flood` queued ahead of them."""
    a, b = client.for_project("a"), client.for_project("b")
    a_assistant = await a.assistants.create(model=FAKE_MODEL)
    b_assistant = await b.assistants.create(model=FAKE_MODEL)
    await _sequential(b, b_assistant.id, 2)  # warm: connections, first claims
    unloaded = await _sequential(b, b_assistant.id, runs)
    await queue_runs(a, a_assistant.id, flood, "a")

    async def keep_flooding() -> None:
        """Top a's queue up to `flood` as the workers drain it."""
        while True:
            missing = flood - await _queued(client, "a")
            if missing > 0:
                await queue_runs(a, a_assistant.id, missing, "a")
            await anyio.sleep(0.05)

    async with anyio.create_task_group() as tg:
        tg.start_soon(keep_flooding)
        loaded = await _sequential(b, b_assistant.id, runs)
        left = await _queued(client, "a")
        tg.cancel_scope.cancel()
    return Latencies(unloaded, loaded, left)


async def sqlite_part(args: argparse.Namespace) -> Latencies:
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncClient(
            database_url=f"sqlite+aiosqlite:///{tmp}/fairness.db",
            worker=True,
            max_concurrent_runs=10,
        ) as client:
            return await _flooded(client, args.flood, args.runs)


async def postgres_part(args: argparse.Namespace, workers: Workers) -> Latencies:
    async with (
        Schema(args.database_url) as url,
        AsyncClient(database_url=url, worker=False) as client,
    ):
        await client.store()
        worker = workers.start(url)
        try:
            await wait_until(worker.started)
            return await _flooded(client, args.flood, args.runs)
        finally:
            workers.stop_all()


async def _claim_costs(url: str, queue: int, projects: int, claims: int) -> list[float]:
    """Seconds per `Store.claim(limit=1)`, `queue` runs queued in `projects` projects."""
    async with AsyncClient(database_url=url, worker=False) as client:
        for p in range(projects):
            scoped = client.for_project(f"p{p}")
            assistant = await scoped.assistants.create(model="test")
            await queue_runs(scoped, assistant.id, queue // projects, f"p{p}")
        store = await client.store()
        held: list[str] = []
        samples = []
        for _ in range(claims + 10):
            started = time.perf_counter()
            (run,) = await store.claims.claim("bench-claim", limit=1, lease_seconds=60)
            samples.append(time.perf_counter() - started)
            held.append(run.id)
            if len(held) > 10:
                await store.transitions.end(
                    held.pop(0),
                    to=RunStatus.CANCELLED,
                    allowed=(RunStatus.IN_PROGRESS,),
                    worker_id="bench-claim",
                )
    return samples[10:]  # the first ones prepare statements


async def claim_part(args: argparse.Namespace) -> list[str]:
    rows = []
    for projects in (1, 20):
        with tempfile.TemporaryDirectory() as tmp:
            costs = await _claim_costs(
                f"sqlite+aiosqlite:///{tmp}/claims.db", args.queue, projects, args.claims
            )
        rows.append(("SQLite file", projects, costs))
        async with Schema(args.database_url) as url:
            costs = await _claim_costs(url, args.queue, projects, args.claims)
        rows.append(("Postgres", projects, costs))
    return [
        f"| {name} | {projects} | {statistics.median(costs) * 1e6:.0f} "
        f"| {percentile(costs, 0.99) * 1e6:.0f} |"
        for name, projects, costs in rows
    ]


@dataclass(frozen=True)
class LimitResult:
    sampled_max: int
    logged_max: int
    seconds: float


async def limit_part(args: argparse.Namespace, workers: Workers) -> LimitResult:
    per_project = 200
    schema = Schema(args.database_url)
    async with schema as url, AsyncClient(database_url=url, worker=False) as client:
        for project in ("a", "b"):
            scoped = client.for_project(project)
            assistant = await scoped.assistants.create(model=FAKE_MODEL)
            await queue_runs(scoped, assistant.id, per_project, project)
        conn = await asyncpg.connect(
            admin_dsn(args.database_url), server_settings={"search_path": schema.name}
        )
        workers.env["ASSISTANTS_PROJECT_RUN_LIMITS"] = f"a={args.limit}"
        sampled = 0
        try:
            started = time.perf_counter()
            for _ in range(4):
                workers.start(url)
            held = await conn.prepare(
                "SELECT count(*) FILTER (WHERE project = 'a' AND worker_id IS NOT NULL), "
                "count(*) FILTER (WHERE status = 'completed') FROM runs"
            )
            with anyio.fail_after(300):
                while True:
                    in_flight, completed = await held.fetchrow()
                    sampled = max(sampled, in_flight)
                    if completed == 2 * per_project:
                        break
                    await anyio.sleep(0.002)
            seconds = time.perf_counter() - started
            events = await conn.fetch(
                "SELECT e.event, e.created_at FROM run_events AS e JOIN runs AS r "
                "ON r.id = e.run_id WHERE r.project = 'a' AND e.event IN "
                "('thread.run.in_progress', 'thread.run.completed')"
            )
        finally:
            workers.stop_all()
            workers.env.pop("ASSISTANTS_PROJECT_RUN_LIMITS")
            await conn.close()
    # Ends before starts at equal times: a run's successor is claimed by the statement that
    # completes it, with the same timestamp.
    timeline = sorted(
        (float(e["created_at"]), 0 if e["event"] == "thread.run.completed" else 1) for e in events
    )
    now_held = logged = 0
    for _, start in timeline:
        now_held += 1 if start else -1
        logged = max(logged, now_held)
    return LimitResult(sampled, logged, seconds)


async def main_async(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    model = FakeModel(args.model_delay)
    os.environ["OLLAMA_BASE_URL"] = model.base_url  # the embedded worker's provider
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        workers = Workers(Path(tmp), model.base_url)
        try:
            if "sqlite" in args.only:
                result = await sqlite_part(args)
                rows.append(result.row("SQLite file, embedded worker"))
                print(rows[-1], flush=True)
            if "postgres" in args.only:
                result = await postgres_part(args, workers)
                rows.append(result.row("Postgres, one worker process"))
                print(rows[-1], flush=True)
            claims = await claim_part(args) if "claim" in args.only else []
            limited = await limit_part(args, workers) if "limit" in args.only else None
        finally:
            workers.stop_all()
            model.close()
    if rows:
        print(
            f"\n| b's create -> completed, ms ({args.runs} sequential runs; a floods {args.flood}; "
            f"10 slots; model {args.model_delay * 1e3:.0f} ms) | unloaded p50 / p95 "
            "/ max | loaded p50 / p95 / max | loaded p95 / unloaded p95 "
            "| a's runs still queued at the end |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        print("\n".join(rows))
    if claims:
        print(
            f"\n| Store.claim(limit=1), {args.queue} queued, 10 in flight, µs "
            "| projects | median | p99 |"
        )
        print("| --- | ---: | ---: | ---: |")
        print("\n".join(claims))
    if limited is not None:
        print(
            f"\nlimit a={args.limit}, 4 worker processes x 10 slots, 200 runs each of a and b: "
            f"most runs of a held at once: {limited.sampled_max} sampled, "
            f"{limited.logged_max} from the event log; {limited.seconds:.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=os.environ.get("ASSISTANTS_TEST_POSTGRES_URL"))
    parser.add_argument("--model-delay", type=float, default=0.15, help="seconds per model call")
    parser.add_argument("--flood", type=int, default=200, help="runs project a keeps queued")
    parser.add_argument("--runs", type=int, default=20, help="project b's sequential runs")
    parser.add_argument("--limit", type=int, default=5, help="project a's limit in (limit)")
    parser.add_argument("--queue", type=int, default=2000, help="runs queued in (claim)")
    parser.add_argument("--claims", type=int, default=300, help="claims timed in (claim)")
    parser.add_argument(
        "--only", action="append", default=[], help=f"parts to run, of {','.join(PARTS)} (all)"
    )
    args = parser.parse_args()
    names = {n.strip() for value in args.only for n in value.split(",") if n.strip()}
    if unknown := names - set(PARTS):
        parser.error(f"unknown {', '.join(sorted(unknown))}: choose from {', '.join(PARTS)}")
    args.only = [p for p in PARTS if p in names] if names else list(PARTS)
    needs_postgres = {"postgres", "claim", "limit"} & set(args.only)
    if needs_postgres and not (args.database_url or "").startswith("postgres"):
        parser.error("needs Postgres: --database-url or ASSISTANTS_TEST_POSTGRES_URL")
    if min(args.flood, args.runs, args.limit, args.claims) < 1 or args.queue < args.claims + 30:
        parser.error(
            "--flood, --runs, --limit and --claims must be at least 1, --queue at least "
            "--claims + 30"
        )
    load = os.getloadavg()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; parts: {','.join(args.only)}",
        flush=True,
    )
    started = time.perf_counter()
    anyio.run(main_async, args)
    load = os.getloadavg()
    print(
        f"\ntotal {time.perf_counter() - started:.1f} s; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


if __name__ == "__main__":
    main()
