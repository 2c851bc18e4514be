"""What one logged 500 costs the server: exceptions rendered plain against rich with locals.

Run:

    .venv/bin/python benchmarks/errors.py            # 3 rounds of 5 failing requests a side
    .venv/bin/python benchmarks/errors.py --quick    # smoke sizes (CI)

`assistants serve`'s app under uvicorn in a background thread, on loopback, with a model whose
call raises an unexpected error, so `POST /v1/chat/completions` is a 500 whose traceback the
server logs (through the engine, FastAPI and the middleware: the frames a real failure has).
The server answers the 500 first, then renders the traceback on its event loop, so the next
request waits for that rendering. Requests go one after another, in two set-ups alternating by
round, in one process:

- `plain`: the library's default until the application chooses structlog processors
  (`store.log.PLAIN_PROCESSORS`): the traceback without locals;
- `rich`: structlog's default console chain chosen by the application (`ConsoleRenderer()`,
  whose exception formatter is rich with `show_locals=True`), as the library rendered them
  before it had a default of its own.

Reported, per logged 500: the median wall time between consecutive responses and the process
CPU time (both sides of the loopback), with a `GET /health` baseline, and the ratio
rich/plain. Output goes to a stdlib handler that keeps its size, as a configured app's would
write it; each batch's time runs until its last traceback is logged.
The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import structlog
import uvicorn

from assistants import AsyncClient
from assistants.server import KeyRing, ServerSettings, create_app
from assistants.testing import FunctionModel, ModelRequest
from store.log import PLAIN_PROCESSORS


def failing(request: ModelRequest) -> str:
    """A model call that fails the way a bug does: an unexpected exception."""
    raise RuntimeError(f"unexpected failure after {len(request.messages)} messages")


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class Counted(logging.Handler):
    """Keeps the size of what is logged and signals each `request_failed` written."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = threading.Semaphore(0)
        self.size = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        self.size += len(text)
        if "request_failed" in text:
            self.failed.release()


def measure(
    http: httpx.Client, url: str, body: Any, count: int, sink: Counted | None = None
) -> tuple[float, float, int]:
    """(wall ms per request, CPU ms per request, status) over `count` sequential requests,
    until the `sink` has the traceback of each (the server logs it after answering)."""
    status = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        response = http.post(url, json=body) if body is not None else http.get(url)
        status = response.status_code
    for _ in range(count if sink is not None else 0):
        if sink is not None and not sink.failed.acquire(timeout=120):
            raise SystemExit("a 500 was not logged")
    per = 1000 / count
    return (time.perf_counter() - wall) * per, (time.process_time() - cpu) * per, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--rounds", type=int, help="rounds a side")
    parser.add_argument("--requests", type=int, help="failing requests a round")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    count = args.requests or (2 if args.quick else 5)
    print(
        f"errors benchmark: Python {platform.python_version()}, structlog {structlog.__version__}"
        f", {os.cpu_count()} CPUs; {rounds} rounds x {count} requests a side"
    )
    sink = Counted()
    logging.getLogger("assistants").addHandler(sink)
    logging.getLogger("assistants").setLevel(logging.INFO)
    defaults = list(structlog.get_config()["processors"])
    chains: dict[str, list[Any]] = {
        "plain": defaults,  # untouched: the library renders with PLAIN_PROCESSORS
        "rich": [*defaults[:-1], structlog.dev.ConsoleRenderer(colors=False)],
    }
    client = AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        worker=False,
        providers={"broken": FunctionModel(failing, name="broken")},
        tracing=False,
    )
    app = create_app(client, ServerSettings(keys=KeyRing([], secret=b"bench")))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    if not server.ready.wait(30):
        raise SystemExit("the server did not start")
    body = {"model": "broken", "messages": [{"role": "user", "content": "hi"}]}
    results: dict[str, list[tuple[float, float]]] = {"plain": [], "rich": [], "baseline": []}
    sizes: dict[str, list[int]] = {"plain": [], "rich": []}
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    completions = f"{base}/v1/chat/completions"
    try:
        with httpx.Client(headers={"authorization": "Bearer x"}, timeout=120) as http:
            for name in ("plain", "rich"):  # warm-up: imports, first renders
                structlog.configure(processors=chains[name])
                measure(http, completions, body, 2, sink)
            for i in range(rounds):
                order = ("plain", "rich") if i % 2 == 0 else ("rich", "plain")
                for name in order:
                    structlog.configure(processors=chains[name])
                    before = sink.size
                    wall, cpu, status = measure(http, completions, body, count, sink)
                    assert status == 500, status
                    results[name].append((wall, cpu))
                    sizes[name].append((sink.size - before) // count)
                wall, cpu, status = measure(http, f"{base}/health", None, count)
                assert status == 200, status
                results["baseline"].append((wall, cpu))
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        structlog.configure(processors=defaults)
    print(
        f"log text per 500: plain {statistics.median(sizes['plain']):,.0f} characters, "
        f"rich {statistics.median(sizes['rich']):,.0f}"
    )
    print(f"{'set-up':<10} {'wall ms/request':>16} {'CPU ms/request':>15}")
    medians: dict[str, tuple[float, float]] = {}
    for name, rows in results.items():
        medians[name] = (
            statistics.median(r[0] for r in rows),
            statistics.median(r[1] for r in rows),
        )
        print(f"{name:<10} {medians[name][0]:>16.1f} {medians[name][1]:>15.1f}")
    plain, rich = medians["plain"], medians["rich"]
    print(f"rich/plain: wall x{rich[0] / plain[0]:.1f}, CPU x{rich[1] / plain[1]:.1f}")
    assert PLAIN_PROCESSORS[-1] is not chains["rich"][-1]


if __name__ == "__main__":
    main()
