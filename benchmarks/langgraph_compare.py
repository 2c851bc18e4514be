"""Against LangGraph: the same no-LLM workload on `assistants serve` and on `langgraph dev`.

Run:

    .venv/bin/python benchmarks/langgraph_compare.py            # 5 rounds (a few minutes)
    .venv/bin/python benchmarks/langgraph_compare.py --quick    # 2 short rounds (CI)

What a user would pick instead of this project for a self-hosted agent server is LangGraph's
agent server; its in-memory development mode (`langgraph dev`, from `langgraph-cli[inmem]`) is
the one that needs no Postgres or Redis. This script installs it, pinned, in a virtualenv of its
own, cached outside the repository:

    ${ASSISTANTS_LANGGRAPH_CACHE:-$HOME/.cache/assistants-langgraph}/langgraph-cli-<version>/venv

(built once; pip is the only network access, through its configured index). The server serves a
one-node graph that appends a fixed message; `assistants serve` (SQLite file, embedded worker)
runs the built-in `test` model, which appends a fixed message too. `langgraph dev` runs with
`--no-browser --no-reload`, its command line's analytics off (`LANGGRAPH_CLI_NO_ANALYTICS=1`),
no version check, no LangSmith key and tracing off, so nothing leaves the machine; and with
`--n-jobs-per-worker 64`, the number of runs our embedded worker executes at once (its own default
is 1, which would serialise the concurrent part).

Each side is driven by its own official client, in a process of its own run by that side's
interpreter: the `openai` SDK (`AsyncOpenAI`) against `assistants serve`, `langgraph-sdk`
(`get_client`) against `langgraph dev`. The workload, per round:

- sequential latency of one run on an existing thread, to completed (`runs.create_and_poll`;
  `runs.wait` with the user message as input): p50 and p99;
- throughput: 50 concurrent clients, each running 4 runs one after the other on threads of its
  own, runs/s;
- create -> first streamed event (`runs.create(stream=True)`; `runs.stream(stream_mode=
  "updates")`), median of a few streams, and create -> the first event carrying the answer
  (`thread.message.delta`; the node's `updates` event).

The sides alternate (which goes first swaps every round), both servers stay up throughout, and
the figure is the median over the rounds of each round's ratio assistants / LangGraph (below 1:
lower latency here; above 1 for throughput: more runs/s here). If the virtualenv cannot be built
or the server does not start, the output says so, with the reason, instead of a figure.
`--json PATH` writes every round's figures for `report.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LANGGRAPH_CLI = "0.4.40"
PACKAGES = ("langgraph-cli", "langgraph-api", "langgraph-runtime-inmem", "langgraph-sdk",
            "langgraph")  # fmt: skip
ANSWER = "Hello from the graph."
GRAPH = f'''"""A one-node graph: it appends a fixed message, as the `test` model does."""

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph


def answer(state: MessagesState) -> dict:
    return {{"messages": [AIMessage(content={ANSWER!r})]}}


graph = StateGraph(MessagesState).add_node("answer", answer).add_edge(START, "answer").compile()
'''
JOBS = 64  # runs at once: our embedded worker's default (Settings.max_concurrent_runs)
USER = {"role": "user", "content": "hi"}


class Skip(Exception):
    """LangGraph could not be installed or started here: the reason, reported instead."""


# --- the LangGraph virtualenv, cached outside the repository -------------------------------------


def cache_dir() -> Path:
    root = os.environ.get("ASSISTANTS_LANGGRAPH_CACHE") or Path.home() / ".cache" / (
        "assistants-langgraph"
    )
    return Path(root) / f"langgraph-cli-{LANGGRAPH_CLI}"


def langgraph_venv() -> Path:
    """The virtualenv's interpreter, built on first use (a lock keeps two builds apart)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    venv, done = folder / "venv", folder / "venv" / ".complete"
    python = venv / "bin" / "python"
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)  # a build that stopped half-way
        print(f"langgraph: building {venv} (pip, a few minutes, once)", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        for step in (
            [base, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"langgraph-cli[inmem]=={LANGGRAPH_CLI}"],
        ):  # fmt: skip
            try:
                built = subprocess.run(step, capture_output=True, text=True, timeout=1200,
                                       check=False)  # fmt: skip
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise Skip(f"`{' '.join(step[1:4])}` did not finish: {exc}") from exc
            if built.returncode != 0:
                why = (built.stderr.strip().splitlines() or ["no output"])[-1]
                raise Skip(f"`{' '.join(step[1:4])}` failed (exit {built.returncode}): {why}")
        done.write_text("")
    return python


def installed(python: Path) -> dict[str, str]:
    ask = ("import importlib.metadata as m, json, sys; print(json.dumps("
           "{p: m.version(p) for p in sys.argv[1:]}))")  # fmt: skip
    out = subprocess.run([str(python), "-c", ask, *PACKAGES], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    found: dict[str, str] = json.loads(out.stdout)
    return found


# --- the servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, name: str) -> None:
    import httpx  # noqa: PLC0415

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise Skip(f"{name} exited with status {process.returncode}: {' / '.join(tail)}")
        try:
            if httpx.get(url, timeout=1).is_success:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise Skip(f"{name} did not answer {url} within 120 s")


def start_langgraph(python: Path, project: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    (project / "graph.py").write_text(GRAPH, encoding="utf-8")
    config = {"dependencies": ["."], "graphs": {"agent": "./graph.py:graph"}}
    (project / "langgraph.json").write_text(json.dumps(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "LANGGRAPH_"))}  # fmt: skip
    env |= {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true",
            "LANGSMITH_TRACING": "false", "LOG_LEVEL": "WARNING"}  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [str(python), "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload",
         "--host", "127.0.0.1", "--port", str(port), "--n-jobs-per-worker", str(JOBS),
         "--server-log-level", "WARNING", "--config", str(project / "langgraph.json")],
        cwd=project, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{url}/ok", log, "`langgraph dev`")
    except Skip:
        stop(process)
        raise
    return process, url


def start_ours(folder: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistants.cli", "--log-level", "warning", "serve", "--port",
         str(port), "--database-url", f"sqlite+aiosqlite:///{folder}/compare.db"],
        cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, f"{url}/health", log, "`assistants serve`")
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the clients: each side's official SDK, in a process run by that side's interpreter ---------


class Side:
    """One server through its SDK: a client, a new thread, one run to completion, one stream."""

    def client(self) -> Any:
        raise NotImplementedError

    async def setup(self) -> None:
        """What must exist before the first run (our side: the assistant)."""

    async def thread(self, client: Any) -> str:
        raise NotImplementedError

    async def run(self, client: Any, thread_id: str) -> None:
        raise NotImplementedError

    async def stream(self, client: Any, thread_id: str) -> tuple[float, float]:
        """ms from create to the first event, and to the first event carrying the answer."""
        raise NotImplementedError

    async def close(self, client: Any) -> None:
        await client.close()


class Ours(Side):
    def __init__(self, url: str) -> None:
        import openai  # noqa: PLC0415

        self.openai, self.url, self.assistant = openai, url, ""

    def client(self) -> Any:
        return self.openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key="x", max_retries=0)

    async def setup(self) -> None:
        client = self.client()
        self.assistant = (await client.beta.assistants.create(model="test")).id
        await client.close()

    async def thread(self, client: Any) -> str:
        return str((await client.beta.threads.create(messages=[USER])).id)

    async def run(self, client: Any, thread_id: str) -> None:
        run = await client.beta.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=self.assistant
        )
        if run.status != "completed":
            raise RuntimeError(f"run {run.id} ended {run.status}")

    async def stream(self, client: Any, thread_id: str) -> tuple[float, float]:
        start, first, answer = time.perf_counter(), 0.0, 0.0
        events = await client.beta.threads.runs.create(
            thread_id, assistant_id=self.assistant, stream=True
        )
        async for event in events:
            first = first or time.perf_counter() - start
            if not answer and event.event == "thread.message.delta":
                answer = time.perf_counter() - start
        return first * 1000, answer * 1000


class LangGraph(Side):
    def __init__(self, url: str) -> None:
        # Installed in the LangGraph virtualenv only, where this side runs.
        from langgraph_sdk import get_client  # type: ignore[import-not-found]  # noqa: PLC0415

        self.get_client, self.url = get_client, url

    def client(self) -> Any:
        return self.get_client(url=self.url, api_key=None)

    async def thread(self, client: Any) -> str:
        return str((await client.threads.create())["thread_id"])

    async def run(self, client: Any, thread_id: str) -> None:
        state = await client.runs.wait(thread_id, "agent", input={"messages": [USER]})
        if state["messages"][-1]["content"] != ANSWER:
            raise RuntimeError(f"run on {thread_id} ended without the answer: {state}")

    async def stream(self, client: Any, thread_id: str) -> tuple[float, float]:
        start, first, answer = time.perf_counter(), 0.0, 0.0
        async for part in client.runs.stream(
            thread_id, "agent", input={"messages": [USER]}, stream_mode="updates"
        ):
            first = first or time.perf_counter() - start
            if not answer and part.event == "updates":
                answer = time.perf_counter() - start
        return first * 1000, answer * 1000

    async def close(self, client: Any) -> None:
        await client.aclose()


async def sequential(side: Side, runs: int) -> dict[str, Any]:
    client = side.client()
    threads = [await side.thread(client) for _ in range(runs)]
    latencies = []
    for thread_id in threads:
        start = time.perf_counter()
        await side.run(client, thread_id)
        latencies.append((time.perf_counter() - start) * 1000)
    await side.close(client)
    return {"latency_ms": latencies}


async def concurrent(side: Side, clients: int, per_client: int) -> dict[str, Any]:
    sdks = [side.client() for _ in range(clients)]
    threads = [[await side.thread(sdk) for _ in range(per_client)] for sdk in sdks]

    async def work(sdk: Any, ids: list[str]) -> None:
        for thread_id in ids:
            await side.run(sdk, thread_id)

    start = time.perf_counter()
    await asyncio.gather(*(work(sdk, ids) for sdk, ids in zip(sdks, threads, strict=True)))
    rate = clients * per_client / (time.perf_counter() - start)
    for sdk in sdks:
        await side.close(sdk)
    return {"runs_per_s": rate}


async def streams(side: Side, count: int) -> dict[str, Any]:
    client = side.client()
    first, answer = [], []
    for _ in range(count):
        thread_id = await side.thread(client)
        to_first, to_answer = await side.stream(client, thread_id)
        first.append(to_first)
        answer.append(to_answer)
    await side.close(client)
    return {"first_event_ms": first, "first_answer_ms": answer}


def client_role(kind: str, url: str) -> None:
    """Answer the driver's commands, one JSON line each, with this side's SDK."""

    async def serve() -> None:
        side: Side = Ours(url) if kind == "ours" else LangGraph(url)
        await side.setup()
        ops: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
            "sequential": sequential, "concurrent": concurrent, "streams": streams,
        }  # fmt: skip
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            result = await ops[command.pop("op")](side, **command)
            print(json.dumps(result), flush=True)

    asyncio.run(serve())


class Driver:
    """A client process of one side, started with that side's interpreter."""

    def __init__(self, python: Path | str, kind: str, url: str, log: Path) -> None:
        self.kind = kind
        self.process = subprocess.Popen(
            [str(python), str(Path(__file__).resolve()), "--client", kind, "--url", url],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("wb"),
            text=True,
        )  # fmt: skip
        try:
            self.ask_line(None)
        except RuntimeError:
            self.process.kill()
            self.process.wait()
            raise

    def ask_line(self, command: dict[str, Any] | None) -> dict[str, Any]:
        assert self.process.stdin
        assert self.process.stdout
        if command is not None:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.kind} client stopped (see its log)")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(30)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_round(driver: Driver, args: argparse.Namespace) -> dict[str, float]:
    seq = driver.ask_line({"op": "sequential", "runs": args.runs})["latency_ms"]
    rate = driver.ask_line({"op": "concurrent", "clients": args.clients, "per_client": 4})
    streamed = driver.ask_line({"op": "streams", "count": args.streams})
    return {
        "p50_ms": statistics.median(seq),
        "p99_ms": pct(seq, 0.99),
        "runs_per_s": rate["runs_per_s"],
        "first_event_ms": statistics.median(streamed["first_event_ms"]),
        "first_answer_ms": statistics.median(streamed["first_answer_ms"]),
    }


ROWS = (
    ("p50_ms", "one run, create -> completed, p50 (ms)", "lower is better"),
    ("p99_ms", "one run, create -> completed, p99 (ms)", "lower is better"),
    ("runs_per_s", "runs/s, {clients} concurrent clients x 4 runs", "higher is better"),
    ("first_event_ms", "create -> first streamed event (ms)", "lower is better"),
    ("first_answer_ms", "create -> first event with the answer (ms)", "lower is better"),
)


def compare(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    python = langgraph_venv()
    versions = installed(python)
    print("langgraph: " + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    project = folder / "graph"
    project.mkdir()
    theirs_server, theirs_url = start_langgraph(python, project, folder / "langgraph-dev.log")
    ours_server, ours_url = start_ours(folder, folder / "serve.log")
    drivers: list[Driver] = []
    try:
        ours = Driver(sys.executable, "ours", ours_url, folder / "ours-client.log")
        drivers.append(ours)
        theirs = Driver(python, "langgraph", theirs_url, folder / "langgraph-client.log")
        drivers.append(theirs)
        for driver in drivers:  # warm-up: first-use imports and caches, on both sides
            driver.ask_line({"op": "sequential", "runs": 5})
            driver.ask_line({"op": "streams", "count": 1})
        rounds: list[dict[str, dict[str, float]]] = []
        for n in range(args.rounds):
            order = (ours, theirs) if n % 2 == 0 else (theirs, ours)
            measured = {d.kind: one_round(d, args) for d in order}
            rounds.append(measured)
            print(f"  round {n + 1}: " + ", ".join(
                f"{key} {measured['ours'][key]:.1f} / {measured['langgraph'][key]:.1f}"
                for key, _, _ in ROWS
            ), flush=True)  # fmt: skip
    except (RuntimeError, OSError, json.JSONDecodeError) as exc:
        logs = sorted(folder.glob("*.log"))
        tails = {p.name: p.read_text(errors="replace").strip().splitlines()[-5:] for p in logs}
        raise Skip(f"the comparison stopped: {exc}; logs: {json.dumps(tails)}") from exc
    finally:
        for driver in drivers:
            driver.close()
        stop(ours_server)
        stop(theirs_server)
    ratios = {
        key: [r["ours"][key] / r["langgraph"][key] for r in rounds if r["langgraph"][key]]
        for key, _, _ in ROWS
    }
    return {
        "clients": args.clients,
        "versions": versions,
        "rounds": rounds,
        "ratios": ratios,
        "median_ratio": {k: statistics.median(v) for k, v in ratios.items() if v},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=100, help="sequential runs per round")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--streams", type=int, default=10, help="streams per round")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 20 runs, 5 streams")
    parser.add_argument("--json", help="write every round's figures here, for report.py")
    parser.add_argument(
        "--prepare", action="store_true", help="build the cached LangGraph venv, then exit"
    )
    parser.add_argument("--client", choices=("ours", "langgraph"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_role(args.client, args.url)
        return
    if args.prepare:  # CI builds the venv beside other work; a later run waits on its lock
        try:
            print(f"langgraph: venv ready at {langgraph_venv()}")
        except Skip as exc:
            print(f"langgraph: venv not built: {exc}")
        return
    if args.quick:
        args.rounds, args.runs, args.streams = 2, 20, 5
    sys.path.insert(0, str(ROOT))
    print(
        f"langgraph comparison: Python {sys.version.split()[0]}, os.cpu_count()={os.cpu_count()}, "
        f"{args.rounds} rounds of {args.runs} sequential runs, {args.clients} concurrent clients "
        f"x 4 runs and {args.streams} streams a side; langgraph-cli[inmem]=={LANGGRAPH_CLI}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as scratch:
        try:
            figures = compare(args, Path(scratch))
        except Skip as exc:
            print(f"langgraph comparison not measured: {exc}")
            figures = {"skipped": str(exc)}
    if "rounds" in figures:
        rounds, medians = figures["rounds"], figures["median_ratio"]
        print(f"  {'':<46} {'assistants serve':>17} {'langgraph dev':>14} {'ratio':>7}")
        for key, label, better in ROWS:
            mine = statistics.median(r["ours"][key] for r in rounds)
            theirs = statistics.median(r["langgraph"][key] for r in rounds)
            shown = label.format(clients=args.clients)
            print(f"  {shown:<46} {mine:>17.2f} {theirs:>14.2f} {medians.get(key, 0):>6.2f}x"
                  f"  ({better})")  # fmt: skip
        print("  (medians of the rounds; ratio: the median of the rounds' assistants / LangGraph)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures), encoding="utf-8")


if __name__ == "__main__":
    main()
