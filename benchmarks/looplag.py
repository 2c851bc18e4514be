"""Event-loop lag benchmark: how long the loop stalls while runs stream and a long thread takes
turns, on a SQLite file with the embedded worker.

Run:

    .venv/bin/python benchmarks/looplag.py             # 50 streams, a 10,000-message thread
    .venv/bin/python benchmarks/looplag.py --quick     # smoke sizes (CI)

A probe task sleeps 1 ms in a loop and records how late it wakes (the overshoot: time the loop
spent on something else). While it runs, `--streams` tasks each stream `--rounds` runs
(`runs.create(stream=True)` read to the end, a user message between runs) on threads of their
own, and one task makes `--turns` runs on a thread of `--big` messages. The model is paced like
a network model (`--deltas` text deltas, `--gap` ms apart), so the loop has time to spare and
what the probe sees are stalls, not a saturated CPU. The long thread's runs use
`max_prompt_tokens=4000` (about 70 of its messages of about 54 prompt tokens) unless `--auto`
(the model's 128k context, about 2,300 of them, read in pages with the loop free between).
Reported: the probe's max, p99 and median lag (wall clock), the CPU time the loop's thread
spent between two wake-ups (the same stall, without the time the OS gave other processes: on a
shared machine wall-clock lag also counts being descheduled), the long thread's turn time, and
the garbage collector's pauses by generation (a stall that is not one of them is the code's).

Also reported: the longest single step of one task (one callback of the loop, timed in CPU
time by wrapping asyncio's `Handle._run` for the measurement), which is the stall one piece of
code causes, and how busy the loop was. The two differ when many tasks are ready at once: fifty
streams whose runs end and start in the same few milliseconds queue their steps behind each
other, and the probe, woken at the end of that queue, reports the sum of the steps as its lag
although none of them was long. The load is a busy one on purpose (the streams run in step):
the lag it shows is mostly queueing on a saturated core; the step is what code can shorten.
The longest steps (over 3 ms, up to six) are listed with the task's coroutine, where it was
paused before the step and where it paused after it, and how much of the step the garbage
collector took.
`--stagger` starts each stream at a random moment within one run's length (seeded), as
independent users arrive, so their steps no longer queue in the same loop iterations; with
`--deltas 100 --gap 20` the pace is a hosted model's (50 tokens/s, 2 s answers) instead of the
default 250 runs/s. `--freeze` moves the start-up heap out of the garbage collector's sight once
warm, as `assistants serve` and `assistants worker` do (`freeze_startup_heap`), which is what
shortens a full collection.

Last, the same probe runs as long again (up to 30 s) on the idle loop, the client still open:
its maximum is the machine's own floor (the OS and, on a VM, the host preempting the process,
which the loop's CPU clock counts as its own time), which no code of the loop can remove.

Target: max lag <= 5 ms. The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio.events
import gc
import math
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# As a script, this file's directory heads sys.path and its name would shadow the `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import structlog

from assistants import AsyncClient
from assistants.cli_serve import freeze_startup_heap
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.base import Chunk, TextDelta

TEXT = "word " * 40


class StepTimer:
    """Times every callback the asyncio loop runs while `active` (measurement only), in the
    loop thread's CPU time: what the code spent, without the time the OS gave others."""

    def __init__(self) -> None:
        self.active = False
        self.steps: list[float] = []
        self.longest: list[tuple[float, str]] = []
        self.busy = 0.0
        self.collecting = 0.0  # seconds the garbage collector ran, counted by `bench`
        self._run = asyncio.events.Handle._run

    def __enter__(self) -> StepTimer:
        original = self._run
        timer = self

        def _run(handle: asyncio.events.Handle) -> None:
            if not timer.active:
                original(handle)
                return
            before = _where(handle)
            collected = timer.collecting
            t0 = time.thread_time()
            try:
                original(handle)
            finally:
                step = time.thread_time() - t0
                timer.busy += step
                if step > 0.0005:
                    timer.steps.append(step)
                if step > 0.003:
                    gc_ms = (timer.collecting - collected) * 1000
                    timer.longest.append(
                        (step, f"{_what(handle)}, from {before}, {gc_ms:.2f} ms of it collecting")
                    )

        asyncio.events.Handle._run = _run  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]


def _innermost(handle: asyncio.events.Handle) -> tuple[Any, str | None, Any]:
    """A loop step's callback; the name of the task's coroutine and the frame it is paused in,
    down its awaits to the innermost coroutine (a future ends the chain); None for a plain
    callback, and no frame for a task not started yet."""
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    coro: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    if coro is None:
        return callback, None, None
    outer = getattr(coro, "__qualname__", repr(coro))
    while True:
        inner = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
        if getattr(inner, "cr_frame", None) is None and getattr(inner, "ag_frame", None) is None:
            break
        coro = inner
    return callback, outer, getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)


def _where(handle: asyncio.events.Handle) -> str:
    """Where the task a step resumes is paused, before the step runs."""
    _, outer, frame = _innermost(handle)
    if outer is None:
        return "a callback"
    return "a new task" if frame is None else f"{frame.f_code.co_qualname}:{frame.f_lineno}"


def _what(handle: asyncio.events.Handle) -> str:
    """The coroutine (or callback) a loop step ran, by name: where a long step comes from."""
    callback, outer, frame = _innermost(handle)
    if outer is None:
        return str(getattr(callback, "__qualname__", repr(callback)))
    if frame is None:
        return outer
    return f"{outer} (paused in {frame.f_code.co_qualname}:{frame.f_lineno})"


IDLE_MAX_SECONDS = 30.0
"""The idle probe runs as long as the load did, up to this."""


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def paced(deltas: int, gap: float) -> FunctionModel:
    """A model that streams `deltas` words `gap` seconds apart, as a remote one does."""

    async def answer(request: ModelRequest) -> AsyncIterator[Chunk]:
        for i in range(deltas):
            await anyio.sleep(gap)
            yield TextDelta(f"w{i} ")

    return FunctionModel(answer, name="paced")


async def bench(
    url: str,
    *,
    streams: int,
    rounds: int,
    big: int,
    turns: int,
    deltas: int,
    gap: float,
    auto: bool,
    stagger: bool,
    freeze: bool,
    timer: StepTimer,
) -> None:
    async with AsyncClient(
        database_url=url,
        max_concurrent_runs=streams + 4,
        providers={"paced": paced(deltas, gap)},
    ) as client:
        assistant = await client.assistants.create(model="paced")
        long = await client.threads.create()
        for i in range(big):
            await client.threads.messages.create(long.id, role="user", content=f"m{i} {TEXT}")
        shorts = [
            (await client.threads.create(messages=[{"role": "user", "content": f"s{i}"}])).id
            for i in range(streams)
        ]
        await client.threads.runs.create_and_poll(
            thread_id=shorts[0], assistant_id=assistant.id, poll_interval_ms=5
        )  # warm-up: first-use imports and connections, of the polled path ...
        async for _ in await client.threads.runs.create(
            shorts[0], assistant_id=assistant.id, stream=True
        ):
            pass  # ... and of the streamed one (its validators build on first use)
        if freeze:
            freeze_startup_heap()
        pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        began: list[float] = []

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                began.append(time.perf_counter())
            elif began:
                pause = time.perf_counter() - began.pop()
                pauses[info["generation"]].append(pause)
                timer.collecting += pause

        gc.callbacks.append(on_gc)
        budget = None if auto else 4000
        lags: list[float] = []
        cpu: list[float] = []
        turn_times: list[float] = []
        stop = anyio.Event()

        async def probe() -> None:
            while not stop.is_set():
                t0, c0 = time.perf_counter(), time.thread_time()
                await anyio.sleep(0.001)
                lags.append(time.perf_counter() - t0 - 0.001)
                cpu.append(time.thread_time() - c0)

        starts = random.Random(1)

        async def stream(thread_id: str) -> None:
            if stagger:  # arrivals spread over one run's length, as independent users' are
                await anyio.sleep(starts.uniform(0, deltas * gap))
            for r in range(rounds):
                events = await client.threads.runs.create(
                    thread_id, assistant_id=assistant.id, stream=True
                )
                async for _ in events:
                    pass
                await client.threads.messages.create(thread_id, role="user", content=f"r{r}")

        async def turns_on_long() -> None:
            for t in range(turns):
                t0 = time.perf_counter()
                run = await client.threads.runs.create_and_poll(
                    thread_id=long.id,
                    assistant_id=assistant.id,
                    poll_interval_ms=5,
                    max_prompt_tokens=budget,
                )
                turn_times.append(time.perf_counter() - t0)
                assert run.status == "completed", run.last_error
                await client.threads.messages.create(long.id, role="user", content=f"t{t}")

        started = time.perf_counter()
        timer.active = True
        async with anyio.create_task_group() as outer:
            outer.start_soon(probe)
            async with anyio.create_task_group() as load:
                for thread_id in shorts:
                    load.start_soon(stream, thread_id)
                load.start_soon(turns_on_long)
            stop.set()
        timer.active = False
        elapsed = time.perf_counter() - started
        gc.callbacks.remove(on_gc)
        idle = await idle_lags(min(elapsed, IDLE_MAX_SECONDS))
    ms = [lag * 1000 for lag in lags]
    cpu_ms = [c * 1000 for c in cpu]
    print(
        f"load: {streams} streams x {rounds} runs of {deltas} deltas {gap * 1000:g} ms apart, "
        f"{turns} turns on a {big:,}-message thread "
        f"({'auto' if auto else 'max_prompt_tokens=4000'}), "
        f"{'staggered' if stagger else 'in step'}{', start-up heap frozen' if freeze else ''}, "
        f"{elapsed:.1f} s"
    )
    print(f"loop lag (ms): max {max(ms):.2f}  p99 {percentile(ms, 0.99):.2f}  "
          f"median {statistics.median(ms):.3f}  ({len(ms):,} probes)")  # fmt: skip
    print(f"loop CPU between probes (ms): max {max(cpu_ms):.2f}  "
          f"p99 {percentile(cpu_ms, 0.99):.2f}  "
          f"median {statistics.median(cpu_ms):.3f}")  # fmt: skip
    steps = sorted((s * 1000 for s in timer.steps), reverse=True)
    print(f"longest task step (CPU ms): max {steps[0] if steps else 0:.2f}  "
          f"5th {steps[4] if len(steps) > 4 else 0:.2f}  "
          f"steps over 5 ms: {sum(s > 5 for s in steps)}  "
          f"loop busy {timer.busy / elapsed:.0%} of the load")  # fmt: skip
    for step, what in sorted(timer.longest, reverse=True)[:6]:
        print(f"  {step * 1000:.2f} ms: {what}")
    print(f"long-thread turn (ms): median {statistics.median(turn_times) * 1000:.1f}  "
          f"max {max(turn_times) * 1000:.1f}")  # fmt: skip
    print("garbage collections (ms): " + "  ".join(
        f"gen {g}: {len(p)} x, max {max(p, default=0) * 1000:.2f}" for g, p in pauses.items()
    ))  # fmt: skip
    idle_ms = [lag * 1000 for lag in idle]
    print(f"idle loop, the same probe for {min(elapsed, IDLE_MAX_SECONDS):.1f} s (this machine's "
          f"floor): max {max(idle_ms):.2f}  p99 {percentile(idle_ms, 0.99):.2f}")  # fmt: skip


async def idle_lags(seconds: float) -> list[float]:
    """The probe's lags with nothing else to run (the client open, its worker idle): what the
    machine itself adds (the OS scheduler, a VM's host), which no code of the loop can remove."""
    lags: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        await anyio.sleep(0.001)
        lags.append(time.perf_counter() - t0 - 0.001)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4, help="runs each stream makes")
    parser.add_argument("--big", type=int, default=10_000, help="messages in the long thread")
    parser.add_argument("--turns", type=int, default=10, help="runs on the long thread")
    parser.add_argument("--deltas", type=int, default=20, help="text deltas per model answer")
    parser.add_argument("--gap", type=float, default=10.0, help="ms between deltas")
    parser.add_argument("--auto", action="store_true", help="long-thread runs without a budget")
    parser.add_argument(
        "--stagger",
        action="store_true",
        help="start each stream at a random moment within one run's length, instead of in step",
    )
    parser.add_argument(
        "--freeze",
        action="store_true",
        help="freeze the start-up heap once warm, as `assistants serve` and `worker` do",
    )
    args = parser.parse_args()
    if args.quick:
        args.streams, args.rounds, args.big, args.turns, args.deltas = 5, 2, 500, 2, 5
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(f"loop-lag benchmark: Python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, {platform.system()} {platform.machine()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'looplag.db'}"
        with StepTimer() as timer:
            anyio.run(
                lambda: bench(
                    url,
                    streams=args.streams,
                    rounds=args.rounds,
                    big=args.big,
                    turns=args.turns,
                    deltas=args.deltas,
                    gap=args.gap / 1000,
                    auto=args.auto,
                    stagger=args.stagger,
                    freeze=args.freeze,
                    timer=timer,
                )
            )


if __name__ == "__main__":
    main()
