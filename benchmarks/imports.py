"""What `import assistants` costs: cumulative import time (median of N fresh interpreters).

    .venv/bin/python benchmarks/imports.py            # 5 interpreters (target: <= 250 ms)
    .venv/bin/python benchmarks/imports.py --quick    # 2 (CI)
    .venv/bin/python benchmarks/imports.py --python /path/to/other/venv/bin/python

Each run is `python -X importtime -c "import assistants"` in an empty directory, alternated with
the same for the stack under it (`FLOOR`), so what the project adds is told apart from what
its libraries cost on this machine that day; the table shows
the median cumulative time of `assistants`, then the top-level packages that cost most (median of
their modules' own times), so a new heavy import on the path is named. Compare numbers only
between runs on the same machine (the import time scales with CPU speed and load).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

FLOOR = "import anyio, pydantic, sqlite3, structlog\nclass M(pydantic.BaseModel):\n    x: int"
"""The stack's own cost, the floor under `import assistants`: the libraries its import needs
(anyio, which brings asyncio; pydantic, with one model class built; sqlite3; structlog)."""


def one_import(
    python: str, cwd: str, code: str = "import assistants"
) -> tuple[float, dict[str, float]]:
    """(cumulative ms of the top-level imports of `code`, own ms per top-level package) for
    one interpreter."""
    stderr = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        cwd=cwd,
        # .pyc files as an installed package has them: with PYTHONDONTWRITEBYTECODE set (some
        # shells and CI images set it) an editable checkout would recompile every module per run
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    total = 0.0
    own: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.endswith("| imported package"):
            continue
        self_us, cumulative_us, raw = (part for part in line[12:].split("|"))
        name = raw.strip()
        own[name.split(".")[0]] += int(self_us) / 1000
        if raw.startswith(" ") and not raw.startswith("  "):  # imported by `code` itself
            total += int(cumulative_us) / 1000
    return total, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 interpreters")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    parser.add_argument("--top", type=int, default=12, help="packages listed")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, {runs} interpreters")
    totals: list[float] = []
    floors: list[float] = []
    by_package: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as cwd:
        one_import(args.python, cwd)  # warm the file cache and .pyc files
        one_import(args.python, cwd, FLOOR)
        for _ in range(runs):  # interleaved, so both see the same machine
            total, own = one_import(args.python, cwd)
            totals.append(total)
            floors.append(one_import(args.python, cwd, FLOOR)[0])
            for package, ms in own.items():
                by_package[package].append(ms)
    total, floor = statistics.median(totals), statistics.median(floors)
    print(f"import assistants: median {total:.0f} ms cumulative "
          f"(min {min(totals):.0f}, max {max(totals):.0f}; target <= 250 ms)")  # fmt: skip
    print(f"the stack's floor (anyio, pydantic with one model, sqlite3, structlog): median "
          f"{floor:.0f} ms; the project's own share {total - floor:.0f} ms, "
          f"{total / floor:.2f}x the floor")  # fmt: skip
    print(f"{'package':<24}{'own ms (median)':>16}")
    ranked = sorted(by_package.items(), key=lambda kv: -statistics.median(kv[1]))
    for package, values in ranked[: args.top]:
        print(f"{package:<24}{statistics.median(values):>16.1f}")


if __name__ == "__main__":
    main()
