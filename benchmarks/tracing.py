"""Tracing overhead: the same work with tracing on and off, in one process, interleaved.

Run:

    .venv/bin/python benchmarks/tracing.py            # 600 runs and 5 x 10,000 deltas a side
    .venv/bin/python benchmarks/tracing.py --quick    # smoke sizes (CI)

Two `AsyncClient`s, each with its embedded worker and a fresh SQLite file of its own, one with
`tracing=True` (the default: a root span per run, a span per model call, written by the
background writer) and one with `tracing=False`. Their work alternates in blocks (on, off, off,
on, on, off, ...), so the machine's drift, and going first, fall on both sides alike. Measured:

- `create_and_poll` latency of a one-turn text run on the `test` model (p50, p99) and the
  ratio on/off (target: p50 <= 1.05);
- streaming deltas/s to an `AsyncAssistantEventHandler` (`runs.stream`) from a model that
  yields one-token deltas as fast as it can (median of the rounds), and the ratio on/off
  (target: >= 0.97);
- process CPU per run and per streamed delta on each side, the writer's flush of what a block
  queued counted in that block: steadier than wall time on a shared machine;
- spans written, dropped and failed on the traced side (every span of every run accounted).

The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import anyio.lowlevel
import structlog

from assistants import AsyncClient
from assistants.streaming import AsyncAssistantEventHandler
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.base import Chunk, Finish, TextDelta, UsageChunk


def fast_model(count: int) -> FunctionModel:
    """`count` one-token deltas, one event-loop checkpoint each (as a network stream has)."""

    async def answer(request: ModelRequest) -> AsyncIterator[Chunk]:
        for _ in range(count):
            await anyio.lowlevel.checkpoint()
            yield TextDelta("x")
        yield UsageChunk(prompt_tokens=1, completion_tokens=count)
        yield Finish("stop")

    return FunctionModel(answer)


class Handler(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.deltas = 0

    async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas += 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ratio(on: list[float], off: list[float]) -> float:
    return statistics.median(on) / statistics.median(off)


class Side:
    """One client (tracing on or off) and what it measured."""

    def __init__(self, client: AsyncClient, label: str) -> None:
        self.client = client
        self.label = label
        self.poll_ms: list[float] = []
        self.rates: list[float] = []
        self.cpu_per_run: list[float] = []  # µs of process CPU per run, a block's average
        self.cpu_per_delta: list[float] = []
        self.assistant = ""
        self.streamer = ""

    async def prepare(self) -> None:
        self.assistant = (await self.client.assistants.create(model="test")).id
        self.streamer = (await self.client.assistants.create(model="fast")).id

    async def polls(self, count: int) -> None:
        threads = [
            (
                await self.client.threads.create(
                    messages=[{"role": "user", "content": "Hello there, how are you today?"}]
                )
            ).id
            for _ in range(count)
        ]
        cpu = time.process_time()
        for thread_id in threads:
            start = time.perf_counter()
            run = await self.client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=self.assistant, poll_interval_ms=5
            )
            self.poll_ms.append((time.perf_counter() - start) * 1000)
            assert run.status == "completed", run.status
        await self.settle()
        self.cpu_per_run.append((time.process_time() - cpu) / count * 1e6)

    async def settle(self) -> None:
        """Write the spans the block left queued, inside the block's accounting."""
        await (await self.client._ctx.tracer()).flush()

    async def stream(self, deltas: int) -> None:
        thread = await self.client.threads.create(messages=[{"role": "user", "content": "go"}])
        handler = Handler()
        cpu = time.process_time()
        start = time.perf_counter()
        async with self.client.threads.runs.stream(
            thread_id=thread.id, assistant_id=self.streamer, event_handler=handler
        ) as stream:
            await stream.until_done()
        self.rates.append(deltas / (time.perf_counter() - start))
        await self.settle()
        self.cpu_per_delta.append((time.process_time() - cpu) / deltas * 1e6)
        assert handler.deltas == deltas


async def main(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"tracing benchmark: Python {platform.python_version()}, os.cpu_count()={os.cpu_count()}, "
        f"{args.runs} create_and_poll runs and {args.rounds} x {args.deltas:,} deltas a side, "
        f"in blocks of {args.block}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        options: dict[str, Any] = {"providers": {"fast": fast_model(args.deltas)}}
        async with (
            AsyncClient(database_url=f"sqlite+aiosqlite:///{tmp}/on.db", **options) as on,
            AsyncClient(
                database_url=f"sqlite+aiosqlite:///{tmp}/off.db", tracing=False, **options
            ) as off,
        ):
            sides = [Side(on, "on"), Side(off, "off")]
            for side in sides:
                await side.prepare()
                await side.polls(5)  # warm-up, not counted
                side.poll_ms.clear()
            for i in range(max(1, args.runs // args.block)):
                for side in sides if i % 2 == 0 else sides[::-1]:  # each side first in turn
                    await side.polls(args.block)
            for i in range(args.rounds):
                for side in sides if i % 2 == 0 else sides[::-1]:
                    await side.stream(args.deltas)
            tracer = await on._ctx.tracer()
            await tracer.flush()
            traced, untraced = sides
            rows = [
                ("create_and_poll p50, tracing on", f"{pct(traced.poll_ms, 0.5):.2f} ms", ""),
                ("create_and_poll p50, tracing off", f"{pct(untraced.poll_ms, 0.5):.2f} ms", ""),
                ("create_and_poll p99, on / off",
                 f"{pct(traced.poll_ms, 0.99):.2f} / {pct(untraced.poll_ms, 0.99):.2f} ms", ""),
                ("create_and_poll p50 ratio on/off",
                 f"{pct(traced.poll_ms, 0.5) / pct(untraced.poll_ms, 0.5):.3f}",
                 "target <= 1.05"),
                ("streaming deltas/s, tracing on", f"{statistics.median(traced.rates):,.0f}", ""),
                ("streaming deltas/s, tracing off",
                 f"{statistics.median(untraced.rates):,.0f}", ""),
                ("streaming deltas/s ratio on/off",
                 f"{statistics.median(traced.rates) / statistics.median(untraced.rates):.3f}",
                 "target >= 0.97"),
                ("CPU per run, on / off (median of blocks)",
                 f"{statistics.median(traced.cpu_per_run):.0f} / "
                 f"{statistics.median(untraced.cpu_per_run):.0f} µs",
                 f"ratio {ratio(traced.cpu_per_run, untraced.cpu_per_run):.3f}"),
                ("CPU per streamed delta, on / off",
                 f"{statistics.median(traced.cpu_per_delta):.2f} / "
                 f"{statistics.median(untraced.cpu_per_delta):.2f} µs",
                 f"ratio {ratio(traced.cpu_per_delta, untraced.cpu_per_delta):.3f}"),
                ("spans written / dropped / failed",
                 f"{tracer.written} / {tracer.dropped} / {tracer.failed}", ""),
            ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>20}  {note}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=600, help="create_and_poll runs a side")
    parser.add_argument("--block", type=int, default=50, help="runs a side before switching")
    parser.add_argument("--deltas", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="60 runs, 2 x 1,000 deltas")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.runs, parsed.block, parsed.deltas, parsed.rounds = 60, 20, 1_000, 2
    anyio.run(main, parsed)
