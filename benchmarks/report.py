"""The benchmark report: runs the suite and writes `docs/benchmarks.md` from the figures' JSON.

Run from the repository root (Postgres from `ASSISTANTS_TEST_POSTGRES_URL` or `--database-url`
for the scale-out part; without it that part says it was skipped):

    .venv/bin/python benchmarks/report.py              # the whole suite (about 25 minutes)
    .venv/bin/python benchmarks/report.py --quick      # smoke sizes (CI; numbers not judged)
    .venv/bin/python benchmarks/report.py --only streaming,scale
    .venv/bin/python benchmarks/report.py --render     # re-render the markdown from the JSON

Each benchmark script runs in a process of its own, one after the other (never two at once:
they would measure each other), with `--quick` passed on in quick mode. Everything measured goes
to `docs/benchmarks.json` (`--json`): the machine, the versions, each script's command, wall
time and output, the headline figures read from the outputs (and `scale.py --json`), each with
its target and, where the suite measures one in the same run, its ratio to the floor. The
markdown (`--out`, default `docs/benchmarks.md`) is rendered from that JSON only, so re-running
the command on another machine regenerates the whole report, and `--render` re-renders it
without measuring again. So are its charts (`benchmarks/charts.py`, matplotlib from the `bench`
extra): PNGs in a folder named after the markdown, beside it (`docs/benchmarks/`), linked from it;
the scripts that take `--json` (server, streaming, scale, langgraph) give them their data.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PACKAGES = (
    "assistants-runtime",
    "openai",
    "httpx",
    "pydantic",
    "sqlmodel",
    "sqlalchemy",
    "anyio",
    "aiosqlite",
    "asyncpg",
    "structlog",
    "fastapi",
    "uvicorn",
)


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    what: str
    needs_postgres: bool = False
    timeout: float = 1800.0
    writes_json: bool = False  # takes `--json PATH`: the figures the charts are drawn from
    args: tuple[str, ...] = ()  # passed on after the script's name


SUITE = (
    Bench("store", "store.py", "Store and client operations against raw aiosqlite and sqlite3"),
    Bench("runs", "runs.py", "Run latency, throughput, overlap of model calls, tool round trips"),
    Bench("streaming", "streaming.py", "Deltas/s through the event handler against the model",
          writes_json=True),
    Bench("server", "server.py", "The openai SDK over HTTP against the in-process client",
          writes_json=True),
    Bench("langgraph", "langgraph_compare.py",
          "The same no-LLM workload against LangGraph's `langgraph dev`", writes_json=True),
    Bench("providers", "providers.py", "Provider adapters against a bare httpx call"),
    Bench("completions", "completions.py", "Chat completions through the runtime"),
    Bench("routing", "routing.py", "The server's route table against FastAPI's include_router"),
    Bench("imports", "imports.py", "`import assistants` in fresh interpreters"),
    Bench("restart", "restart.py", "`kill -9` of `assistants serve` on SQLite, then restart"),
    Bench("tracing", "tracing.py", "Runs and streams with tracing on against tracing off"),
    Bench("looplag", "looplag.py",
          "Event-loop stalls: 50 streams in step and a 10,000-message thread taking turns"),
    Bench("looplag-paced", "looplag.py",
          "Event-loop stalls: 50 streams at a hosted model's pace, arriving at random moments, "
          "the start-up heap frozen as `assistants serve` does",
          args=("--stagger", "--deltas", "100", "--gap", "20", "--freeze")),
    Bench("scale", "scale.py", "Worker processes on Postgres, 500 ms model", needs_postgres=True,
          writes_json=True),
)  # fmt: skip
NAMES = tuple(b.name for b in SUITE)


# --- measuring ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": memory,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def versions(database_url: str | None) -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    if database_url:
        found["postgres"] = postgres_version(database_url)
    return found


def postgres_version(url: str) -> str:
    import anyio  # noqa: PLC0415
    import asyncpg  # noqa: PLC0415

    async def ask() -> str:
        conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1].split("?", 1)[0])
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return anyio.run(ask)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"unreachable ({exc})"


def run_bench(bench: Bench, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Run one script; its command, wall time, exit status, output and (scale) JSON."""
    script = ROOT / "benchmarks" / bench.script
    if not script.exists():
        return {"skipped": f"benchmarks/{bench.script} is not in this checkout"}
    if bench.needs_postgres and not args.database_url:
        return {"skipped": "needs Postgres: set ASSISTANTS_TEST_POSTGRES_URL or --database-url"}
    command = [sys.executable, f"benchmarks/{bench.script}", *bench.args]
    if args.quick:
        command.append("--quick")
    figures_file = scratch / f"{bench.name}.json"
    if bench.name == "scale":
        command += ["--database-url", args.database_url]
    if bench.writes_json:
        command += ["--json", str(figures_file)]
    shown = " ".join(["python", *command[1:]]).replace(str(figures_file), figures_file.name)
    shown = shown.replace(args.database_url or "\0", "$ASSISTANTS_TEST_POSTGRES_URL")
    print(f"report: {shown}", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=bench.timeout,
            check=False,
        )
        output, status = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or b""
        text = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        output, status = f"{text}\ntimed out after {bench.timeout:.0f} s", -1
    result: dict[str, Any] = {
        "command": shown,
        "seconds": round(time.perf_counter() - started, 1),
        "exit_status": status,
        "output": output,
    }
    if figures_file.exists():
        result["figures"] = json.loads(figures_file.read_text())
    return result


# --- headline figures, read from the outputs ----------------------------------------------------


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def streaming_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = result["output"]
    floor = re.search(r"model read directly \(floor\)\s+([\d,]+) deltas/s", out)
    handler = re.search(r"AsyncAssistantEventHandler, runs.stream\s+([\d,]+) deltas/s", out)
    if not (floor and handler):
        return []
    ours, base = _number(handler.group(1)), _number(floor.group(1))
    return [
        {
            "figure": "Deltas/s to an AsyncAssistantEventHandler",
            "value": f"{ours:,.0f} deltas/s",
            "floor": f"{base:,.0f} deltas/s (the model read directly)",
            "ratio": ours / base,
            "target": ">= 0.25x the floor",
            "met": ours / base >= 0.25,
        }
    ]


def server_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = result["output"]
    median = re.search(r"create_and_poll median \(ms\)\s+([\d.]+)\s+([\d.]+)", out)
    rate = re.search(r"runs/s, \d+ concurrent clients\s+([\d.]+)\s+([\d.]+)", out)
    found = []
    if median:
        sdk, local = float(median.group(1)), float(median.group(2))
        found.append(
            {
                "figure": "create_and_poll median, openai SDK over HTTP",
                "value": f"{sdk:.1f} ms",
                "floor": f"{local:.1f} ms (in-process client)",
                "ratio": sdk / local,
                "target": "<= 10 ms",
                "met": sdk <= 10,
            }
        )
    if rate:
        sdk_rate = float(rate.group(1))
        found.append(
            {
                "figure": "Runs/s, concurrent clients, openai SDK over HTTP",
                "value": f"{sdk_rate:.0f} runs/s",
                "floor": f"{float(rate.group(2)):.0f} runs/s (in-process client)",
                "ratio": sdk_rate / float(rate.group(2)),
                "target": ">= 200 runs/s",
                "met": sdk_rate >= 200,
            }
        )
    return found


def imports_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One figure per interpreter measured: the README's `[server]` install is the one judged
    (what users import); a dev environment's figure is reported beside it."""
    found: list[dict[str, Any]] = []
    blocks = re.finditer(
        r"^(?P<label>[^\n]+) \([^\n]*\)\nimport assistants: median (?P<ms>\d+) ms cumulative"
        r".*\n[^\n]*the stack's floor .*?: median (?P<floor>\d+) ms",
        result["output"],
        re.MULTILINE,
    )
    for block in blocks:
        ms, label = int(block["ms"]), block["label"]
        judged = "target <= 250 ms" in block[0]  # imports.py prints it for the judged install
        found.append(
            {
                "figure": f"`import assistants`, cumulative: {label}",
                "value": f"{ms} ms",
                "ratio": ms / int(block["floor"]),
                "target": "<= 250 ms" if judged else "reported",
                "met": ms <= 250 if judged else None,
            }
        )
    return found


def completions_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """`create` and its stream over a bare httpx call, the median ratio of the four rows (wire
    formats and answers), each row's ratio in the value; the openai SDK's stream for context."""
    rows = re.findall(
        r"^(\w+)\s+(text|tool)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+"
        r"\s+([\d.]+)x\s+([\d.]+)x",
        result["output"],
        re.MULTILINE,
    )
    found: list[dict[str, Any]] = []
    for column, what in ((3, "`chat.completions.create`"), (4, "`create(stream=True)`")):
        ratios = [float(row[column]) for row in rows]
        if not ratios:
            continue
        ratio = statistics.median(ratios)
        found.append(
            {
                "figure": f"Chat completions over a bare httpx call: {what}",
                "value": ", ".join(f"{r[0]} {r[1]} {float(r[column]):.2f}x" for r in rows),
                "ratio": ratio,
                "target": "<= 1.15x",
                "met": ratio <= 1.15,
            }
        )
    sdk = re.findall(
        r"^\(c'\) openai SDK .*?\((\w+), (\w+)\): ([\d.]+) ms median, ([\d.]+)x",
        result["output"],
        re.MULTILINE,
    )
    if sdk:
        found.append(
            {
                "figure": "openai SDK's stream straight from the provider, over a bare httpx call",
                "value": ", ".join(f"{w} {a} {float(x):.2f}x" for w, a, _, x in sdk),
                "ratio": statistics.median(float(x) for *_, x in sdk),
                "target": "context",
                "met": None,
            }
        )
    return found


def scale_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    figures = result.get("figures") or {}
    found: list[dict[str, Any]] = []
    fake = figures.get("throughput", {}).get("fake")
    floor = figures.get("throughput", {}).get("floor", {})
    if fake:
        one = fake["1"]["runs_per_s"]
        for n, target in (("2", 1.9), ("4", 3.7)):
            scale_out = fake[n]["runs_per_s"] / one
            floor_ratio = (
                f"{floor[n]['runs_per_s'] / floor['1']['runs_per_s']:.2f}x" if floor else "n/a"
            )
            found.append(
                {
                    "figure": f"Scale-out 1 -> {n} workers (4 slots each, 500 ms model)",
                    "value": f"{scale_out:.2f}x ({fake[n]['runs_per_s']:.1f} runs/s)",
                    "floor": f"{floor_ratio} (hand-written worker)",
                    "target": f">= {target}x",
                    "met": scale_out >= target,
                }
            )
        twice = sum(fake[n]["duplicates"] for n in fake)
        found.append(
            {
                "figure": "Runs called twice at the model, scale-out",
                "value": f"{twice:.0f}",
                "target": "0",
                "met": twice == 0,
            }
        )
    for n, cpu in (figures.get("cpu_vs_floor") or {}).items():
        found.append(
            {
                "figure": f"Worker CPU per run, {n} worker(s)",
                "value": f"{fake[n]['worker_cpu_ms']:.2f} ms (+ Postgres "
                f"{fake[n]['postgres_cpu_ms']:.2f} ms)",
                "floor": f"{floor[n]['worker_cpu_ms']:.2f} ms (+ Postgres "
                f"{floor[n]['postgres_cpu_ms']:.2f} ms)",
                "ratio": cpu["worker_ratio"],
                "target": "<= 3x the floor",
                "met": None if cpu["worker_ratio"] is None else cpu["worker_ratio"] <= 3,
                "note": "the floor's CPU was below the clock tick: no ratio"
                if cpu["runs_per_s_per_core"] is None or cpu["worker_ratio"] is None
                else f"projected {cpu['runs_per_s_per_core']:.0f} runs/s per core",
            }
        )
    for n, rate in (figures.get("throughput", {}).get("tool") or {}).items():
        found.append(
            {
                "figure": f"Worker CPU per tool round trip run (2 model calls), {n} worker(s)",
                "value": f"{rate['worker_cpu_ms']:.2f} ms (+ Postgres "
                f"{rate['postgres_cpu_ms']:.2f} ms)",
                "target": "reported",
                "met": None,
                "note": f"{rate['runs_per_s']:.1f} runs/s",
            }
        )
    drain = figures.get("drain")
    if drain:
        clean = drain["lost"] == 0 and drain["claimed_twice"] == 0 and drain["called_twice"] == 0
        found.append(
            {
                "figure": f"{drain['runs']:,} queued runs drained by 4 workers x 16 slots",
                "value": f"{drain['completed']:,} completed, {drain['lost']} lost, "
                f"{drain['claimed_twice']} claimed twice, {drain['called_twice']} called "
                f"twice; {drain['claims_per_s']:.0f} claims/s",
                "target": "none lost, none twice",
                "met": clean,
            }
        )
    return found


def restart_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    found = re.search(
        r"restart -> first resumed run: median ([\d.]+) s, max ([\d.]+) s .*worker started -> "
        r"first resumed run: median ([\d.]+) s, max ([\d.]+) s; completed (\d+)/(\d+), "
        r"completed twice (\d+)",
        result["output"],
    )
    if not found:
        return []
    median, worst, after_start = float(found.group(1)), float(found.group(2)), float(found.group(3))
    return [
        {
            "figure": "`kill -9` of serve (SQLite): restart -> first resumed run",
            "value": f"{median:.2f} s median, {worst:.2f} s max ({after_start:.2f} s after "
            "its worker started)",
            "floor": "lease 15 s (what it waited before)",
            "target": "<= 2 s",
            "met": worst <= 2,
        },
        {
            "figure": "`kill -9` of serve: runs completed, completed twice",
            "value": f"{found.group(5)}/{found.group(6)}, {found.group(7)} twice",
            "target": "all, none twice",
            "met": found.group(5) == found.group(6) and found.group(7) == "0",
        },
    ]


def tracing_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = result["output"]
    found = []
    for label, pattern, target, upper in (
        ("create_and_poll p50, tracing on / off", r"create_and_poll p50 ratio on/off\s+([\d.]+)",
         1.05, True),
        ("Streaming deltas/s, tracing on / off", r"streaming deltas/s ratio on/off\s+([\d.]+)",
         0.97, False),
    ):  # fmt: skip
        match = re.search(pattern, out)
        if match:
            ratio = float(match.group(1))
            found.append(
                {
                    "figure": label,
                    "value": f"{ratio:.3f}",
                    "floor": "the same work with tracing off, interleaved",
                    "ratio": ratio,
                    "target": f"{'<=' if upper else '>='} {target}",
                    "met": ratio <= target if upper else ratio >= target,
                }
            )
    return found


def looplag_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = result["output"]
    lag = re.search(r"loop lag \(ms\): max ([\d.]+)  p99 ([\d.]+)", out)
    step = re.search(r"longest task step \(CPU ms\): max ([\d.]+)", out)
    if not lag or not step:
        return []
    worst, p99, longest = float(lag.group(1)), float(lag.group(2)), float(step.group(1))
    idle = re.search(r"idle loop, .*floor\): max ([\d.]+)  p99 ([\d.]+)", out)
    floor = {}
    if idle:  # the same probe on the idle loop: the machine's own share
        floor["floor"] = f"{idle.group(1)} ms (the idle loop; p99 {idle.group(2)} ms)"
    return [
        {
            "figure": "Event-loop lag, max of the probe",
            "value": f"{worst:.1f} ms (p99 {p99:.1f} ms)",
            **floor,
            "target": "<= 5 ms",
            "met": worst <= 5,
        },
        {
            "figure": "Event-loop stall, longest single task step (CPU)",
            "value": f"{longest:.1f} ms",
            "target": "reported",
            "met": None,
        },
    ]


def langgraph_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    figures = result.get("figures") or {}
    if "skipped" in figures:
        return [
            {
                "figure": "Against LangGraph's `langgraph dev`",
                "value": f"not measured: {figures['skipped']}",
                "target": "reported",
                "met": None,
            }
        ]
    rounds, medians = figures.get("rounds") or [], figures.get("median_ratio") or {}
    found = []
    for key, label, unit in (
        ("p50_ms", "one run on an existing thread, p50", "ms"),
        ("p99_ms", "one run on an existing thread, p99", "ms"),
        ("runs_per_s", f"runs/s, {figures.get('clients')} concurrent clients", "runs/s"),
        ("first_event_ms", "create -> first streamed event", "ms"),
    ):
        if key not in medians:
            continue
        mine = statistics.median(r["ours"][key] for r in rounds)
        theirs = statistics.median(r["langgraph"][key] for r in rounds)
        found.append(
            {
                "figure": f"Against LangGraph: {label}",
                "value": f"{mine:.1f} {unit}",
                "floor": f"{theirs:.1f} {unit} (`langgraph dev`, same rounds)",
                "ratio": medians[key],
                "target": "reported",
                "met": None,
                "note": f"medians of {len(rounds)} rounds; the ratio, of the rounds' ratios",
            }
        )
    return found


READERS: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {
    "completions": completions_figures,
    "langgraph": langgraph_figures,
    "looplag": looplag_figures,
    "looplag-paced": looplag_figures,
    "tracing": tracing_figures,
    "streaming": streaming_figures,
    "server": server_figures,
    "imports": imports_figures,
    "restart": restart_figures,
    "scale": scale_figures,
}


# --- rendering ----------------------------------------------------------------------------------

# What was found to limit a figure when it misses its target (printed only when it does).
LIMITS = {
    "Deltas/s to an AsyncAssistantEventHandler": (
        "a profile of 10,000 deltas (cProfile, `runs.stream` on the in-memory store) spreads the "
        "cost over the layers each delta crosses, none dominant: the event loop's scheduling of "
        "two tasks per delta (the executor reading the model, the stream's reader) about a fifth; "
        "the executor's chunk handling and batching about a fifth; validating the event into the "
        "SDK's types about a tenth; the message snapshot about an eighth; the handler's dispatch "
        "(`_drive`, callbacks) about a quarter. A lazily built snapshot saves at most that "
        "eighth; reaching 0.25x needs fewer hops per delta (batching deltas between the executor "
        "and the reader), not one faster layer."
    ),
    "`kill -9` of serve (SQLite): restart -> first resumed run": (
        "the run is resumed a fraction of a second after the restarted worker's start (see "
        "the figure in parentheses); the rest is `assistants serve` starting (interpreter, "
        "imports, schema check, bind) on a machine whose load average is in the header."
    ),
    "`import assistants`": (
        "the ratio is to the stack under it (anyio, pydantic with one model, sqlite3, structlog) "
        "imported in the same interpreters, and the figure moves with that floor: on a quiet "
        "2-core VM the `[server]` install measured 226-238 ms over a floor of 127-130 ms, and on "
        "other days the same VM measured 350-430 ms over a floor of 180-250 ms. "
        "`benchmarks/imports.py` lists the costliest packages: the wire models' pydantic classes "
        "(store.types, store.events: about 35 ms of class creation with their validators "
        "deferred), pydantic itself and its plugin discovery (importlib.metadata), asyncio and "
        "structlog, which imports rich, pygments and attrs when they are installed (a dev "
        "environment: about 40-60 ms more). httpx and numpy load with their first use."
    ),
    "Event-loop lag, max of the probe": (
        "the probe wakes at the end of everything that was ready before it, so its lag is the "
        "sum of the steps queued in one turn of the loop, not one long step: the longest single "
        "step (the next row) is a few milliseconds of CPU. Fifty streams in step start and end "
        "their runs in the same few milliseconds (about 2 ms of CPU each) and queue behind each "
        "other; arriving at random moments at a hosted model's pace, a few 1-3 ms steps still "
        "coincide, and the collector's young-generation passes (up to 2 ms) fall among them. "
        "Each inline SQLite write transaction gives the loop a turn first, so a run's start or "
        "end is several short steps, not one of 2-3 ms. The floor column is the same probe on "
        "the idle loop for as long: on a 2-core VM it alone reached 3.8-8.8 ms in 20 s (the "
        "host preempting the process, which the loop's CPU clock counts as its own), so 5 ms at "
        "the maximum cannot be told from the machine there. Fifty streams in step cannot meet "
        "it on any machine: fifty ready tasks of 0.1 ms each are already 5 ms."
    ),
    "Chat completions over a bare httpx call": (
        "the floor reads lines and parses JSON, and makes no objects; a completion also checks "
        "the request, resolves the model, records a span, and builds OpenAI's typed objects: "
        "one `ChatCompletion`, or one `ChatCompletionChunk` per delta. Timed in the live loop "
        "(the benchmark's phases table), a call spent 100-180 us before the request left (the "
        "floor: 6-9) and 75-120 us after the body ended (the floor: 4-6), each step two to "
        "three times its cost in a tight loop, the caches being cold after the HTTP stack's "
        "work; reading the body costs about the floor's. A stream "
        "adds a chunk per delta: 2.9 us each to validate in a tight loop (pydantic's core "
        "validator, called directly), 5-6 us in the live loop, about 120 us for the 22 chunks "
        "of this answer, 7-8% of the floor on its own. With the request's checks, the span, "
        "the answer and the chunks all made free (an ablation, not a product), the stream "
        "still measured 1.12x and `create` 1.09x. The openai SDK, reading the same stream into "
        "its own types, measures 2.3-3.1x the same floor (its row)."
    ),
    "Runs/s, concurrent clients, openai SDK over HTTP": (
        "client, server and worker share the machine's CPUs in this benchmark; compare with the "
        "in-process figure of the same run."
    ),
}


def render_charts(drawn: dict[str, str], folder: str) -> list[str]:
    """The charts' section: each chart's image, or why it was not drawn."""
    from benchmarks.charts import CHARTS  # noqa: PLC0415

    lines = ["## Charts", ""]
    for chart in CHARTS:
        done = drawn.get(chart.name, "not drawn")
        if done.startswith("not drawn"):
            lines += [f"{chart.title} ({chart.bench}): {done}.", ""]
        else:
            lines += [f"![{chart.title} ({chart.bench})]({folder}/{done})", ""]
    return lines[:-1]


def render(report: dict[str, Any], drawn: dict[str, str] | None = None, folder: str = "") -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `" + report["command"] + "` on " + report["date"] + " (UTC), from "
        "`docs/benchmarks.json`; re-run it to regenerate everything on your machine. "
        "Each benchmark ran alone, one after the other; what each one measures, and how, is in "
        "`benchmarks/README.md`."
        + (" Quick mode: smoke sizes, not figures." if report["quick"] else ""),
        "",
        "## Machine and versions",
        "",
        "| | |",
        "| --- | --- |",
    ]
    m = report["machine"]
    lines += [
        f"| CPU | {m['cpu']} ({m['cpus']} CPUs) |",
        f"| Memory | {m['memory']} |",
        f"| Platform | {m['platform']} |",
        f"| Load average at the start | {' '.join(str(x) for x in m['load_average'])} |",
    ]
    lines += [f"| {name} | {version} |" for name, version in report["versions"].items()]
    lines += [
        "",
        "## Figures and targets",
        "",
        "| Figure | Measured | Floor, same run | Ratio | Target | Met |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for name in NAMES:
        for f in report["results"].get(name, {}).get("headline", []):
            ratio = f"{f['ratio']:.2f}x" if f.get("ratio") is not None else ""
            note = f" ({f['note']})" if "note" in f else ""
            met = "n/a" if f["met"] is None else "yes" if f["met"] else "**no**"
            lines.append(
                f"| {f['figure']} ({name}) | {f['value']}{note} | {f.get('floor', '')} "
                f"| {ratio} | {f['target']} | {met} |"
            )
    missed = [
        (f"{f['figure']} ({name})", LIMITS[key])
        for name in NAMES
        for f in report["results"].get(name, {}).get("headline", [])
        if f["met"] is False
        for key in LIMITS
        if f["figure"].startswith(key)
    ]
    if missed:
        lines += ["", "## What limits the figures that miss their target", ""]
        by_reason: dict[str, list[str]] = {}
        for figure, why in missed:  # one entry per reason, naming every figure it explains
            by_reason.setdefault(why, []).append(figure)
        lines += [f"- {'; '.join(figures)}: {why}" for why, figures in by_reason.items()]
    if drawn is not None:
        lines += ["", *render_charts(drawn, folder)]
    lines += ["", "## Each benchmark", ""]
    for bench in SUITE:
        result = report["results"].get(bench.name)
        if result is None:
            continue
        lines += [f"### {bench.name}: {bench.what}", ""]
        if "skipped" in result:
            lines += [f"Not run: {result['skipped']}.", ""]
            continue
        status = "" if result["exit_status"] == 0 else f", exit status {result['exit_status']}"
        if result.get("measured_by", "") != f"`{report['command']}` on {report['date']}":
            status += f"; measured by {result.get('measured_by', 'an earlier run')}"
        lines += [
            f"`{result['command']}` ({result['seconds']:.0f} s{status})",
            "",
            "```text",
            result["output"].rstrip(),
            "```",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CI)")
    parser.add_argument("--database-url", default=os.environ.get("ASSISTANTS_TEST_POSTGRES_URL"))
    parser.add_argument("--only", default=",".join(NAMES), help=f"of {','.join(NAMES)}")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--json", default=str(ROOT / "docs" / "benchmarks.json"))
    parser.add_argument("--render", action="store_true", help="only re-render --out from --json")
    args = parser.parse_args()
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    if unknown := set(only) - set(NAMES):
        parser.error(f"unknown {', '.join(sorted(unknown))}: choose from {', '.join(NAMES)}")
    if not args.render:
        command = "python benchmarks/report.py" + (" --quick" if args.quick else "")
        if only != list(NAMES):
            command += f" --only {','.join(only)}"
        report: dict[str, Any] = {
            "command": command,
            "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "quick": args.quick,
            "machine": machine(),
            "versions": versions(args.database_url),
            "results": {},
        }
        with tempfile.TemporaryDirectory() as scratch:
            for bench in SUITE:
                if bench.name not in only:
                    continue
                result = run_bench(bench, args, Path(scratch))
                result["measured_by"] = f"`{command}` on {report['date']}"
                if "output" in result and bench.name in READERS:
                    result["headline"] = READERS[bench.name](result)
                report["results"][bench.name] = result
        earlier = Path(args.json)
        if only != list(NAMES) and earlier.exists():
            # A partial run keeps the other benchmarks' results of the earlier one, marked.
            previous = json.loads(earlier.read_text(encoding="utf-8"))
            for name, result in previous.get("results", {}).items():
                if name not in report["results"]:
                    report["results"][name] = result
            report["command"] = previous.get("command", command)
            report["date"] = previous.get("date", report["date"])
            # The header describes the whole run (its load at the start among them); what was
            # measured again says when, in its own `measured_by`.
            report["machine"] = previous.get("machine", report["machine"])
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    report = json.loads(Path(args.json).read_text(encoding="utf-8"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from benchmarks.charts import draw  # noqa: PLC0415  (matplotlib loads only here)

    # The charts go in a folder named after the markdown, beside it: docs/benchmarks/*.png.
    drawn = draw(report, out.parent / out.stem)
    out.write_text(render(report, drawn, out.stem) + "\n", encoding="utf-8")
    failed = [n for n, r in report["results"].items() if r.get("exit_status", 0) != 0]
    print(f"report: wrote {args.out}, {args.json} and the charts in {out.parent / out.stem}")
    if failed:
        sys.exit(f"report: these benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
