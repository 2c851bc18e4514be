"""Chat completions through the runtime: overhead over a bare httpx call, and over HTTP.

Run:

    .venv/bin/python benchmarks/completions.py            # 300 calls each (about a minute)
    .venv/bin/python benchmarks/completions.py --quick    # smoke sizes (a few seconds; CI)
    .venv/bin/python benchmarks/completions.py --iterations 1000 --warmup 100

The fake model server of `benchmarks/providers.py` runs in a child process on 127.0.0.1 (HTTP/1.1
keep-alive, every server-sent event its own HTTP chunk: 20 text deltas then the usage, or a tool
call in 10 fragments) in OpenAI's, Anthropic's and Gemini's wire formats. Per call, median and
p99 over `--iterations` calls after `--warmup`, the variants alternating call by call:

(a) bare httpx: POST the body our adapter sends, read every line, `json.loads` every `data:`
    payload (the floor any client pays), on the same shared client the router makes;
(b) `client.chat.completions.create(...)` on an in-process `AsyncClient`, whole answer;
(c) the same with `stream=True`, every chunk read;
    targets (b)/(a) and (c)/(a) <= 1.15x.
For context, OpenAI wire format only: (c') the official openai SDK (`AsyncOpenAI`, its own HTTP
client, no retries) streaming the same answer straight from the fake server, every chunk read:
what an app pays today for the chunks as typed objects, without this runtime. It alternates with
(a) in rounds of its own, after the others.

First chunk: (d) the time until the fake server's first `data:` line reaches a bare httpx
reader, against (e) the time until `create(..., stream=True)` has returned and yielded its first
chunk (OpenAI wire format, text answer); target (e) - (d) <= 1 ms at p50.

Phases: for (a), (b) and (c), OpenAI wire format, the median time before the request
leaves, for the request and its body, and after the body ended: where the overhead is.

Server path: (f) `create(model="test")` in-process against (g) the same body POSTed with httpx to
`assistants serve` (a child process, `--no-worker`, on loopback, keep-alive), whole answer;
target (g) - (f) <= 2 ms at p50. Times come from `time.perf_counter_ns`; the output is numbers,
not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

# As a script, this file's directory heads sys.path, and benchmarks/store.py would shadow the
# `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import httpx
import structlog

from assistants import AsyncClient
from benchmarks.providers import (
    KEY,
    TOOL,
    USER_TEXT,
    Sizes,
    Timing,
    Wire,
    alternate,
    fake_server,
    ms,
    raw_httpx,
    wires,
)
from runtime.providers.base import ChatMessage, ModelRequest
from runtime.providers.http import new_http_client

FULL = Sizes(iterations=300, warmup=50)
QUICK = Sizes(iterations=30, warmup=10)
TARGET = 1.15
FIRST_CHUNK_TARGET_MS = 1.0
SERVER_TARGET_MS = 2.0
MODELS = {
    "openai": "local/m",
    "anthropic": "anthropic/claude-bench",
    "gemini": "google/gemini-bench",
}
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": USER_TEXT},
]


def local_client(root: str) -> AsyncClient:
    """An in-process client (SQLite in memory, no worker) whose `local/...` models are the fake
    server's OpenAI-format endpoint, with a key."""
    os.environ["BENCH_KEY"] = KEY
    endpoints = {"local": {"base_url": f"{root}/v1", "api_key_env": "BENCH_KEY"}}
    return AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", worker=False, endpoints=endpoints
    )


def body_for(wire: Wire, tools: list[Any]) -> dict[str, Any]:
    """The JSON body the wire's adapter sends for `MESSAGES` (what the bare call POSTs)."""
    chat = [ChatMessage(m["role"], m["content"]) for m in MESSAGES]
    return wire.provider.build_body(ModelRequest(model=wire.model, messages=chat, tools=tools))


async def ours(client: AsyncClient, model: str, tools: list[Any]) -> object:
    return await client.chat.completions.create(model=model, messages=MESSAGES, tools=tools)


async def ours_streamed(client: AsyncClient, model: str, tools: list[Any]) -> int:
    chunks = 0
    stream = await client.chat.completions.create(
        model=model, messages=MESSAGES, tools=tools, stream=True
    )
    async for _ in stream:
        chunks += 1
    return chunks


def openai_sdk_streamed(root: str) -> Callable[[list[Any]], Callable[[], Awaitable[object]]] | None:
    """(c'): the openai SDK's streamed call to the fake server, per `tools`, on the SDK's own
    HTTP client; None without the SDK (it comes with the `dev` extra)."""
    try:
        import openai  # noqa: PLC0415 - optional: context only
    except ImportError:
        return None
    sdk = openai.AsyncOpenAI(base_url=f"{root}/v1", api_key=KEY, max_retries=0)
    messages: Any = MESSAGES

    def call(tools: list[Any]) -> Callable[[], Awaitable[object]]:
        async def streamed() -> int:
            chunks = 0
            stream = await sdk.chat.completions.create(
                model="m", messages=messages, tools=tools or openai.omit, stream=True
            )
            async for _ in stream:
                chunks += 1
            return chunks

        return streamed

    return call


async def overhead(root: str, sizes: Sizes) -> list[tuple[str, str, list[Timing]]]:
    """(a), (b), (c) per wire format and answer; (c') too for OpenAI's."""
    os.environ.update(
        ANTHROPIC_BASE_URL=root, ANTHROPIC_API_KEY=KEY,
        GEMINI_BASE_URL=f"{root}/v1beta", GEMINI_API_KEY=KEY,
    )  # fmt: skip
    rows: list[tuple[str, str, list[Timing]]] = []
    async with local_client(root) as client:
        http = client.chat.completions._ctx.router.http
        sdk = openai_sdk_streamed(root)
        for answer in ("text", "tool"):
            tools = [TOOL] if answer == "tool" else []
            for wire in wires(root, http):
                if answer == "tool" and wire.name != "openai":
                    continue
                body = body_for(wire, tools)
                model = MODELS[wire.name]
                raw = partial(raw_httpx, http, wire.url, body, wire.headers)
                timings = await alternate(
                    [
                        raw,
                        partial(ours, client, model, tools),
                        partial(ours_streamed, client, model, tools),
                    ],
                    sizes,
                )
                if sdk is not None and wire.name == "openai":
                    # A pair of its own: the SDK's allocations would slow whatever runs after it.
                    timings += await alternate([raw, sdk(tools)], sizes)
                rows.append((wire.name, answer, timings))
    return rows


async def first_chunks(root: str, sizes: Sizes) -> tuple[Timing, Timing]:
    """(d) the provider's first `data:` line to a bare reader; (e) our first chunk."""
    endpoints = {"local": {"base_url": f"{root}/v1"}}
    async with (
        new_http_client(read_timeout=600.0) as http,
        AsyncClient(
            database_url="sqlite+aiosqlite:///:memory:", worker=False, endpoints=endpoints
        ) as client,
    ):
        wire = wires(root, http)[0]
        request = ModelRequest(model=wire.model, messages=[ChatMessage("user", USER_TEXT)])
        body = wire.provider.build_body(request)
        bare, mine = Timing(), Timing()

        async def provider_first_byte() -> None:
            t0 = time.perf_counter_ns()
            async with http.stream("POST", wire.url, json=body, headers=wire.headers) as resp:
                first = True
                async for line in resp.aiter_lines():  # read to the end: the connection is reused
                    if first and line.startswith("data:"):
                        json.loads(line[5:])
                        bare.samples.append(time.perf_counter_ns() - t0)
                        first = False

        async def our_first_chunk() -> None:
            t0 = time.perf_counter_ns()
            stream = await client.chat.completions.create(
                model="local/m", messages=[{"role": "user", "content": USER_TEXT}], stream=True
            )
            await stream.__anext__()
            mine.samples.append(time.perf_counter_ns() - t0)
            async for _ in stream:  # read to the end: the connection is reused
                pass

        calls: list[Callable[[], Awaitable[object]]] = [provider_first_byte, our_first_chunk]
        for _ in range(sizes.warmup):
            for call in calls:
                await call()
        bare.samples.clear()
        mine.samples.clear()
        for i in range(sizes.iterations):
            for call in calls if i % 2 == 0 else calls[::-1]:
                await call()
    return bare, mine


@contextmanager
def served() -> Iterator[str]:
    """`assistants serve --port 0 --no-worker` in a child process: its base URL."""
    database = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    command = [sys.executable, "-m", "assistants.cli", "serve", "--port", "0", "--no-worker",
               "--database-url", database]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        for line in server.stderr:
            found = re.search(r"url=(http://\S+/v1)", line)
            if found:
                threading.Thread(target=server.stderr.read, daemon=True).start()
                yield found.group(1)
                return
        raise SystemExit(f"assistants serve did not start (exit code {server.wait()})")
    finally:
        server.terminate()
        server.wait(30)


async def server_path(base_url: str, sizes: Sizes) -> tuple[Timing, Timing]:
    """(f) in-process and (g) over HTTP, on the `test` model."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": USER_TEXT}]
    body = {"model": "test", "messages": messages}
    async with (
        httpx.AsyncClient(base_url=base_url, headers={"authorization": "Bearer x"}) as http,
        AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client,
    ):

        async def in_process() -> object:
            return await client.chat.completions.create(model="test", messages=messages)

        async def over_http() -> object:
            response = await http.post("/chat/completions", json=body)
            response.raise_for_status()
            return response.json()

        local, remote = await alternate([in_process, over_http], sizes)
    return local, remote


Phases = dict[str, list[tuple[int, int, int]]]


async def phases(root: str, sizes: Sizes) -> Phases:
    """Where the time of (a), (b) and (c) goes, OpenAI wire format, text answer: before
    the request leaves, the request and its body, and after the body ended (medians, us)."""
    async with local_client(root) as client:
        http = client.chat.completions._ctx.router.http
        wire = wires(root, http)[0]
        body = body_for(wire, [])
        stamps: dict[str, int] = {}
        opened = http.stream

        @asynccontextmanager
        async def stamped(*args: Any, **kwargs: Any) -> AsyncIterator[httpx.Response]:
            stamps["sent"] = time.perf_counter_ns()
            async with opened(*args, **kwargs) as response:
                yield response
                stamps["ended"] = time.perf_counter_ns()

        http.stream = stamped  # type: ignore[method-assign]  # the measurement's own wrapper
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "(a) bare httpx": partial(raw_httpx, http, wire.url, body, wire.headers),
            "(b) create": partial(ours, client, "local/m", []),
            "(c) stream": partial(ours_streamed, client, "local/m", []),
        }
        rows: Phases = {name: [] for name in calls}
        for i in range(sizes.warmup + sizes.iterations):
            for name, call in list(calls.items())[:: 1 if i % 2 else -1]:
                t0 = time.perf_counter_ns()
                await call()
                t1 = time.perf_counter_ns()
                if i >= sizes.warmup:
                    sent, ended = stamps["sent"], stamps["ended"]
                    rows[name].append((sent - t0, ended - sent, t1 - ended))
    return rows


def print_phases(rows: Phases) -> None:
    print("\nphases (openai, text), microseconds at the median")
    print(f"{'variant':<16}{'before sending':>16}{'request+body':>14}{'after the body':>16}")
    for name, samples in rows.items():
        cells = [statistics.median(column) / 1000 for column in zip(*samples, strict=True)]
        print(f"{name:<16}{cells[0]:>16.1f}{cells[1]:>14.1f}{cells[2]:>16.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--iterations", type=int, help="timed calls per variant")
    parser.add_argument("--warmup", type=int, help="untimed calls per variant first")
    args = parser.parse_args()
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        iterations=args.iterations if args.iterations is not None else base.iterations,
        warmup=args.warmup if args.warmup is not None else base.warmup,
    )
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"completions benchmark: Python {platform.python_version()}, httpx {httpx.__version__}, "
        f"os.cpu_count()={os.cpu_count()}, {platform.system()} {platform.machine()}"
    )
    print(f"sizes: {sizes}; fake provider in a child process on loopback")
    started = time.perf_counter()
    with fake_server() as root:
        rows = anyio.run(overhead, root, sizes)
        bare, mine = anyio.run(first_chunks, root, sizes)
        split = anyio.run(phases, root, sizes)
    with served() as base_url:
        local, remote = anyio.run(server_path, base_url, sizes)

    print("\nper call, milliseconds (median / p99)")
    head = (
        f"{'wire':<10} {'answer':<6} {'(a) bare httpx':>17} {'(b) create':>17} {'(c) stream':>17}"
    )
    print(f"{head} {'(b)/(a)':>8} {'(c)/(a)':>8} {'<=1.15x':>8}")
    for wire, answer, (raw, whole, streamed, *_) in rows:
        cells = " ".join(f"{ms(t.median):>8} {ms(t.p99):>8}" for t in (raw, whole, streamed))
        b, c = whole.median / raw.median, streamed.median / raw.median
        ok = "yes" if max(b, c) <= TARGET else "NO"
        print(f"{wire:<10} {answer:<6} {cells} {b:>7.2f}x {c:>7.2f}x {ok:>8}")
    for wire, answer, (raw, _, streamed, *sdk) in rows:
        if sdk:
            floor, direct = sdk
            print(
                f"(c') openai SDK straight to the provider, stream ({wire}, {answer}): "
                f"{ms(direct.median)} ms median, {direct.median / floor.median:.2f}x (a) "
                f"timed in turn with it; (c) through this runtime: "
                f"{streamed.median / raw.median:.2f}x (a)"
            )
    added = (mine.median - bare.median) / 1e6
    verdict = "yes" if added <= FIRST_CHUNK_TARGET_MS else "NO"
    print(
        f"\nfirst chunk (openai, text): (d) provider first line {ms(bare.median)} ms, "
        f"(e) our first chunk {ms(mine.median)} ms, added {added:.3f} ms at p50 "
        f"(target <= {FIRST_CHUNK_TARGET_MS:g} ms: {verdict})"
    )
    added = (remote.median - local.median) / 1e6
    verdict = "yes" if added <= SERVER_TARGET_MS else "NO"
    print(
        f"server path (test model): (f) in-process {ms(local.median)} ms, (g) over HTTP "
        f"{ms(remote.median)} ms, added {added:.3f} ms at p50 "
        f"(target <= {SERVER_TARGET_MS:g} ms: {verdict})"
    )
    print_phases(split)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
