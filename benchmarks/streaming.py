"""Streaming benchmark: token deltas relayed from a model to an in-process event handler.

Run:

    .venv/bin/python benchmarks/streaming.py            # 10,000 deltas, 5 rounds
    .venv/bin/python benchmarks/streaming.py --quick    # smoke sizes (CI)

A local fake model yields `--deltas` one-token text deltas as fast as it can, with one event-loop
checkpoint per delta as any network stream has. Measured:

- deltas/s delivered to an `AsyncAssistantEventHandler` subclass (`runs.stream`), median of the
  rounds; and the same reading the typed events of `runs.create(stream=True)` directly;
- added latency per delta: the time from the model yielding a delta to the handler's
  `on_text_delta` receiving it (p50, p99), against the same model read directly (the floor:
  the cost of the generator itself);
- database write transactions per 1,000 deltas (the store's `transaction()` is counted on the
  instance: measurement only);
- CPU time of the process per delta on the handler path (producer, store and consumer share
  the one thread): steadier than wall-clock rates on a shared machine.

`--json PATH` writes the deltas/s of every round of each path (what `report.py` charts).

Targets: >= 30,000 deltas/s to a handler; p50 added latency <= 100 µs; <= 50 transactions per
1,000 deltas. The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import structlog

from assistants import AsyncClient
from assistants.streaming import AsyncAssistantEventHandler
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.base import Chunk, Finish, TextDelta, UsageChunk


class Stamps:
    """When the model yielded each delta (index = delta number)."""

    def __init__(self) -> None:
        self.sent: list[int] = []


def fast_model(count: int, stamps: Stamps) -> FunctionModel:
    async def answer(request: ModelRequest) -> AsyncIterator[Chunk]:
        stamps.sent.clear()
        for _ in range(count):
            # A checkpoint per delta, as every network read is: the model is as fast as it can
            # be, yet lets the event loop run (a stream that never yields would starve it).
            await anyio.lowlevel.checkpoint()
            stamps.sent.append(time.perf_counter_ns())
            yield TextDelta("x")
        yield UsageChunk(prompt_tokens=1, completion_tokens=count)
        yield Finish("stop")

    return FunctionModel(answer)


class Handler(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[int] = []

    async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.received.append(time.perf_counter_ns())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def floor(count: int, rounds: int) -> tuple[list[float], list[float]]:
    """The fake model read directly: deltas/s of each round and per-delta gaps (generator cost)."""
    stamps = Stamps()
    model = fast_model(count, stamps)
    request = ModelRequest(model="m", messages=[])
    rates: list[float] = []
    lat: list[float] = []
    for _ in range(rounds):
        got: list[int] = []
        start = time.perf_counter_ns()
        async for chunk in model.stream(request):
            if isinstance(chunk, TextDelta):
                got.append(time.perf_counter_ns())
        rates.append(count / ((time.perf_counter_ns() - start) / 1e9))
        lat += [(r - s) / 1000 for s, r in zip(stamps.sent, got, strict=True)]
    return rates, lat


async def relayed(count: int, rounds: int) -> dict[str, Any]:
    stamps = Stamps()
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:",
                           providers={"fast": fast_model(count, stamps)}) as client:  # fmt: skip
        store = await client.store()
        transactions = 0
        original = store.db.transaction

        def counting(*, heavy: bool = False, readonly: bool = False) -> Any:
            nonlocal transactions
            transactions += 1
            return original(heavy=heavy, readonly=readonly)

        store.db.transaction = counting  # type: ignore[method-assign]
        assistant = await client.assistants.create(model="fast")
        handler_rates: list[float] = []
        raw_rates: list[float] = []
        latencies: list[float] = []
        tx_per_1000: list[float] = []
        cpu_us: list[float] = []
        for _ in range(rounds):
            thread = await client.threads.create(messages=[{"role": "user", "content": "go"}])
            handler = Handler()
            before = transactions
            cpu = time.process_time()
            start = time.perf_counter_ns()
            async with client.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
            ) as stream:
                await stream.until_done()
            elapsed = (time.perf_counter_ns() - start) / 1e9
            cpu_us.append((time.process_time() - cpu) / count * 1e6)
            assert len(handler.received) == count
            handler_rates.append(count / elapsed)
            latencies += [
                (r - s) / 1000 for s, r in zip(stamps.sent, handler.received, strict=True)
            ]
            tx_per_1000.append((transactions - before) / count * 1000)

            thread = await client.threads.create(messages=[{"role": "user", "content": "go"}])
            start = time.perf_counter_ns()
            events = await client.threads.runs.create(thread.id, assistant_id=assistant.id,
                                                      stream=True)  # fmt: skip
            n = sum([1 async for e in events if e.event == "thread.message.delta"])
            assert n == count
            raw_rates.append(count / ((time.perf_counter_ns() - start) / 1e9))
    return {
        "handler": statistics.median(handler_rates),
        "raw": statistics.median(raw_rates),
        "handler_rounds": handler_rates,
        "raw_rounds": raw_rates,
        "latency": latencies,
        "tx": statistics.median(tx_per_1000),
        "cpu": statistics.median(cpu_us),
    }


async def main(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"streaming benchmark: Python {platform.python_version()}, "
        f"os.cpu_count()={os.cpu_count()}, {args.deltas:,} deltas x {args.rounds} rounds"
    )
    floor_rounds, floor_lat = await floor(args.deltas, args.rounds)
    floor_rate = statistics.median(floor_rounds)
    result = await relayed(args.deltas, args.rounds)
    lat = result["latency"]
    rows = [
        ("model read directly (floor)", f"{floor_rate:,.0f} deltas/s",
         f"p50 {pct(floor_lat, 0.5):.1f} µs, p99 {pct(floor_lat, 0.99):.1f} µs"),
        ("typed events, runs.create(stream=True)", f"{result['raw']:,.0f} deltas/s", ""),
        ("AsyncAssistantEventHandler, runs.stream", f"{result['handler']:,.0f} deltas/s",
         "target >= 30,000"),
        ("CPU per delta, whole process (handler)", f"{result['cpu']:.1f} µs",
         "(steadier than wall time on a shared VM)"),
        ("model -> on_text_delta latency", f"p50 {pct(lat, 0.5):.1f} µs",
         f"p99 {pct(lat, 0.99):.1f} µs (target p50 <= 100 µs added)"),
        ("added latency vs the floor", f"p50 {pct(lat, 0.5) - pct(floor_lat, 0.5):.1f} µs", ""),
        ("write transactions per 1,000 deltas", f"{result['tx']:.1f}", "target <= 50"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>20}  {note}")
    if args.json:
        rounds = {
            "floor": floor_rounds,
            "typed_events": result["raw_rounds"],
            "handler": result["handler_rounds"],
        }
        await anyio.Path(args.json).write_text(json.dumps({"deltas_per_s": rounds}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deltas", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1,000 deltas x 2 rounds")
    parser.add_argument("--json", help="write the deltas/s of every round here, for report.py")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.deltas, parsed.rounds = 1_000, 2
    anyio.run(main, parsed)
