"""Scale-out benchmark: `assistants worker` processes on one Postgres database.

Run (Postgres from `--database-url`, else `ASSISTANTS_TEST_POSTGRES_URL`):

    .venv/bin/python benchmarks/scale.py            # full sizes, 3 repeats (about 12 minutes)
    .venv/bin/python benchmarks/scale.py --quick    # smoke sizes, 1 repeat (CI, about 2 minutes)
    .venv/bin/python benchmarks/scale.py --only throughput,drain --json scale.json
    .venv/bin/python benchmarks/scale.py --only throughput --models fake
    .venv/bin/python benchmarks/scale.py --database-url postgresql+asyncpg://user@host/db

Every scenario uses a schema of its own (`?search_path=`), dropped afterwards, and real worker
processes (`python -m assistants.cli worker --concurrency 4`, `--slots`). The model is either the
built-in `test` model (instant, in the worker) or a loopback chat-completions server in a process
of its own, used as `ollama/fake`, that waits `--model-delay` (500 ms) before each answer: the
model is the bottleneck, as in production, so the scale-out measured is that of slots, not of
the two CPUs this machine has. The fake model counts the calls per run (its user message): a run
called twice is reported. The `floor` model runs the same runs through `floor_worker`, a
hand-written worker (asyncpg + httpx, no events, steps, leases or logging): what a run costs at
the least, measured the same way, so the worker's CPU per run is judged as a ratio to it
(target <= 3x). The `tool` model makes each run a tool round trip: the fake model answers with
one `lookup` call, this process submits its output (harness CPU), and the continuation's call
answers with text; its CPU per run is reported as is. That server
is built to cost as little CPU as it can, since it shares the machine with what is measured (a
real provider runs elsewhere): one asyncio event loop, keep-alive connections, a timer per call
rather than a thread, and the answer's bytes built once; the answer is still streamed the way a
provider streams it, each server-sent event its own HTTP chunk and its own write.

(a) throughput: runs completed per second with 1, 2 and 4 worker processes, for each model. Runs
    are queued first and the queueing client is closed (its LISTEN connection would receive
    every run's events), then the workers start; the rate is measured between the 10th and the
    90th percentile of completions, so start-up and the tail do not count (sampling stops at the
    90th, and the workers are stopped). The harness's only work in that window is one count
    query every 20 ms, a prepared statement on a connection of its own (a run that ends other
    than completed, or a minute without one completing, stops the benchmark with the error: the
    window would never close). At the two samples that bound the window it reads CPU clocks from
    /proc and reports, per run, the CPU of the workers; of the local Postgres server on their
    behalf (the backends of their connections, which carry the scenario's `application_name`,
    plus the postmaster and the server's background processes, so other clients of a shared
    server do not count); of the fake model server; and of the harness (this process, plus the
    backend of its count queries). On a small machine what the last two use is taken from the
    first two. Each scenario runs `--repeats` times (3; 1 with `--quick`), each repetition
    printed; the table shows the medians (each figure's own), and its ratios are ratios of
    medians. Targets with the 500 ms model: >= 1.9x from 1 to 2 workers, >= 3.7x from 1 to 4 (4
    slots per worker: 8 runs/s each at most). Also per scenario: the queue wait p50/p99 (from
    when draining began, or the run's creation if later, to its claim, from the run's events)
    and the runs whose model was called more than once (target 0). Projected runs/s per core is
    1000 / (worker + Postgres CPU ms per run): the runs one core could carry if CPU were the
    only limit.
(a') drain: `--drain-runs` (10,000; 300 with `--quick`) queued runs drained by 4 workers of 16
    slots with the fake model: completed, lost, claimed twice (two `thread.run.in_progress`),
    called twice or never at the fake model, and the claim rate (claims per second between the
    first and the last claim).
(b) latency: create -> completed, seen by a client in this process (`runs.poll`, woken by
    LISTEN/NOTIFY), with one worker up and `--in-flight` runs at a time: median and p99.
(c) recovery: two workers; the one holding a run (its model call never answers) is SIGKILLed;
    the other re-queues the run once the lease lapses and completes it (the model answers the
    second call). Reported: kill -> completed, and lease expiry (the lease's last renewal, read
    from the database) -> reclaimed and -> completed; the sweep that notices runs every second
    (`ASSISTANTS_SWEEP_SECONDS`). Both workers run on this host, so the survivor proves the
    holder's process gone at its next sweep and reclaims before the lease lapses (the lease
    figures then come out negative). Target: kill -> completed within lease + 2 s. `--lease`
    sets `ASSISTANTS_LEASE_SECONDS` (default 2).

`--only throughput,drain,latency,recovery` (or repeated) runs only those parts;
`--models fake,test,floor,tool` picks the scenarios of (a) (and (b): only fake and test have one;
(c) always uses the fake model). `--json PATH` writes every figure (for `benchmarks/report.py`).
The output ends with markdown tables. Numbers, not pass/fail; compare only runs on the
same machine (it prints the CPU count and load average).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, cast

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
TOOL_PREFIX = "tool "  # such a message is answered with a tool call, then (after it) with text
LOOKUP_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a key up.",
        "parameters": {"type": "object", "properties": {"key": {"type": "string"}}},
    },
}
WORKER_COUNTS = (1, 2, 4)
PARTS = ("throughput", "drain", "latency", "recovery")
MODELS = ("fake", "test", "floor", "tool")
STALL_SECONDS = 60  # (a) gives up when no run completes for this long (workers that cannot claim)
RESULTS: dict[str, Any] = {}  # every figure, written as JSON by `--json`


@dataclass(frozen=True)
class Sizes:
    runs_per_slot_fake: int
    runs_per_worker_test: int
    latency_runs: int
    recoveries: int
    repeats: int
    drain_runs: int


FULL = Sizes(
    runs_per_slot_fake=20,
    runs_per_worker_test=600,
    latency_runs=300,
    recoveries=5,
    repeats=3,
    drain_runs=10_000,
)
QUICK = Sizes(
    runs_per_slot_fake=5,
    runs_per_worker_test=150,
    latency_runs=30,
    recoveries=1,
    repeats=1,
    drain_runs=300,
)


# --- the fake model (a process of its own) ------------------------------------------------------


def _answer_writes(tool_call: bool = False) -> tuple[bytes, ...]:
    """The streamed answer, write by write: the head, each server-sent event as an HTTP chunk of
    its own ("Hello", " there.", the finish, the usage, `[DONE]`; or one `lookup` tool call in
    two fragments), the last chunk."""
    events: list[str] = []
    deltas: list[dict[str, Any]] = [{"content": "Hello"}, {"content": " there."}, {}]
    finish = "stop"
    if tool_call:
        call = {"index": 0, "id": "call_1", "type": "function"}
        deltas = [
            {"tool_calls": [{**call, "function": {"name": "lookup", "arguments": '{"key":'}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": ' "a"}'}}]},
            {},
        ]
        finish = "tool_calls"
    for i, delta in enumerate(deltas):
        choice = {"index": 0, "delta": delta, "finish_reason": finish if i == 2 else None}
        events.append(json.dumps({"object": "chat.completion.chunk", "choices": [choice]}))
    usage = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    events.append(json.dumps({"object": "chat.completion.chunk", "choices": [], "usage": usage}))
    events.append("[DONE]")
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunks = []
    for data in events:
        payload = f"data: {data}\n\n".encode()
        chunks.append(b"%x\r\n%s\r\n" % (len(payload), payload))
    return (head, *chunks, b"0\r\n\r\n")


@dataclass(eq=False, slots=True)
class _Answer:
    """A response owed on a connection; `writes` stays None until it is due."""

    writes: Sequence[bytes] | None = None


class _ModelConnection(asyncio.Protocol):
    """One keep-alive connection to the fake model.

    Requests are parsed as bytes arrive (split across reads or pipelined: request line, headers,
    a `Content-Length` body) and answered in the order they came: a chat call after the delay,
    a GET (the calls seen so far) at once.
    """

    def __init__(self, delay: float, seen: Counter[str], writes: tuple[bytes, ...]) -> None:
        self.delay = delay
        self.seen = seen  # calls per last user message, shared by all connections
        self.writes = writes
        self.tool_writes = _answer_writes(tool_call=True)
        self.buffer = bytearray()
        self.owed: deque[_Answer] = deque()
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        # TCP_NODELAY, as streaming servers set it (asyncio sets it too; it matters here, so it is
        # not left to that default): without it each small SSE write after the first waits for
        # the client's delayed ACK (~40 ms), which would be measured as our latency.
        self.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            length = int(head[at + 17 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            start = end + 4
            if len(self.buffer) < start + length:
                return  # the body is still coming
            body = bytes(self.buffer[start : start + length])
            del self.buffer[: start + length]
            self.request(head.startswith(b"get "), body)

    def request(self, get: bool, body: bytes) -> None:
        answer = _Answer()
        self.owed.append(answer)
        if get:  # the calls seen so far, by user message
            payload = json.dumps(self.seen).encode()
            answer.writes = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload),
            )
            self.flush()
            return
        messages = json.loads(body)["messages"]
        users = [m for m in messages if m["role"] == "user"]
        key = str(users[-1]["content"]) if users else ""
        answered = any(m["role"] == "tool" for m in messages)
        # Calls are counted per run and per round: a tool run's second call is its own key.
        counted = f"{key} (after the tool)" if answered else key
        self.seen[counted] += 1
        if key.startswith(HOLD_PREFIX) and self.seen[counted] == 1:
            return  # the worker holding this call is killed; nobody reads the answer
        tool_call = TOOL_PREFIX in key and not answered
        self.loop.call_later(
            self.delay, self.due, answer, self.tool_writes if tool_call else self.writes
        )

    def due(self, answer: _Answer, writes: tuple[bytes, ...]) -> None:
        answer.writes = writes
        self.flush()

    def flush(self) -> None:
        """Write the answers that are due, in request order, each write as a streaming server
        makes it."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return  # a stopped or killed worker's connection
        while self.owed and (writes := self.owed[0].writes) is not None:
            self.owed.popleft()
            for chunk in writes:
                transport.write(chunk)


def serve_model(delay: float) -> None:
    """Serve the fake model until killed; print the port first."""

    async def serve() -> None:
        seen: Counter[str] = Counter()
        writes = _answer_writes()
        server = await asyncio.get_running_loop().create_server(
            lambda: _ModelConnection(delay, seen, writes), "127.0.0.1", 0, backlog=512
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(serve())


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


# --- the floor: a hand-written worker ------------------------------------------------------------

FLOOR_CLAIM = (
    "UPDATE runs SET status = 'in_progress', worker_id = $1, started_at = $2 WHERE id = ("
    "SELECT id FROM runs WHERE status = 'queued' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED"
    ") RETURNING id, project, thread_id, assistant_id"
)
FLOOR_HISTORY = "SELECT role, content FROM messages WHERE thread_id = $1 ORDER BY seq"
FLOOR_MESSAGE = (
    "INSERT INTO messages (id, project, thread_id, created_at, status, completed_at, role, "
    "content, assistant_id, run_id) VALUES ($1, $2, $3, $4, 'completed', $4, 'assistant', $5, "
    "$6, $7)"
)
FLOOR_COMPLETE = (
    "UPDATE runs SET status = 'completed', completed_at = $2, worker_id = NULL, usage = $3 "
    "WHERE id = $1"
)


def floor_worker(url: str, model_url: str, slots: int) -> None:
    """The least a worker must do for a one-turn run, written by hand on the same drivers:
    claim the oldest queued run (one `UPDATE ... SKIP LOCKED`), read its thread, call the model
    (httpx, streamed, every `data:` payload parsed), write the answer and complete the run in one
    transaction. No events, steps, leases, heartbeats, validation or logging: the floor under
    `assistants worker`, measured the same way (CPU per run from /proc, Postgres included).
    Runs until killed."""
    base, query = url.split("?", 1)
    params = dict(part.split("=", 1) for part in query.split("&"))

    async def serve() -> None:
        pool = await asyncpg.create_pool(
            admin_dsn(base),
            min_size=slots,
            max_size=slots,
            server_settings={
                "search_path": params["search_path"],
                "application_name": params.get("application_name", "floor"),
            },
        )
        worker_id = f"floor-{os.getpid()}"
        async with httpx.AsyncClient(timeout=60) as http:

            async def slot() -> None:
                while True:
                    async with pool.acquire() as conn:
                        run = await conn.fetchrow(FLOOR_CLAIM, worker_id, int(time.time()))
                        if run is None:
                            await asyncio.sleep(0.05)
                            continue
                        history = await conn.fetch(FLOOR_HISTORY, run["thread_id"])
                    messages = [
                        {"role": r["role"], "content": json.loads(r["content"])[0]["text"]["value"]}
                        for r in history
                    ]
                    text: list[str] = []
                    usage: dict[str, Any] = {}
                    body = {"model": "fake", "messages": messages, "stream": True}
                    async with http.stream("POST", f"{model_url}/chat/completions", json=body) as r:
                        async for line in r.aiter_lines():
                            if not line.startswith("data: ") or line == "data: [DONE]":
                                continue
                            chunk = json.loads(line[6:])
                            usage = chunk.get("usage") or usage
                            for choice in chunk["choices"]:
                                text.append(choice["delta"].get("content") or "")
                    content = [
                        {"type": "text", "text": {"value": "".join(text), "annotations": []}}
                    ]
                    at = int(time.time())
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute(
                            FLOOR_MESSAGE,
                            f"msg_{uuid.uuid4().hex}",
                            run["project"],
                            run["thread_id"],
                            at,
                            json.dumps(content),
                            run["assistant_id"],
                            run["id"],
                        )
                        await conn.execute(FLOOR_COMPLETE, run["id"], at, json.dumps(usage))

            await asyncio.gather(*(slot() for _ in range(slots)))

    asyncio.run(serve())


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

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM: it finishes the runs it holds and claims no more)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
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
    slots: int = 4  # runs each worker executes at once (`--concurrency`)
    running: list[Worker] = field(default_factory=list)
    count: int = 0

    def start(self, url: str) -> Worker:
        return self._spawn(
            [
                *(sys.executable, "-m", "assistants.cli", "--log-json", "--log-level"),
                *(self.log_level, "worker", "--database-url", url),
                *("--concurrency", str(self.slots)),
            ],
            "bench",
        )

    def start_floor(self, url: str) -> Worker:
        """The hand-written floor worker (`floor_worker`) on `url`'s schema, with as many slots."""
        return self._spawn(
            [sys.executable, __file__, "--serve-floor", url, self.model_url, str(self.slots)],
            "floor",
        )

    def _spawn(self, args: list[str], kind: str) -> Worker:
        self.count += 1
        worker_id = f"{kind}-{self.count}"
        if kind == "bench":
            args = [*args, "--worker-id", worker_id]
        log = self.directory / f"{worker_id}.log"
        env = {**os.environ, "OLLAMA_BASE_URL": self.model_url, **self.env}
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, env=env, cwd=self.directory, stdout=out, stderr=subprocess.STDOUT
            )
        worker = Worker(worker_id, process, log)
        self.running.append(worker)
        return worker

    def stop_all(self) -> None:
        """Stop every worker: all asked at once, then each waited for."""
        for worker in self.running:
            worker.terminate()
        for worker in self.running:
            worker.wait()
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


def proc_stat(pid: int) -> tuple[str, list[str]] | None:
    """A process's name and the fields of /proc/<pid>/stat after it (None if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, fields = text.split(" (", 1)[1].rsplit(") ", 1)
    return name, fields.split()


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of `pids` (exited ones count nothing). Linux /proc; nan
    elsewhere."""
    if not Path("/proc/self/stat").exists():
        return math.nan
    ticks = 0
    for pid in pids:
        stat = proc_stat(pid)
        if stat is not None:
            ticks += int(stat[1][11]) + int(stat[1][12])
    return ticks / os.sysconf("SC_CLK_TCK")


class Postgres:
    """CPU seconds the local Postgres server spends on one scenario: the backends of its workers
    (their connections carry the scenario's `application_name`) and the server's own processes
    (postmaster, background writer, WAL writer, checkpointer, autovacuum), so other clients of a
    shared server do not count. nan if the server is not local (its pids are not ours to see)."""

    def __init__(self, conn: Any, backend: int, application_name: str) -> None:
        self.conn = conn  # the connection that asks; `backend` serves it
        self.application_name = application_name
        stat = proc_stat(backend)
        self.postmaster = int(stat[1][1]) if stat is not None and stat[0] == "postgres" else None

    async def cpu_seconds(self) -> float:
        if self.postmaster is None:
            return math.nan
        rows = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = $1 OR backend_type <> 'client backend'",
            self.application_name,
        )
        return cpu_seconds([self.postmaster, *(int(row["pid"]) for row in rows)])


@dataclass(frozen=True)
class Clocks:
    """One sample at the edge of the measured window: when, runs completed, CPU seconds."""

    at: float
    done: int
    workers: float
    postgres: float
    model: float
    harness: float


@dataclass(frozen=True)
class Throughput:
    runs_per_s: float
    # CPU ms per run; nan off Linux, and for Postgres if it is not local.
    worker_cpu_ms: float
    postgres_cpu_ms: float
    model_cpu_ms: float
    harness_cpu_ms: float
    # Queue wait of the runs claimed: from when draining began (the first claim) or the run's
    # creation, whichever is later, to its claim (nan for the floor, which logs no events).
    wait_p50_ms: float = math.nan
    wait_p99_ms: float = math.nan
    # Runs whose model was called more than once (counted at the fake model).
    duplicates: float = 0.0

    @classmethod
    def between(cls, first: Clocks, last: Clocks) -> Throughput:
        n = last.done - first.done

        def per_run(f: Callable[[Clocks], float]) -> float:
            return (f(last) - f(first)) / n * 1000 if n else math.nan

        return cls(
            n / max(last.at - first.at, 1e-9),
            per_run(lambda c: c.workers),
            per_run(lambda c: c.postgres),
            per_run(lambda c: c.model),
            per_run(lambda c: c.harness),
        )

    @classmethod
    def median(cls, repeats: Sequence[Throughput]) -> Throughput:
        """Each figure's median over the repetitions (duplicates: their sum)."""
        figures = {
            f.name: statistics.median(getattr(t, f.name) for t in repeats) for f in fields(cls)
        }
        figures["duplicates"] = sum(t.duplicates for t in repeats)
        return cls(**figures)

    def describe(self) -> str:
        return (
            f"{self.runs_per_s:.1f} runs/s; CPU ms per run: workers {self.worker_cpu_ms:.2f}, "
            f"Postgres {self.postgres_cpu_ms:.2f}, model server {self.model_cpu_ms:.2f}, "
            f"harness {self.harness_cpu_ms:.2f}; queue wait p50 {self.wait_p50_ms:.0f} ms, "
            f"p99 {self.wait_p99_ms:.0f} ms; runs called twice {self.duplicates:.0f}"
        )


QUEUE_WAITS = """
WITH e AS (
    SELECT run_id,
           min(created_at) FILTER (WHERE event = 'thread.run.created') AS created,
           min(created_at) FILTER (WHERE event = 'thread.run.in_progress') AS claimed
    FROM run_events GROUP BY run_id
)
SELECT claimed - greatest(created, (SELECT min(claimed) FROM e)) AS wait
FROM e WHERE claimed IS NOT NULL
"""


async def duplicates_at_model(model: FakeModel, prefix: str) -> tuple[int, int]:
    """(runs whose model was called more than once, runs called at all), for keys `prefix`."""
    async with httpx.AsyncClient() as http:
        seen: dict[str, int] = (await http.get(model.base_url)).json()
    calls = [n for key, n in seen.items() if key.startswith(prefix)]
    return sum(n > 1 for n in calls), len(calls)


async def throughput(
    base_url: str,
    workers: Workers,
    model: FakeModel,
    model_name: str,
    n_workers: int,
    runs: int,
    *,
    floor: bool = False,
    tools: bool = False,
) -> Throughput:
    """Runs/s (and CPU per run) between the 10th and 90th percentile of completions. With
    `tools`, each run asks for one tool call, whose output this process submits (its CPU is the
    harness's), then completes with text: a tool round trip."""
    schema = Schema(base_url)
    prefix = f"{TOOL_PREFIX if tools else ''}{schema.name} "
    async with schema as url:
        async with AsyncClient(database_url=url, worker=False) as client:
            assistant = await client.assistants.create(
                model=model_name, tools=[LOOKUP_TOOL] if tools else []
            )
            await queue_runs(client, assistant.id, runs, prefix)
        conn = await asyncpg.connect(
            admin_dsn(base_url), server_settings={"search_path": schema.name}
        )
        try:
            counts = await conn.prepare(
                "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE "
                "status IN ('failed', 'cancelled', 'expired', 'incomplete')) FROM runs"
            )
            backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
            postgres = Postgres(conn, backend, schema.name)
            workers.log_level = "warning"
            worker_url = f"{url}&application_name={schema.name}"
            start = workers.start_floor if floor else workers.start
            started = [start(worker_url) for _ in range(n_workers)]
            pids = [worker.process.pid for worker in started]
            workers.log_level = "info"

            async def clocks(done: int) -> Clocks:
                at, harness = time.perf_counter(), time.process_time()
                return Clocks(
                    at,
                    done,
                    cpu_seconds(pids),
                    await postgres.cpu_seconds(),
                    cpu_seconds([model.process.pid]),
                    harness + cpu_seconds([backend]),
                )

            low, high = math.ceil(0.1 * runs), math.floor(0.9 * runs)
            progress = (-1, time.perf_counter())  # runs completed, and since when
            measured = anyio.Event()
            async with anyio.create_task_group() as tg:
                if tools:
                    tg.start_soon(submit_outputs, url, measured)
                try:
                    first, last = await _window(
                        counts, conn, clocks, started, runs, low, high, progress
                    )
                finally:
                    measured.set()
            workers.stop_all()
            waits = [float(r["wait"]) for r in await conn.fetch(QUEUE_WAITS)]
        finally:
            workers.stop_all()
            await conn.close()
    twice, _ = await duplicates_at_model(model, prefix)
    rate = Throughput.between(first, last)
    if waits:
        rate = replace(
            rate,
            wait_p50_ms=percentile(waits, 0.5) * 1000,
            wait_p99_ms=percentile(waits, 0.99) * 1000,
        )
    return replace(rate, duplicates=twice)


async def submit_outputs(url: str, done: anyio.Event) -> None:
    """Answer every run waiting for tool outputs (one `lookup` call each), until `done`."""
    async with AsyncClient(database_url=url, worker=False) as client:
        store = await client.store()
        while not done.is_set():
            for row in await store.db.fetch(
                "SELECT id, thread_id, required_action FROM runs WHERE status = 'requires_action'"
            ):
                action = json.loads(row["required_action"])
                calls = action["submit_tool_outputs"]["tool_calls"]
                await client.threads.runs.submit_tool_outputs(
                    row["id"],
                    thread_id=row["thread_id"],
                    tool_outputs=[{"tool_call_id": c["id"], "output": "42"} for c in calls],
                )
            await anyio.sleep(0.02)


async def _window(
    counts: Any,
    conn: Any,
    clocks: Callable[[int], Any],
    started: list[Worker],
    runs: int,
    low: int,
    high: int,
    progress: tuple[int, float],
) -> tuple[Clocks, Clocks]:
    """Sample until the 90th percentile of completions; the clocks at the 10th and the 90th."""
    first: Clocks | None = None
    while True:
        done, ended = await counts.fetchrow()
        if ended:  # the window would never close
            error = await conn.fetchval("SELECT max(last_error) FROM runs")
            raise RuntimeError(f"{ended} runs ended without completing: {error}")
        if done != progress[0]:
            progress = (done, time.perf_counter())
        elif time.perf_counter() - progress[1] > STALL_SECONDS:
            log = started[0].log.read_text(errors="replace")[-400:]
            raise RuntimeError(f"no run completed in {STALL_SECONDS} s; a worker: {log}")
        if first is None and done >= low:
            first = await clocks(done)
        if done >= high:
            assert first is not None
            return first, await clocks(done)
        await anyio.sleep(0.02)


# --- (a') drain: a large queue, 4 workers of 16 slots -------------------------------------------


@dataclass(frozen=True)
class Drain:
    runs: int
    queue_seconds: float  # to create the runs through AsyncClient
    drain_seconds: float  # first claim -> last completion
    completed: int
    lost: int  # runs not completed at the end
    claimed_twice: int  # runs with more than one `thread.run.in_progress`
    called_twice: int  # runs whose model was called more than once (at the fake model)
    never_called: int
    claims_per_s: float


async def drain(
    base_url: str, workers: Workers, model: FakeModel, runs: int, n_workers: int, slots: int
) -> Drain:
    """Queue `runs`, then let `n_workers` of `slots` slots drain them all; count what happened."""
    schema = Schema(base_url)
    prefix = f"{schema.name} "
    async with schema as url:
        started_at = time.perf_counter()
        async with AsyncClient(database_url=url, worker=False) as client:
            assistant = await client.assistants.create(model=FAKE_MODEL)
            await queue_runs(client, assistant.id, runs, prefix)
        queue_seconds = time.perf_counter() - started_at
        conn = await asyncpg.connect(
            admin_dsn(base_url), server_settings={"search_path": schema.name}
        )
        saved = workers.slots
        try:
            workers.slots = slots
            workers.log_level = "warning"
            for _ in range(n_workers):
                workers.start(url)
            workers.log_level = "info"
            count = await conn.prepare(
                "SELECT count(*) FILTER (WHERE status NOT IN ('queued', 'in_progress')) FROM runs"
            )
            progress = (-1, time.perf_counter())
            while (done := int(await count.fetchval())) < runs:
                if done != progress[0]:
                    progress = (done, time.perf_counter())
                elif time.perf_counter() - progress[1] > STALL_SECONDS:
                    raise RuntimeError(f"no run finished in {STALL_SECONDS} s ({done}/{runs})")
                await anyio.sleep(0.1)
            workers.stop_all()
            completed = int(
                await conn.fetchval("SELECT count(*) FROM runs WHERE status = 'completed'")
            )
            claims = await conn.fetchrow(
                "SELECT count(*) AS n, min(created_at) AS first, max(created_at) AS last "
                "FROM run_events WHERE event = 'thread.run.in_progress'"
            )
            twice = int(
                await conn.fetchval(
                    "SELECT count(*) FROM (SELECT run_id FROM run_events "
                    "WHERE event = 'thread.run.in_progress' GROUP BY run_id "
                    "HAVING count(*) > 1) t"
                )
            )
            end = await conn.fetchval(
                "SELECT max(created_at) FROM run_events WHERE event = 'thread.run.completed'"
            )
        finally:
            workers.slots = saved
            workers.stop_all()
            await conn.close()
    called_twice, called = await duplicates_at_model(model, prefix)
    span = float(claims["last"]) - float(claims["first"])
    return Drain(
        runs=runs,
        queue_seconds=queue_seconds,
        drain_seconds=float(end) - float(claims["first"]),
        completed=completed,
        lost=runs - completed,
        claimed_twice=twice,
        called_twice=called_twice,
        never_called=runs - called,
        claims_per_s=int(claims["n"]) / span if span > 0 else math.nan,
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
        row = await store.runs.row(run.id)
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
        current = await store.runs.row(run.id)
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


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f}"


def ratio(rates: dict[int, Throughput], n: int) -> str:
    return f"{rates[n].runs_per_s / rates[1].runs_per_s:.2f}x"


def cpu_cell(rate: Throughput) -> str:
    figures = (rate.worker_cpu_ms, rate.postgres_cpu_ms, rate.model_cpu_ms, rate.harness_cpu_ms)
    return " + ".join("n/a" if math.isnan(f) else f"{f:.2f}" for f in figures)


def _ratio(ours: float, floor: float) -> float | None:
    """ours / floor, or None where the floor spent less than /proc's clock tick (10 ms over a
    few quick runs reads as 0): no ratio rather than a division by zero."""
    return ours / floor if floor > 0 else None


async def run_throughput(
    args: argparse.Namespace, sizes: Sizes, workers: Workers, model: FakeModel
) -> list[str]:
    """(a) for each model, worker count and repetition; returns the table of medians."""
    delay = f"{args.model_delay * 1000:.0f} ms per call"
    per_worker_fake = sizes.runs_per_slot_fake * args.slots
    scenarios = {
        "fake": (f"`assistants worker`, fake model {delay}", FAKE_MODEL, per_worker_fake, False),
        "test": ("`assistants worker`, `test` model (instant)", "test",
                 sizes.runs_per_worker_test, False),
        "floor": (f"hand-written floor worker, fake model {delay}", FAKE_MODEL, per_worker_fake,
                  True),
        "tool": (f"`assistants worker`, tool round trip (2 calls), fake model {delay}",
                 FAKE_MODEL, per_worker_fake // 2, False),
    }  # fmt: skip
    rates: dict[str, dict[int, Throughput]] = {}
    for key in args.models:
        label, name, per_worker, floor = scenarios[key]
        rates[key] = {}
        for n in WORKER_COUNTS:
            repeats: list[Throughput] = []
            for i in range(args.repeats):
                started = time.perf_counter()
                rate = await throughput(
                    args.database_url,
                    workers,
                    model,
                    name,
                    n,
                    per_worker * n,
                    floor=floor,
                    tools=key == "tool",
                )
                repeats.append(rate)
                print(
                    f"(a) {label}: {n} worker(s), {per_worker * n} runs, #{i + 1}: "
                    f"{rate.describe()} ({time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
            rates[key][n] = Throughput.median(repeats)
            if args.repeats > 1:
                print(f"(a) {label}: {n} worker(s), median: {rates[key][n].describe()}")
    RESULTS["throughput"] = {
        key: {str(n): asdict(rate) for n, rate in by_n.items()} for key, by_n in rates.items()
    }
    table = [
        f"| Throughput (runs/s, {args.slots} slots per worker, median of {args.repeats}) "
        "| 1 worker | 2 workers | 4 workers | 1 -> 2 (target >= 1.9x with the fake model) "
        "| 1 -> 4 (>= 3.7x) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, by_n in rates.items():
        table.append(
            f"| {scenarios[key][0]} | {by_n[1].runs_per_s:.1f} | {by_n[2].runs_per_s:.1f} "
            f"| {by_n[4].runs_per_s:.1f} | {ratio(by_n, 2)} | {ratio(by_n, 4)} |"
        )
    for key, by_n in rates.items():
        table.append(
            f"| Queue wait p50 / p99 (ms), {scenarios[key][0]} "
            + "".join(
                f"| {ms(by_n[n].wait_p50_ms)} / {ms(by_n[n].wait_p99_ms)} " for n in WORKER_COUNTS
            )
            + f"| runs called twice: {sum(by_n[n].duplicates for n in WORKER_COUNTS):.0f} | |"
        )
    for key, by_n in rates.items():
        table.append(
            f"| CPU ms per run (workers + Postgres + model server + harness), {scenarios[key][0]} "
            + "".join(f"| {cpu_cell(by_n[n])} " for n in WORKER_COUNTS)
            + "| | |"
        )
    if "fake" in rates and "floor" in rates:
        cells = []
        for n in WORKER_COUNTS:
            ours, floor_ = rates["fake"][n], rates["floor"][n]
            spent = ours.worker_cpu_ms + ours.postgres_cpu_ms
            per_core = 1000 / spent if spent > 0 else None
            worker_ratio = _ratio(ours.worker_cpu_ms, floor_.worker_cpu_ms)
            cells.append(
                f"| {'n/a' if worker_ratio is None else f'{worker_ratio:.2f}x'} "
                f"({'n/a' if per_core is None else f'{per_core:.0f}'} runs/s per core) "
            )
            RESULTS.setdefault("cpu_vs_floor", {})[str(n)] = {
                "worker_ratio": worker_ratio,
                "postgres_ratio": _ratio(ours.postgres_cpu_ms, floor_.postgres_cpu_ms),
                "runs_per_s_per_core": per_core,
            }
        table.append(
            "| Worker CPU per run / the floor's (target <= 3x); projected runs/s per core = "
            "1000 / (worker + Postgres CPU ms per run) " + "".join(cells) + "| | |"
        )
    return table


async def run_drain(
    args: argparse.Namespace, sizes: Sizes, workers: Workers, model: FakeModel
) -> list[str]:
    """(a'): a large queue drained by 4 workers of 16 slots; returns its table."""
    runs = args.drain_runs or sizes.drain_runs
    result = await drain(args.database_url, workers, model, runs, 4, 16)
    RESULTS["drain"] = asdict(result)
    print(f"(a') {result}", flush=True)
    return [
        f"| Drain: {result.runs} queued runs, 4 workers x 16 slots, fake model "
        f"{args.model_delay * 1000:.0f} ms | |",
        "| --- | ---: |",
        f"| queued through AsyncClient in | {result.queue_seconds:.1f} s |",
        f"| drained (first claim -> last completion) in | {result.drain_seconds:.1f} s |",
        f"| claim rate | {result.claims_per_s:.1f} claims/s |",
        f"| completed / lost | {result.completed} / {result.lost} |",
        f"| claimed twice / model called twice / never called | {result.claimed_twice} / "
        f"{result.called_twice} / {result.never_called} |",
    ]


async def run_latency(args: argparse.Namespace, sizes: Sizes, workers: Workers) -> list[str]:
    """(b) for each model; returns its table."""
    labels = {"fake": ("fake model", FAKE_MODEL), "test": ("`test` model", "test")}
    table = [
        f"| Create -> completed, 1 worker, {args.in_flight} in flight | median | p99 |",
        "| --- | ---: | ---: |",
    ]
    for label, name in (labels[m] for m in args.models if m in labels):
        samples = await latency(
            args.database_url, workers, name, sizes.latency_runs, args.in_flight
        )
        median, p99 = percentile(samples, 0.5) * 1000, percentile(samples, 0.99) * 1000
        print(f"(b) {label}: median {median:.0f} ms, p99 {p99:.0f} ms", flush=True)
        table.append(f"| {label} | {median:.0f} ms | {p99:.0f} ms |")
    return table


async def run_recovery(
    args: argparse.Namespace, sizes: Sizes, workers: Workers, model: FakeModel
) -> list[str]:
    """(c); returns its table."""
    workers.env = {"ASSISTANTS_LEASE_SECONDS": str(args.lease)}
    recoveries = await recovery(args.database_url, model, workers, sizes.recoveries)
    workers.env = {}
    for r in recoveries:
        print(
            f"(c) kill -> completed {r.kill_to_completed:.2f} s; lease expiry -> "
            f"reclaimed {r.expiry_to_reclaimed:.2f} s, -> completed "
            f"{r.expiry_to_completed:.2f} s",
            flush=True,
        )
    table = [
        f"| Recovery after SIGKILL (lease {args.lease:g} s, {len(recoveries)} kills) "
        "| median | max |",
        "| --- | ---: | ---: |",
    ]
    for label, values in (
        ("kill -> completed on the other worker", [r.kill_to_completed for r in recoveries]),
        ("lease expiry -> run reclaimed", [r.expiry_to_reclaimed for r in recoveries]),
        ("lease expiry -> run completed", [r.expiry_to_completed for r in recoveries]),
    ):
        table.append(f"| {label} | {percentile(values, 0.5):.2f} s | {max(values):.2f} s |")
    return table


async def main_async(args: argparse.Namespace, sizes: Sizes) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    model = FakeModel(args.model_delay)
    tables: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workers = Workers(Path(tmp), model.base_url)
        try:
            workers.slots = args.slots
            if "throughput" in args.only:
                tables.append(await run_throughput(args, sizes, workers, model))
            if "drain" in args.only:
                tables.append(await run_drain(args, sizes, workers, model))
            if "latency" in args.only:
                tables.append(await run_latency(args, sizes, workers))
            if "recovery" in args.only:
                tables.append(await run_recovery(args, sizes, workers, model))
        finally:
            workers.stop_all()
            model.close()
    print("\n" + "\n\n".join("\n".join(table) for table in tables))
    RESULTS["tables"] = tables


def choices(
    parser: argparse.ArgumentParser, values: list[str], allowed: Sequence[str]
) -> list[str]:
    """`values` (each a comma list) as a list in `allowed` order; an unknown name is an error."""
    names = {name.strip() for value in values for name in value.split(",") if name.strip()}
    if unknown := names - set(allowed):
        parser.error(f"unknown {', '.join(sorted(unknown))}: choose from {', '.join(allowed)}")
    return [name for name in allowed if name in names]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-model":
        serve_model(float(sys.argv[2]))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-floor":
        floor_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes, 1 repeat (CI)")
    parser.add_argument("--database-url", default=os.environ.get("ASSISTANTS_TEST_POSTGRES_URL"))
    parser.add_argument("--model-delay", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--slots", type=int, default=4, help="runs at once per worker for (a)")
    parser.add_argument("--drain-runs", type=int, help="runs of (a') (10,000; 300 with --quick)")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument("--lease", type=float, default=2.0, help="lease seconds for (c)")
    parser.add_argument("--in-flight", type=int, default=4, help="runs at a time for (b)")
    parser.add_argument(
        "--repeats", type=int, help="repetitions of each throughput scenario (3; 1 with --quick)"
    )
    parser.add_argument(
        "--only", action="append", default=[], help=f"parts to run, of {','.join(PARTS)} (all)"
    )
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"models for (a) and (b), of {','.join(MODELS)}"
    )
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        parser.error("needs Postgres: --database-url or ASSISTANTS_TEST_POSTGRES_URL")
    sizes = QUICK if args.quick else FULL
    args.only = choices(parser, args.only, PARTS) if args.only else list(PARTS)
    args.models = choices(parser, [args.models], MODELS)
    args.repeats = sizes.repeats if args.repeats is None else args.repeats
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    load = os.getloadavg()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; sizes: {sizes}; "
        f"parts: {','.join(args.only)}; models: {','.join(args.models)}; "
        f"repeats: {args.repeats}",
        flush=True,
    )
    started = time.perf_counter()
    anyio.run(main_async, args, sizes)
    if args.json:
        RESULTS["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
        Path(args.json).write_text(json.dumps(RESULTS, indent=1, default=str), encoding="utf-8")
    load = os.getloadavg()
    print(
        f"\ntotal {time.perf_counter() - started:.1f} s; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


if __name__ == "__main__":
    main()
