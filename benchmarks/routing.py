"""Routing benchmark: the server's route table as shipped against FastAPI's `include_router`.

Run:

    .venv/bin/python benchmarks/routing.py            # 2,000 requests per case and table
    .venv/bin/python benchmarks/routing.py --quick    # smoke sizes (CI)

Two apps from `create_app` on one in-process `AsyncClient` (SQLite in memory, no worker): the
server as shipped, whose routes sit in the app's own list (the calls made most often first), and
the same app with the same routers added by FastAPI's `include_router` in their former order (the
one FastAPI's documentation shows; since FastAPI 0.137 each included router is a node that a
request searches route by route, twice). Each request goes through the whole ASGI app (every
middleware, the route, the store) over `httpx.ASGITransport`, no socket. Per case, the median
and p99 per request over `--requests`, the two apps alternating in rounds of 50, and their ratio:

- `POST /v1/chat/completions` on the `test` model;
- `GET /v1/threads/{id}/runs/{id}`: a run's polling;
- `GET /v1/assistants/{id}`;
- `GET /v1/vector_stores/{id}`: a route near the end of both tables.

Also printed: the time to find the route alone (the table's routes asked in order until one
matches fully, as the app's router does; with `include_router`, the first of its two searches,
the second being the same within the router found), per path, for each table. The output is
numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import fastapi
import httpx
import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match

from assistants import AsyncClient
from assistants.server import KeyRing, ServerSettings, create_app
from assistants.server import app as server_app

# The routers' order before the calls made most often were put first (their modules' names).
FORMER_ORDER = tuple(
    import_module(f"assistants.server.{name}_routes").router
    for name in ("health", "assistants", "threads", "messages", "runs", "steps", "models",
                 "prompts", "completions", "tracing", "files", "vector_stores")
)  # fmt: skip


def included(client: AsyncClient) -> FastAPI:
    """The app with its routers added by `include_router`, as FastAPI's documentation does."""
    app = create_app(client, ServerSettings(keys=KeyRing(), inspector=False), manage_client=False)
    ours = {id(route) for router in server_app.ROUTERS for route in router.routes}
    app.router.routes[:] = [r for r in app.router.routes if id(r) not in ours]
    for router in FORMER_ORDER:
        app.include_router(router)
    return app


def lookup_us(app: FastAPI, method: str, path: str, rounds: int) -> float:
    """Microseconds to find the route of `method path`, as the app's router does (median)."""
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": "",
                             "headers": [], "app": app}  # fmt: skip
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for route in app.router.routes:
            if route.matches(dict(scope))[0] == Match.FULL:
                break
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1000


Case = tuple[str, str, str, Any]  # label, method, path, JSON body


async def cases(client: AsyncClient) -> list[Case]:
    """The requests timed, on objects made for them."""
    assistant = await client.beta.assistants.create(model="test")
    thread = await client.beta.threads.create()
    run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    store = await client.vector_stores.create(name="bench")
    return [
        ("chat.completions.create", "POST", "/v1/chat/completions",
         {"model": "test", "messages": [{"role": "user", "content": "Hello"}]}),
        ("runs.retrieve", "GET", f"/v1/threads/{thread.id}/runs/{run.id}", None),
        ("assistants.retrieve", "GET", f"/v1/assistants/{assistant.id}", None),
        ("vector_stores.retrieve", "GET", f"/v1/vector_stores/{store.id}", None),
    ]  # fmt: skip


async def timed(
    calls: Mapping[str, Callable[[], Awaitable[httpx.Response]]], requests: int
) -> dict[str, list[int]]:
    """Nanoseconds per request for each app, alternating in rounds of 50 after 50 untimed."""
    samples: dict[str, list[int]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(50):
            (await call()).raise_for_status()
    for i in range(max(1, requests // 50)):
        order = list(calls.items()) if i % 2 == 0 else list(calls.items())[::-1]
        for name, call in order:
            for _ in range(50):
                t0 = time.perf_counter_ns()
                response = await call()
                samples[name].append(time.perf_counter_ns() - t0)
                response.raise_for_status()
    return samples


async def measure(requests: int) -> None:
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        settings = ServerSettings(keys=KeyRing(), inspector=False)
        apps = {
            "shipped": create_app(client, settings, manage_client=False),
            "include_router": included(client),
        }
        assert not any(isinstance(r, APIRoute) for r in apps["include_router"].router.routes)
        todo = await cases(client)
        http = {
            name: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
            )
            for name, app in apps.items()
        }
        print(
            f"\nper request through the whole app, microseconds (median / p99; {requests} "
            "requests per case and table, alternating in rounds of 50)"
        )
        print(f"{'case':<26}{'shipped':>18}{'include_router':>20}{'ratio':>8}")
        for label, method, path, body in todo:
            calls = {name: partial(c.request, method, path, json=body) for name, c in http.items()}
            samples = await timed(calls, requests)
            cells = [
                f"{statistics.median(s) / 1000:>8.0f} {sorted(s)[int(0.99 * len(s))] / 1000:>8.0f}"
                for s in samples.values()
            ]
            ratio = statistics.median(samples["shipped"]) / statistics.median(
                samples["include_router"]
            )
            print(f"{label:<26}{cells[0]:>18}{cells[1]:>20}{ratio:>7.2f}x")
        print("\nfinding the route alone, microseconds (median)")
        print(f"{'request':<50}{'shipped':>10}{'include_router':>16}")
        for _, method, path, _ in todo:
            found = [lookup_us(app, method, path, max(200, requests // 4)) for app in apps.values()]
            print(f"{method + ' ' + path[:43]:<50}{found[0]:>10.1f}{found[1]:>16.1f}")
        for c in http.values():
            await c.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--requests", type=int, help="timed requests per case and table")
    args = parser.parse_args()
    requests = args.requests or (200 if args.quick else 2000)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"routing benchmark: Python {platform.python_version()}, FastAPI {fastapi.__version__}, "
        f"{platform.system()} {platform.machine()}"
    )
    started = time.perf_counter()
    anyio.run(measure, requests)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
