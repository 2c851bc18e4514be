"""The benchmark report's charts: PNGs drawn from `docs/benchmarks.json` with matplotlib.

`benchmarks/report.py` calls `draw(report, folder)` after it writes the JSON (and on `--render`),
and links each chart from the markdown. The charts go in a folder named after the markdown file
(`docs/benchmarks.md` -> `docs/benchmarks/`). Only what the suite measured is drawn: a chart whose
benchmark was skipped, failed or left out is not drawn, and the report says why.

matplotlib draws with its Agg backend (no display), in a fixed size and style, and writes PNGs
without the software's name and version in their metadata, so the same JSON gives the same bytes.
matplotlib is in the `bench` extra (which `dev` includes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter
from matplotlib.typing import RcKeyType

STYLE: dict[RcKeyType, Any] = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 100,
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
OURS, OTHER, FLOOR = "#1f77b4", "#ff7f0e", "#7f7f7f"


@dataclass(frozen=True)
class Chart:
    """One chart: its file name, its title in the markdown and the benchmark it comes from."""

    name: str
    title: str
    bench: str
    draw: Callable[[dict[str, Any]], Figure]


def _latency(figures: dict[str, Any]) -> Figure:
    http, local = figures["http"]["latency"], figures["in_process"]["latency"]
    fig, ax = plt.subplots()
    low, high = min(*http, *local), max(*http, *local)
    bins = [float(b) for b in np.geomspace(max(low, 1e-3), high, 40)]
    for values, label, color in (
        (local, "in-process AsyncClient", FLOOR),
        (http, "openai SDK over HTTP (assistants serve)", OURS),
    ):
        p50, p99 = np.percentile(values, [50, 99])
        ax.hist(values, bins=bins, alpha=0.6, color=color,
                label=f"{label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
        ax.axvline(p50, color=color, linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_xlabel("create_and_poll, create -> completed (ms, log scale)")
    ax.set_ylabel("runs")
    ax.set_title(f"create_and_poll latency, {len(http)} sequential runs a side (test model)")
    ax.legend(loc="best")
    return fig


def _streaming(figures: dict[str, Any]) -> Figure:
    rounds = figures["deltas_per_s"]
    paths = (
        ("model read directly\n(floor)", rounds["floor"], FLOOR),
        ("typed events,\nruns.create(stream=True)", rounds["typed_events"], OURS),
        ("AsyncAssistantEventHandler,\nruns.stream", rounds["handler"], OURS),
    )
    fig, ax = plt.subplots()
    for i, (_, values, color) in enumerate(paths):
        median = float(np.median(values))
        ax.bar(i, median, color=color, alpha=0.7)
        ax.scatter([i] * len(values), values, color="black", s=12, zorder=3)
        ax.annotate(f"{median:,.0f}", (i, median), ha="center", va="bottom",
                    xytext=(0, 3), textcoords="offset points")  # fmt: skip
    ax.set_xticks(range(len(paths)), [p[0] for p in paths])
    ax.set_yscale("log")
    ax.set_ylabel("deltas/s (log scale; bar: median, dots: rounds)")
    ax.set_title("Streaming: one-token deltas/s from a model as fast as it can be")
    return fig


def _scale_out(figures: dict[str, Any]) -> Figure:
    throughput = figures["throughput"]
    fig, ax = plt.subplots()
    for model, label, color, marker in (
        ("fake", "assistants worker", OURS, "o"),
        ("floor", "hand-written worker (floor)", FLOOR, "s"),
    ):
        if model not in throughput:
            continue
        workers = sorted(int(n) for n in throughput[model])
        rates = [throughput[model][str(n)]["runs_per_s"] for n in workers]
        ax.plot(workers, rates, marker=marker, color=color, label=label)
        if model == "fake":
            ideal = [rates[0] * n / workers[0] for n in workers]
            ax.plot(workers, ideal, linestyle=":", color=color, label="linear from 1 worker")
    ax.set_xticks(sorted({int(n) for rates in throughput.values() for n in rates}))
    ax.set_xlabel("worker processes (4 slots each)")
    ax.set_ylabel("runs/s (10th to 90th percentile of completions)")
    ax.set_title("Scale-out on Postgres with a 500 ms model")
    ax.legend(loc="upper left")
    return fig


def _cpu(figures: dict[str, Any]) -> Figure:
    throughput = figures["throughput"]
    sides = [m for m in ("fake", "floor", "tool") if m in throughput]
    names = {"fake": "assistants worker", "floor": "floor", "tool": "tool round trip"}
    workers = sorted({int(n) for m in sides for n in throughput[m]})
    fig, ax = plt.subplots()
    width = 0.8 / len(sides)
    for j, model in enumerate(sides):
        xs = [i + (j - (len(sides) - 1) / 2) * width for i in range(len(workers))]
        mine = [throughput[model].get(str(n), {}).get("worker_cpu_ms", 0.0) for n in workers]
        pg = [throughput[model].get(str(n), {}).get("postgres_cpu_ms", 0.0) for n in workers]
        color = FLOOR if model == "floor" else OURS if model == "fake" else OTHER
        ax.bar(xs, mine, width, color=color, label=f"{names[model]}: worker")
        ax.bar(xs, pg, width, bottom=mine, color=color, alpha=0.4, hatch="//",
               label=f"{names[model]}: Postgres")  # fmt: skip
    ax.set_xticks(range(len(workers)), [f"{n} worker(s)" for n in workers])
    ax.set_ylabel("CPU ms per run")
    ax.set_title("CPU per run (500 ms model), worker and Postgres on its behalf")
    ax.legend(loc="upper left", ncols=2, fontsize=7)
    return fig


CHARTS = (
    Chart("create_and_poll_latency", "`create_and_poll` latency, in-process and over HTTP",
          "server", _latency),
    Chart("streaming_deltas", "Streaming deltas/s", "streaming", _streaming),
    Chart("scale_out", "Scale-out: runs/s against worker processes", "scale", _scale_out),
    Chart("cpu_per_run", "CPU per run", "scale", _cpu),
)  # fmt: skip


def draw(report: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write each chart that has its data into `folder`; chart name -> file name or why not."""
    drawn: dict[str, str] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for chart in CHARTS:
        result = report["results"].get(chart.bench)
        figures = (result or {}).get("figures")
        if result is None:
            drawn[chart.name] = f"not drawn: `{chart.bench}` was not run"
            continue
        if "skipped" in result:
            drawn[chart.name] = f"not drawn: `{chart.bench}` was skipped ({result['skipped']})"
            continue
        if not figures:
            drawn[chart.name] = f"not drawn: `{chart.bench}` left no figures (see its output)"
            continue
        with plt.rc_context(STYLE):
            try:
                fig = chart.draw(figures)
            except (KeyError, ValueError) as exc:
                drawn[chart.name] = f"not drawn: `{chart.bench}`'s figures lack {exc}"
                continue
            fig.tight_layout()
            path = folder / f"{chart.name}.png"
            fig.savefig(path, format="png", metadata={"Software": None})
            plt.close(fig)
        drawn[chart.name] = path.name
    return drawn
