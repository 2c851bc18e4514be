"""What `import assistants` costs: cumulative import time (median of N fresh interpreters).

    .venv/bin/python benchmarks/imports.py            # 5 interpreters each (target: <= 250 ms)
    .venv/bin/python benchmarks/imports.py --quick    # 2, this interpreter only (CI)
    .venv/bin/python benchmarks/imports.py --python /path/to/other/venv/bin/python

What is measured is what a user installs: the README's first command's `pip install -e
'.[server]'`, in a virtualenv of its own built once and cached outside the repository
(`${ASSISTANTS_IMPORTS_CACHE:-~/.cache/assistants-imports}/<pyproject.toml's hash>/`; editable,
so it imports this checkout's code). The interpreter running the script is measured too: a dev
environment's extra packages change the figure (structlog imports rich, pygments and attrs when
they are installed). `--quick` and `--python` measure one interpreter and build nothing.

Each run is `python -X importtime -c "import assistants"` in an empty directory, alternated with
the same for the stack under it (`FLOOR`), so what the project adds is told apart from what
its libraries cost on this machine that day; the table shows
the median cumulative time of `assistants`, then the top-level packages that cost most (median of
their modules' own times), so a new heavy import on the path is named. Compare numbers only
between runs on the same machine (the import time scales with CPU speed and load).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

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


ROOT = Path(__file__).resolve().parent.parent


def server_install() -> str:
    """The interpreter of a `pip install -e '.[server]'` virtualenv (built once, cached)."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    cache = os.environ.get("ASSISTANTS_IMPORTS_CACHE") or Path.home() / ".cache" / (
        "assistants-imports"
    )
    venv = Path(cache) / key / "venv"
    python, done = venv / "bin" / "python", venv / ".complete"
    if not done.exists():
        print(f"building {venv} (pip install -e '.[server]', once)", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-e", f"{ROOT}[server]"],
            check=True,
        )  # fmt: skip
        done.write_text("")
    return str(python)


def measure(label: str, python: str, runs: int, top: int, *, judged: bool = False) -> None:
    """Import `assistants` and the floor alternately in `runs` fresh interpreters; print both
    (with the target when this is the install the target is for)."""
    totals: list[float] = []
    floors: list[float] = []
    by_package: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as cwd:
        one_import(python, cwd)  # warm the file cache and .pyc files
        one_import(python, cwd, FLOOR)
        for _ in range(runs):  # interleaved, so both see the same machine
            total, own = one_import(python, cwd)
            totals.append(total)
            floors.append(one_import(python, cwd, FLOOR)[0])
            for package, ms in own.items():
                by_package[package].append(ms)
    total, floor = statistics.median(totals), statistics.median(floors)
    print(f"\n{label} ({python})")
    print(f"import assistants: median {total:.0f} ms cumulative "
          f"(min {min(totals):.0f}, max {max(totals):.0f}"
          f"{'; target <= 250 ms' if judged else ''})")  # fmt: skip
    print(f"the stack's floor (anyio, pydantic with one model, sqlite3, structlog): median "
          f"{floor:.0f} ms; the project's own share {total - floor:.0f} ms, "
          f"{total / floor:.2f}x the floor")  # fmt: skip
    print(f"{'package':<24}{'own ms (median)':>16}")
    ranked = sorted(by_package.items(), key=lambda kv: -statistics.median(kv[1]))
    for package, values in ranked[:top]:
        print(f"{package:<24}{statistics.median(values):>16.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 interpreters, this one only")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", help="measure this interpreter only")
    parser.add_argument("--top", type=int, default=12, help="packages listed")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, {runs} interpreters each")
    if args.python:
        measure("the given interpreter", args.python, runs, args.top)
        return
    if not args.quick:  # what a user installs first
        measure("the README's install (pip install -e '.[server]')", server_install(), runs,
                args.top, judged=True)  # fmt: skip
    measure("this interpreter (its environment's packages)", sys.executable, runs, args.top)


if __name__ == "__main__":
    main()
