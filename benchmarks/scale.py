"""Scale-out benchmark: `assistants worker` processes on one Postgres database.

Run (Postgres from `--database-url`, else `ASSISTANTS_TEST_POSTGRES_URL`):

    .venv/bin/python benchmarks/scale.py            # full sizes (a few minutes)
    .venv/bin/python benchmarks/scale.py --quick    # smoke sizes (CI)
    .venv/bin/python benchmarks/scale.py --database-url postgresql+asyncpg://user@host/db

Every scenario uses a schema of its own (`?search_path=`), dropped afterwards, and real worker
processes (`python -m assistants.cli worker --concurrency 10`). The model is either the built-in
`test` model (instant, in the worker) or a loopback chat-completions server in a process of its
own, used as `ollama/fake`, that waits `--model-delay` (100 ms) before each answer.

(a) throughput: runs completed per second with 1, 2 and 4 worker processes, for both models.
    Runs are queued first, then the workers start; the rate is measured between the 10th and
    the 90th percentile of completions (sampled from the database every 20 ms), so start-up
    and the tail do not count. Targets with the 100 ms model: >= 1.8x from 1 to 2 workers,
    >= 3.2x from 1 to 4 (10 slots per worker: 100 runs/s each at most).
(b) latency: create -> completed, seen by a client in this process (`runs.poll`, woken by
    LISTEN/NOTIFY), with one worker up and `--in-flight` runs at a time: median and p99.
(c) recovery: two workers; the one holding a run (its model call never answers) is SIGKILLed;
    the other re-queues the run once the lease lapses and completes it (the model answers the
    second call). Reported: kill -> completed, and lease expiry (the lease's last renewal, read
    from the database) -> reclaimed and -> completed; the sweep that notices runs every second
    (`ASSISTANTS_SWEEP_SECONDS`), so expiry -> reclaimed is up to a second. Target: kill ->
    completed within lease + 2 s. `--lease` sets `ASSISTANTS_LEASE_SECONDS` (default 2).

The output ends with a markdown table for the README's performance section. Numbers, not
pass/fail; compare only runs on the same machine (it prints the CPU count and load average).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

# As a script, this file's directory heads sys.path, and benchmarks/store.py would shadow the
# `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import asyncpg
import httpx
import structlog

from assistants import AsyncClient

FAKE_MODEL = "ollama/fake"
HOLD_PREFIX = "hold-once"  # the first call for such a message never answers
WORKER_COUNTS = (1, 2, 4)


@dataclass(frozen=True)
class Sizes:
    runs_per_worker_fake: int
    runs_per_worker_test: int
    latency_runs: int
    recoveries: int


FULL = Sizes(runs_per_worker_fake=400, runs_per_worker_test=600, latency_runs=300, recoveries=5)
QUICK = Sizes(runs_per_worker_fake=100, runs_per_worker_test=150, latency_runs=30, recoveries=1)


# --- the fake model (a process of its own) ------------------------------------------------------


class _ModelHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as streaming servers set it: without it each small SSE write after the first
    # waits for the client's delayed ACK (~40 ms), which would be measured as our latency.
    disable_nagle_algorithm = True
    delay = 0.1
    seen: ClassVar[Counter[str]] = Counter()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        users = [m for m in body["messages"] if m["role"] == "user"]
        key = str(users[-1]["content"]) if users else ""
        with self.lock:
            self.seen[key] += 1
            first = self.seen[key] == 1
        if key.startswith(HOLD_PREFIX) and first:
            time.sleep(3600)  # the worker holding this call is killed; nobody reads the answer
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deltas: list[dict[str, Any]] = [{"content": "Hello"}, {"content": " there."}]
        for i, delta in enumerate([*deltas, {}]):
            choice = {"index": 0, "delta": delta, "finish_reason": "stop" if i == 2 else None}
            self._event(json.dumps({"object": "chat.completion.chunk", "choices": [choice]}))
        usage = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        self._event(json.dumps({"object": "chat.completion.chunk", "choices": [], "usage": usage}))
        self._event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        """The calls seen so far, by user message."""
        with self.lock:
            payload = json.dumps(dict(self.seen)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _event(self, data: str) -> None:
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a killed worker's connection


def serve_model(delay: float) -> None:
    """Serve the fake model until killed; print the port first."""
    _ModelHandler.delay = delay
    server = _ModelServer(("127.0.0.1", 0), _ModelHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class FakeModel:
    """The fake model server process."""

    def __init__(self, delay: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-model", str(delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = f"http://127.0.0.1:{int(self.process.stdout.readline())}/v1"

    async def calls(self, key: str) -> int:
        async with httpx.AsyncClient() as http:
            seen: dict[str, int] = (await http.get(self.base_url)).json()
        return seen.get(key, 0)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


# --- databases and workers ----------------------------------------------------------------------


def admin_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1].split("?", 1)[0]


class Schema:
    """A fresh Postgres schema; `url` points `search_path` at it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        sep = "&" if "?" in base_url else "?"
        self.url = f"{base_url}{sep}search_path={self.name}"

    async def __aenter__(self) -> str:
        conn = await asyncpg.connect(admin_dsn(self.base_url))
        try:
            await conn.execute(f'CREATE SCHEMA "{self.name}"')
        finally:
            await conn.close()
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        conn = await asyncpg.connect(admin_dsn(self.base_url))
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        finally:
            await conn.close()


@dataclass
class Worker:
    worker_id: str
    process: subprocess.Popen[bytes]
    log: Path

    def started(self) -> bool:
        """Whether it logged `worker_started` (at log level info)."""
        return '"worker_started"' in self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Workers:
    directory: Path
    model_url: str
    env: dict[str, str] = field(default_factory=dict)
    log_level: str = "info"  # "warning" keeps per-run log lines out of throughput numbers
    running: list[Worker] = field(default_factory=list)
    count: int = 0

    def start(self, url: str) -> Worker:
        self.count += 1
        worker_id = f"bench-{self.count}"
        log = self.directory / f"{worker_id}.log"
        env = {**os.environ, "OLLAMA_BASE_URL": self.model_url, **self.env}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "assistants.cli", "--log-json", "--log-level"),
                    *(self.log_level, "worker", "--database-url", url, "--concurrency", "10"),
                    *("--worker-id", worker_id),
                ],
                env=env,
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(worker_id, process, log)
        self.running.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.running:
            worker.stop()
        self.running.clear()


async def wait_until(check: Any, timeout: float = 120.0, interval: float = 0.01) -> None:
    with anyio.fail_after(timeout):
        while True:
            result = check()
            if hasattr(result, "__await__"):
                result = await result
            if result:
                return
            await anyio.sleep(interval)


async def count(client: AsyncClient, where: str) -> int:
    store = await client.store()
    row = await store.db.fetchrow(f"SELECT count(*) AS n FROM runs WHERE {where}")
    assert row is not None
    return int(row["n"])


async def queue_runs(client: AsyncClient, assistant_id: str, n: int, prefix: str) -> None:
    limiter = anyio.CapacityLimiter(8)

    async def one(i: int) -> None:
        async with limiter:
            await client.threads.create_and_run(
                assistant_id=assistant_id,
                thread={"messages": [{"role": "user", "content": f"{prefix} {i}"}]},
            )

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)


# --- (a) throughput -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    runs_per_s: float
    worker_cpu_ms: float  # CPU time of the worker processes per run (nan off Linux)
    postgres_cpu_ms: float  # of every local `postgres` process per run (nan if not local)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of `pids` (Linux /proc; nan elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # exited
        except OSError:
            return math.nan
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_pids() -> list[int]:
    """The local Postgres server's processes (empty off Linux or with a remote server)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/comm"):
        try:
            if status.read_text().strip() == "postgres":
                pids.append(int(status.parent.name))
        except OSError:
            continue
    return pids


async def throughput(
    base_url: str, workers: Workers, model: str, n_workers: int, runs: int
) -> Throughput:
    """Runs/s (and CPU per run) between the 10th and 90th percentile of completions."""
    async with Schema(base_url) as url, AsyncClient(database_url=url, worker=False) as client:
        await client.store()
        assistant = await client.assistants.create(model=model)
        await queue_runs(client, assistant.id, runs, "throughput")
        samples: list[tuple[float, int, float, float]] = []
        workers.log_level = "warning"
        started = [workers.start(url) for _ in range(n_workers)]
        workers.log_level = "info"
        pids = [w.process.pid for w in started]
        try:
            done = 0
            while done < runs:
                done = await count(client, "status = 'completed'")
                # The server's processes now (the workers' connections are new backends).
                server = cpu_seconds(postgres_pids())
                samples.append((time.perf_counter(), done, cpu_seconds(pids), server))
                await anyio.sleep(0.02)
        finally:
            workers.stop_all()
    low, high = math.ceil(0.1 * runs), math.floor(0.9 * runs)
    first = next(s for s in samples if s[1] >= low)
    last = next(s for s in samples if s[1] >= high)
    n = last[1] - first[1]
    return Throughput(
        n / max(last[0] - first[0], 1e-9),
        (last[2] - first[2]) / n * 1000 if n else math.nan,
        (last[3] - first[3]) / n * 1000 if last[3] and n else math.nan,
    )


# --- (b) latency --------------------------------------------------------------------------------


async def latency(
    base_url: str, workers: Workers, model: str, runs: int, in_flight: int
) -> list[float]:
    """Seconds from create to completed (seen by `poll`), one worker, `in_flight` at a time."""
    async with Schema(base_url) as url, AsyncClient(database_url=url, worker=False) as client:
        await client.store()
        assistant = await client.assistants.create(model=model)
        worker = workers.start(url)
        try:
            await wait_until(worker.started)
            # One run first, so the worker is past its start-up (connections, first claim).
            warm = await client.threads.create_and_run(assistant_id=assistant.id)
            await client.threads.runs.poll(warm.id, warm.thread_id, poll_interval_ms=50)
            samples: list[float] = []
            next_index = 0

            async def client_loop() -> None:
                nonlocal next_index
                while next_index < runs:
                    next_index += 1
                    thread = await client.threads.create(
                        messages=[{"role": "user", "content": f"latency {next_index}"}]
                    )
                    started = time.perf_counter()
                    run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
                    done = await client.threads.runs.poll(run.id, thread.id, poll_interval_ms=50)
                    assert done.status == "completed", done.status
                    samples.append(time.perf_counter() - started)

            async with anyio.create_task_group() as tg:
                for _ in range(in_flight):
                    tg.start_soon(client_loop)
        finally:
            workers.stop_all()
    return samples


# --- (c) recovery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    kill_to_completed: float
    expiry_to_reclaimed: float
    expiry_to_completed: float


async def recover_once(
    client: AsyncClient, model: FakeModel, assistant_id: str, pool: list[Worker], i: int
) -> Recovery:
    """Queue a run whose first model call never answers, kill its holder, time the recovery."""
    store = await client.store()
    key = f"{HOLD_PREFIX} {i}"
    # At a random phase of the workers' sweeps (sweeps every second; leases of whole seconds).
    await anyio.sleep(random.Random(i).uniform(0, 1))
    run = await client.threads.create_and_run(
        assistant_id=assistant_id, thread={"messages": [{"role": "user", "content": key}]}
    )
    holder: list[str] = []

    async def calling() -> bool:
        if await model.calls(key) == 0:
            return False
        row = await store.run_row(run.id)
        assert row is not None
        holder.append(row["worker_id"])
        return True

    await wait_until(calling)  # the holder is inside its model call
    # The id in the database is the worker's name, or (newer releases) the name, the pid and a
    # random part.
    victim = next(w for w in pool if holder[0].split(":")[0] == w.worker_id)
    victim.kill()
    killed_at = time.time()
    pool.remove(victim)
    lease = await store.db.fetchrow(
        "SELECT lease_expires_at FROM runs WHERE id = :id", {"id": run.id}
    )
    assert lease is not None
    expires_at = float(lease["lease_expires_at"])
    reclaimed_at = completed_at = 0.0

    async def finished() -> bool:
        nonlocal reclaimed_at, completed_at
        current = await store.run_row(run.id)
        assert current is not None
        if not reclaimed_at and current["worker_id"] not in (None, holder[0]):
            reclaimed_at = time.time()
        if current["status"] == "completed":
            completed_at = time.time()
            reclaimed_at = reclaimed_at or completed_at
            return True
        return False

    await wait_until(finished, interval=0.005)
    return Recovery(completed_at - killed_at, reclaimed_at - expires_at, completed_at - expires_at)


async def recovery(
    base_url: str, model: FakeModel, workers: Workers, repeats: int
) -> list[Recovery]:
    """Two workers; kill the one holding the run; a replacement joins before the next one."""
    out: list[Recovery] = []
    async with Schema(base_url) as url, AsyncClient(database_url=url, worker=False) as client:
        await client.store()
        assistant = await client.assistants.create(model=FAKE_MODEL)
        pool = [workers.start(url), workers.start(url)]
        try:
            for i in range(repeats):
                for worker in pool:
                    await wait_until(worker.started)
                out.append(await recover_once(client, model, assistant.id, pool, i))
                pool.append(workers.start(url))
        finally:
            workers.stop_all()
    return out


# --- reporting ----------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def ratio(rates: dict[int, Throughput], n: int) -> str:
    return f"{rates[n].runs_per_s / rates[1].runs_per_s:.2f}x"


async def main_async(args: argparse.Namespace, sizes: Sizes) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    model = FakeModel(args.model_delay)
    tables: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        workers = Workers(Path(tmp), model.base_url)
        try:
            rates: dict[str, dict[int, Throughput]] = {}
            for label, name, per_worker in (
                (f"fake model, {args.model_delay * 1000:.0f} ms per call", FAKE_MODEL,
                 sizes.runs_per_worker_fake),
                ("`test` model (instant)", "test", sizes.runs_per_worker_test),
            ):  # fmt: skip
                rates[label] = {}
                for n in WORKER_COUNTS:
                    started = time.perf_counter()
                    rate = await throughput(args.database_url, workers, name, n, per_worker * n)
                    rates[label][n] = rate
                    print(
                        f"(a) {label}: {n} worker(s), {per_worker * n} runs: "
                        f"{rate.runs_per_s:.0f} runs/s, CPU per run: workers "
                        f"{rate.worker_cpu_ms:.1f} ms, postgres {rate.postgres_cpu_ms:.1f} ms "
                        f"({time.perf_counter() - started:.1f} s)",
                        flush=True,
                    )
            lat: dict[str, list[float]] = {}
            for label, name in (("fake model", FAKE_MODEL), ("`test` model", "test")):
                lat[label] = await latency(
                    args.database_url, workers, name, sizes.latency_runs, args.in_flight
                )
                print(
                    f"(b) {label}: median {percentile(lat[label], 0.5) * 1000:.0f} ms, "
                    f"p99 {percentile(lat[label], 0.99) * 1000:.0f} ms",
                    flush=True,
                )
            workers.env = {"ASSISTANTS_LEASE_SECONDS": str(args.lease)}
            recoveries = await recovery(args.database_url, model, workers, sizes.recoveries)
            for r in recoveries:
                print(
                    f"(c) kill -> completed {r.kill_to_completed:.2f} s; lease expiry -> "
                    f"reclaimed {r.expiry_to_reclaimed:.2f} s, -> completed "
                    f"{r.expiry_to_completed:.2f} s",
                    flush=True,
                )
        finally:
            workers.stop_all()
            model.close()

    tables.append(
        "| Throughput (runs/s, 10 slots per worker) | 1 worker | 2 workers | 4 workers "
        "| 1 -> 2 | 1 -> 4 |"
    )
    tables.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, by_n in rates.items():
        tables.append(
            f"| {label} | {by_n[1].runs_per_s:.0f} | {by_n[2].runs_per_s:.0f} "
            f"| {by_n[4].runs_per_s:.0f} | {ratio(by_n, 2)} | {ratio(by_n, 4)} |"
        )
    for label, by_n in rates.items():
        tables.append(
            f"| CPU ms per run (workers + Postgres), {label} "
            + "".join(
                f"| {by_n[n].worker_cpu_ms:.1f} + {by_n[n].postgres_cpu_ms:.1f} "
                for n in WORKER_COUNTS
            )
            + "| | |"
        )
    tables.append("")
    tables.append(f"| Create -> completed, 1 worker, {args.in_flight} in flight | median | p99 |")
    tables.append("| --- | ---: | ---: |")
    for label, samples in lat.items():
        tables.append(
            f"| {label} | {percentile(samples, 0.5) * 1000:.0f} ms "
            f"| {percentile(samples, 0.99) * 1000:.0f} ms |"
        )
    tables.append("")
    tables.append(f"| Recovery after SIGKILL (lease {args.lease:g} s, {len(recoveries)} kills) "
                  "| median | max |")  # fmt: skip
    tables.append("| --- | ---: | ---: |")
    for label, values in (
        ("kill -> completed on the other worker", [r.kill_to_completed for r in recoveries]),
        ("lease expiry -> run reclaimed", [r.expiry_to_reclaimed for r in recoveries]),
        ("lease expiry -> run completed", [r.expiry_to_completed for r in recoveries]),
    ):
        tables.append(f"| {label} | {percentile(values, 0.5):.2f} s | {max(values):.2f} s |")
    print("\n" + "\n".join(tables))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-model":
        serve_model(float(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CI)")
    parser.add_argument("--database-url", default=os.environ.get("ASSISTANTS_TEST_POSTGRES_URL"))
    parser.add_argument("--model-delay", type=float, default=0.1, help="seconds per model call")
    parser.add_argument("--lease", type=float, default=2.0, help="lease seconds for (c)")
    parser.add_argument("--in-flight", type=int, default=4, help="runs at a time for (b)")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        parser.error("needs Postgres: --database-url or ASSISTANTS_TEST_POSTGRES_URL")
    sizes = QUICK if args.quick else FULL
    load = os.getloadavg()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; sizes: {sizes}",
        flush=True,
    )
    started = time.perf_counter()
    anyio.run(main_async, args, sizes)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
