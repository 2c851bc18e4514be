"""Restart benchmark: `kill -9` of `assistants serve` (SQLite, its embedded worker) mid-work.

Run:

    .venv/bin/python benchmarks/restart.py            # 120 runs, 3 kills
    .venv/bin/python benchmarks/restart.py --quick    # 30 runs, 1 kill (CI)

Each round queues `--runs` runs (through `AsyncClient` on the same SQLite file, no worker of its
own) for `assistants serve` with its default lease (15 s), calling the loopback fake model of
`scale.py` (`--model-delay`, 2 s per call) as `ollama/fake`. Once at least `--in-flight` (half)
of them are executing, the server is SIGKILLed and started again at once. Measured from the
restart (the new process's exec): when its worker started; when the first run the dead process
held was resumed (claimed by the new one); when all runs completed. The time from the exec to
the worker's start is the server's start-up (imports, schema check, bind), which the reclaim
cannot shorten, so the first resumed run is also reported from the worker's start. Then each
run is checked: completed, with exactly one `thread.run.completed` event. Before the restarted
worker could prove its predecessor gone (same host, that pid with that start time no longer
running), the resumed runs waited out the lease: 19-34 s. Target: the first resumed run within
2 s of the restart.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import structlog

from assistants import AsyncClient
from benchmarks.scale import FAKE_MODEL, FakeModel

TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`assistants serve` on a SQLite file, its JSON log in a file."""

    def __init__(self, url: str, model: FakeModel, directory: Path, n: int) -> None:
        self.log = directory / f"serve-{n}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANTS_")}
        env["OLLAMA_BASE_URL"] = model.base_url
        self.started_at = time.perf_counter()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "assistants.cli", "--log-json", "serve"),
                    *("--port", str(free_port()), "--database-url", url),
                ],
                env=env,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def worker_started(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"serve exited: {self.log.read_text(errors='replace')[-600:]}")
        return '"worker_started"' in self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


async def until(check: object, timeout: float = 120.0, interval: float = 0.01) -> float:
    """Poll `check()` until true; returns the perf_counter time it became true."""
    with anyio.fail_after(timeout):
        while True:
            result = check()  # type: ignore[operator]
            if hasattr(result, "__await__"):
                result = await result
            if result:
                return time.perf_counter()
            await anyio.sleep(interval)


async def one_round(
    client: AsyncClient, assistant_id: str, server: Server, args: argparse.Namespace, i: int
) -> tuple[Server, dict[str, float]]:
    store = await client.store()
    run_ids = []
    for r in range(args.runs):
        run = await client.threads.create_and_run(
            assistant_id=assistant_id,
            thread={"messages": [{"role": "user", "content": f"round {i} run {r}"}]},
        )
        run_ids.append(run.id)
    marks = ",".join(f"'{r}'" for r in run_ids)

    async def count(where: str) -> int:
        row = await store.db.fetchrow(
            f"SELECT count(*) AS n FROM runs WHERE id IN ({marks}) AND {where}"
        )
        return 0 if row is None else int(row["n"])

    await until(lambda: _at_least(count("status = 'in_progress'"), args.in_flight))
    held = await store.db.fetch(
        f"SELECT id, worker_id FROM runs WHERE id IN ({marks}) AND worker_id IS NOT NULL"
    )
    server.kill()
    restarted = Server(server_url(args), args.model, args.directory, i + 2)
    up = await until(restarted.worker_started)
    held_ids = ",".join(f"'{r['id']}'" for r in held)
    dead = {str(r["worker_id"]) for r in held}

    async def resumed() -> bool:
        rows = await store.db.fetch(f"SELECT worker_id, status FROM runs WHERE id IN ({held_ids})")
        return any(
            r["status"] in TERMINAL
            or (r["worker_id"] is not None and str(r["worker_id"]) not in dead)
            for r in rows
        )

    first = await until(resumed, interval=0.005)
    done = await until(lambda: _at_least(count(f"status IN {TERMINAL}"), args.runs), interval=0.05)
    completed = await count("status = 'completed'")
    twice = await store.db.fetchrow(
        "SELECT count(*) AS n FROM (SELECT run_id FROM run_events WHERE event = "
        f"'thread.run.completed' AND run_id IN ({marks}) GROUP BY run_id HAVING count(*) > 1) t"
    )
    figures = {
        "held_at_kill": float(len(held)),
        "restart_to_worker_started": up - restarted.started_at,
        "restart_to_first_resumed": first - restarted.started_at,
        "worker_started_to_first_resumed": first - up,
        "restart_to_all_completed": done - restarted.started_at,
        "completed": float(completed),
        "completed_twice": float(0 if twice is None else twice["n"]),
    }
    return restarted, figures


async def _at_least(value: object, n: int) -> bool:
    return int(await value) >= n  # type: ignore[misc]


def server_url(args: argparse.Namespace) -> str:
    return f"sqlite+aiosqlite:///{args.directory / 'restart.db'}"


async def main(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    args.model = FakeModel(args.model_delay)
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        args.directory = Path(tmp)
        server = Server(server_url(args), args.model, args.directory, 1)
        try:
            await until(server.worker_started)
            async with AsyncClient(database_url=server_url(args), worker=False) as client:
                assistant = await client.assistants.create(model=FAKE_MODEL)
                for i in range(args.kills):
                    server, figures = await one_round(client, assistant.id, server, args, i)
                    rounds.append(figures)
                    print(
                        f"kill {i + 1}: {figures['held_at_kill']:.0f} runs held at the kill; "
                        f"restart -> worker started {figures['restart_to_worker_started']:.2f} s, "
                        f"-> first resumed run {figures['restart_to_first_resumed']:.2f} s "
                        f"({figures['worker_started_to_first_resumed']:.2f} s after the worker "
                        "started), "
                        f"-> all {args.runs} done {figures['restart_to_all_completed']:.2f} s; "
                        f"completed {figures['completed']:.0f}, completed twice "
                        f"{figures['completed_twice']:.0f}",
                        flush=True,
                    )
        finally:
            server.stop()
            args.model.close()
    first = [r["restart_to_first_resumed"] for r in rounds]
    after_start = [r["worker_started_to_first_resumed"] for r in rounds]
    print(
        f"restart -> first resumed run: median {statistics.median(first):.2f} s, max "
        f"{max(first):.2f} s (target <= 2 s; the lease is 15 s); worker started -> first "
        f"resumed run: median {statistics.median(after_start):.2f} s, max "
        f"{max(after_start):.2f} s; completed "
        f"{sum(r['completed'] for r in rounds):.0f}/{args.runs * args.kills}, completed twice "
        f"{sum(r['completed_twice'] for r in rounds):.0f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--in-flight", type=int, help="kill once this many execute (half)")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--model-delay", type=float, default=2.0, help="seconds per model call")
    parser.add_argument("--quick", action="store_true", help="30 runs, 1 kill")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.runs, parsed.kills = 30, 1
    parsed.in_flight = parsed.in_flight or parsed.runs // 2
    print(
        f"restart benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{parsed.runs} runs x {parsed.kills} kills, model {parsed.model_delay:g} s per call"
    )
    anyio.run(main, parsed)
