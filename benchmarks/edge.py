"""Edge benchmark: how long `/health` waits while large or hostile bodies are being posted.

Run:

    .venv/bin/python benchmarks/edge.py            # 5 posts of each body (about half a minute)
    .venv/bin/python benchmarks/edge.py --quick    # 2 posts of each (CI)

`assistants serve` (SQLite file, no keys, embedded worker) runs as its own process on a loopback
port. In this process, one thread posts a body again and again while the main thread probes the
server's event loop: `GET /health` back to back, each answer's latency being the time the loop
took to get to it. Idle latency is probed the same way first. Bodies:

- `parts-300k`: a message of 300,000 text parts (9.3 MB), the body that once took 11 s to store
  while /health waited 10.9 s (now refused: at most 100 parts);
- `schema-1mb`: an assistant with a 1 MB function schema (taken: parsed in a worker thread);
- `instructions-15mb`: 15 MB of instructions (refused: at most 256,000 characters);
- `over-limit`: 17 MB, over the 16 MiB body limit (413 before it is read whole).

Printed per body: status, post time (median), /health latency while posting (median, p99, max)
and its ratio to idle. The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

SERVE = [sys.executable, "-m", "assistants.cli", "--log-json", "serve"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bodies() -> dict[str, tuple[str, bytes]]:
    parts = [{"type": "text", "text": "x"}] * 300_000
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(25_000)}}
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    return {
        "parts-300k": ("messages", json.dumps({"role": "user", "content": parts}).encode()),
        "schema-1mb": ("assistants", json.dumps({"model": "test", "tools": [tool]}).encode()),
        "instructions-15mb": (
            "assistants",
            json.dumps({"model": "test", "instructions": "x" * 15_000_000}).encode(),
        ),
        "over-limit": (
            "assistants",
            json.dumps({"model": "test", "instructions": "x" * 17_000_000}).encode(),
        ),
    }


def _probe(http: httpx.Client, until: threading.Event) -> list[float]:
    """`/health` latencies (ms), back to back, until `until` is set."""
    out: list[float] = []
    while not until.is_set():
        start = time.perf_counter_ns()
        http.get("/health").raise_for_status()
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def _measure(
    base: str, probe: httpx.Client, path: str, body: bytes, repeats: int
) -> tuple[list[float], set[int], tuple[float, float, float]]:
    """Post `body` `repeats` times from a thread while probing /health: post times (ms), the
    statuses answered, and the probe's (median, p99, max) meanwhile."""
    posts: list[float] = []
    statuses: set[int] = set()
    done = threading.Event()

    def post() -> None:
        with httpx.Client(base_url=base, timeout=120) as poster:
            for _ in range(repeats):
                start = time.perf_counter_ns()
                response = poster.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
                posts.append((time.perf_counter_ns() - start) / 1e6)
                statuses.add(response.status_code)
        done.set()

    poster = threading.Thread(target=post)
    poster.start()
    busy = _summary(_probe(probe, done))
    poster.join()
    return posts, statuses, busy


def _summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered), p99, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    print(f"python {platform.python_version()}, cpu_count {os.cpu_count()}, repeats {repeats}")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'edge.db'}"
        server = subprocess.Popen(
            [*SERVE, "--port", str(port), "--database-url", url],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stderr is not None
            for line in server.stderr:
                if '"server_started"' in line:
                    break
            threading.Thread(target=server.stderr.read, daemon=True).start()
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=120) as probe:
                stop = threading.Event()
                timer = threading.Timer(2.0, stop.set)
                timer.start()
                idle = _summary(_probe(probe, stop))
                print(
                    f"idle /health: median {idle[0]:.2f} ms, p99 {idle[1]:.2f}, max {idle[2]:.2f}"
                )
                thread_id = probe.post("/v1/threads", json={}).json()["id"]
                print(
                    f"{'body':<18} {'MB':>5} {'status':>6} {'post ms':>9} "
                    f"{'health med':>10} {'p99':>8} {'max':>8} {'max/idle-med':>12}"
                )
                for name, (route, body) in _bodies().items():
                    path = (
                        f"/v1/threads/{thread_id}/messages"
                        if route == "messages"
                        else "/v1/assistants"
                    )
                    posts, statuses, busy = _measure(base, probe, path, body, repeats)
                    shown = "/".join(map(str, sorted(statuses)))
                    print(
                        f"{name:<18} {len(body) / 1e6:>5.1f} {shown:>6} "
                        f"{statistics.median(posts):>9.1f} {busy[0]:>10.2f} {busy[1]:>8.2f} "
                        f"{busy[2]:>8.2f} {busy[2] / idle[0]:>12.1f}"
                    )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)


if __name__ == "__main__":
    main()
