"""Server benchmark: the unmodified openai SDK against `assistants serve`, beside in-process calls.

Run:

    .venv/bin/python benchmarks/server.py            # full sizes (about half a minute)
    .venv/bin/python benchmarks/server.py --quick    # smoke sizes (CI)

A real server (`assistants serve`: our app, embedded worker, SQLite file, the `test` model) runs
as its own process on a loopback port, the SDK clients in this one, all on the same 2 cores.
Measured, each beside the same operation through the in-process `AsyncClient`:

(a) `client.beta.threads.runs.create_and_poll` round trip with the stock SDK (median, p99):
    target median <= 10 ms (one SDK call over loopback costs ~0.8 ms here; the hosted API's
    poll step alone was 1,000 ms);
(b) runs/s with 50 concurrent SDK clients (`AsyncOpenAI`, one task each, same 2 cores):
    target >= 200 runs/s;
(c) SSE: time from `runs.create(stream=True)` to the first `thread.message.delta`.

`--json PATH` writes every sequential latency (the distribution `report.py` charts) and the rates.

The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import httpx
import structlog

warnings.filterwarnings("ignore", category=DeprecationWarning)
import openai  # noqa: E402

from assistants import AsyncClient  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(ns: int) -> float:
    return ns / 1e6


async def in_process(database: str, runs: int, concurrent: int) -> dict[str, Any]:
    async with AsyncClient(database_url=database) as client:
        assistant = await client.assistants.create(model="test")
        threads = [
            (await client.threads.create(messages=[{"role": "user", "content": "hi"}])).id
            for _ in range(runs + concurrent * 4 + 1)
        ]
        latencies: list[float] = []
        for thread_id in threads[:runs]:
            start = time.perf_counter_ns()
            await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            latencies.append(ms(time.perf_counter_ns() - start))
        pool = threads[runs : runs + concurrent * 4]

        async def one(thread_id: str) -> None:
            await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )

        start = time.perf_counter_ns()
        async with anyio.create_task_group() as tg:
            for thread_id in pool:
                tg.start_soon(one, thread_id)
        rate = len(pool) / ((time.perf_counter_ns() - start) / 1e9)
        start = time.perf_counter_ns()
        stream = await client.threads.runs.create(
            threads[-1], assistant_id=assistant.id, stream=True
        )
        first = None
        async for event in stream:
            if first is None and event.event == "thread.message.delta":
                first = ms(time.perf_counter_ns() - start)
        return {"latency": latencies, "rate": rate, "first_delta": first}


class ServeProcess:
    """`assistants serve` in a child process, on a free loopback port."""

    def __init__(self, database: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistants.cli", "--log-level", "warning", "serve",
             "--port", str(self.port), "--database-url", database],
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        for _ in range(400):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).is_success:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("the server did not start")

    def sdk(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key="x",
                             max_retries=0)  # fmt: skip

    def async_sdk(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key="x",
                                  max_retries=0)  # fmt: skip

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def over_http(database: str, runs: int, concurrent: int) -> dict[str, Any]:
    server = ServeProcess(database)
    try:
        sdk = server.sdk()
        assistant = sdk.beta.assistants.create(model="test")
        threads = [
            sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}]).id
            for _ in range(runs + 1)
        ]
        latencies: list[float] = []
        for thread_id in threads[:runs]:
            start = time.perf_counter_ns()
            run = sdk.beta.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant.id
            )
            assert run.status == "completed", run.status
            latencies.append(ms(time.perf_counter_ns() - start))
        start = time.perf_counter_ns()
        first = None
        for event in sdk.beta.threads.runs.create(
            threads[-1], assistant_id=assistant.id, stream=True
        ):
            if first is None and event.event == "thread.message.delta":
                first = ms(time.perf_counter_ns() - start)
        sdk.close()
        rate = anyio.run(_concurrent_sdk, server, assistant.id, concurrent)
    finally:
        server.close()
    return {"latency": latencies, "rate": rate, "first_delta": first}


async def _concurrent_sdk(server: ServeProcess, assistant_id: str, concurrent: int) -> float:
    clients = [server.async_sdk() for _ in range(concurrent)]
    per_client = 4
    threads: list[list[str]] = []
    for client in clients:
        threads.append([
            (await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])).id
            for _ in range(per_client)
        ])  # fmt: skip

    async def work(client: openai.AsyncOpenAI, ids: list[str]) -> None:
        for thread_id in ids:
            run = await client.beta.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant_id
            )
            assert run.status == "completed", run.status

    start = time.perf_counter_ns()
    async with anyio.create_task_group() as tg:
        for client, ids in zip(clients, threads, strict=True):
            tg.start_soon(work, client, ids)
    rate = concurrent * per_client / ((time.perf_counter_ns() - start) / 1e9)
    for client in clients:
        await client.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="30 runs, 10 concurrent clients")
    parser.add_argument("--json", help="write every latency (ms) and rate here, for report.py")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.concurrent = 30, 10
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"server benchmark: Python {platform.python_version()}, os.cpu_count()={os.cpu_count()}, "
        f"{args.runs} sequential runs, {args.concurrent} concurrent clients x 4 runs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        http = over_http(f"sqlite+aiosqlite:///{tmp}/http.db", args.runs, args.concurrent)
        local = anyio.run(in_process, f"sqlite+aiosqlite:///{tmp}/local.db", args.runs,
                          args.concurrent)  # fmt: skip
    rows = [
        ("create_and_poll median (ms)", statistics.median(http["latency"]),
         statistics.median(local["latency"]), "target <= 10 ms (SDK)"),
        ("create_and_poll p99 (ms)", pct(http["latency"], 0.99), pct(local["latency"], 0.99), ""),
        (f"runs/s, {args.concurrent} concurrent clients", http["rate"], local["rate"],
         "target >= 200 runs/s (SDK)"),
        ("SSE: create -> first delta (ms)", http["first_delta"], local["first_delta"], ""),
    ]  # fmt: skip
    print(f"  {'':<36} {'openai SDK over HTTP':>22} {'in-process client':>20}")
    for name, over, inproc, note in rows:
        print(f"  {name:<36} {over:>22.2f} {inproc:>20.2f}  {note}")
    if args.json:
        figures = {"http": http, "in_process": local, "concurrent": args.concurrent}
        Path(args.json).write_text(json.dumps(figures), encoding="utf-8")


if __name__ == "__main__":
    main()
