"""Provider overhead: our adapters and a bare httpx call reading the same local stream.

Run:

    .venv/bin/python benchmarks/providers.py            # 300 calls each (about half a minute)
    .venv/bin/python benchmarks/providers.py --quick    # smoke sizes (a few seconds; CI)
    .venv/bin/python benchmarks/providers.py --iterations 1000 --warmup 100

A fake model server runs in a separate process on 127.0.0.1 (`http.server`, HTTP/1.1 keep-alive,
TCP_NODELAY). It speaks three wire formats and streams every server-sent event as its own HTTP
chunk, always the same canned answer:

- OpenAI chat completions (`POST /v1/chat/completions`), Anthropic Messages (`POST /v1/messages`)
  and Gemini (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`);
- "text": 20 text deltas, then the finish reason and the usage;
- "tool": one function call whose arguments come in 10 fragments (Gemini sends whole calls: one
  event), when the request carries tools.

For each format and answer, per model call (median and p99 over `--iterations` calls, after
`--warmup` calls; the variants alternate call by call, both on the one shared client the router
makes, `runtime.providers.http.new_http_client`):

(a) bare httpx: POST the same JSON body with the same headers, read every line of the stream and
    `json.loads` each `data:` payload: what any client must do, the floor;
(b) the adapter: `provider.stream(request)` (`OpenAICompatibleProvider`, `AnthropicProvider`,
    `GeminiProvider`) consumed to its `Finish`; target (b)/(a) <= 1.2x: the adapter's own cost;
(b') the same adapter on the opt-in aiohttp transport (`provider_http_transport="aiohttp"`,
    a client of its own), with its ratio to (a);
(c) a whole one-turn run through `AsyncClient(database_url="sqlite+aiosqlite:///:memory:")`:
    `runs.create_and_poll` on a thread holding one user message, create -> completed, reported as
    is (it includes the store writes, the worker's claim and the poll wake-up). The model is
    `local/m` with the named endpoint `local` pointing at the fake server, and
    `anthropic/claude-bench` and `google/gemini-bench` through ANTHROPIC_BASE_URL and
    GEMINI_BASE_URL (set for this process). The same run on the built-in `test` model, which
    makes no HTTP call, is printed for context.

Times come from `time.perf_counter_ns`. The output is numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# As a script, this file's directory heads sys.path, and benchmarks/store.py would shadow the
# `store` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import httpx
import structlog

from assistants import AsyncClient
from runtime.providers.anthropic import AnthropicProvider
from runtime.providers.base import ChatMessage, ModelRequest, Provider
from runtime.providers.gemini import GeminiProvider
from runtime.providers.http import new_http_client
from runtime.providers.openai_compat import OpenAICompatibleProvider

USER_TEXT = "Hello there, what is the weather like in Paris today?"
TEXT_DELTAS = 20
ARGUMENT_FRAGMENTS = 10
ARGUMENTS = json.dumps(
    {"city": "Paris", "country": "France", "unit": "celsius", "days": 3, "detail": "hourly"}
)
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
KEY = "bench-key"
AIOHTTP, AIOHTTP_RATIO = "(b') aiohttp", "(b')/(a)"
TARGET = 1.2


@dataclass(frozen=True)
class Sizes:
    iterations: int
    warmup: int


FULL = Sizes(iterations=300, warmup=50)
QUICK = Sizes(iterations=30, warmup=10)

# --- the fake server (its own process) ---------------------------------------------------------


def _event(payload: Any, name: str | None = None) -> bytes:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()


def _fragments(text: str, count: int) -> list[str]:
    size = math.ceil(len(text) / count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _openai(tool: bool) -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _event({"id": "c1", "object": "chat.completion.chunk", "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""})]
    if tool:
        first = {"index": 0, "id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": ""}}  # fmt: skip
        events.append(chunk({"tool_calls": [first]}))
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
            for part in _fragments(ARGUMENTS, ARGUMENT_FRAGMENTS)
        ]
        events.append(chunk({}, "tool_calls"))
    else:
        events += [chunk({"content": f"word{i} "}) for i in range(TEXT_DELTAS)]
        events.append(chunk({}, "stop"))
    usage = {"prompt_tokens": 20, "completion_tokens": 20, "total_tokens": 40}
    events.append(_event({"id": "c1", "object": "chat.completion.chunk", "choices": [],
                          "usage": usage}))  # fmt: skip
    return [*events, b"data: [DONE]\n\n"]


def _anthropic(tool: bool) -> list[bytes]:
    message: dict[str, Any] = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-bench",
        "content": [], "stop_reason": None, "usage": {"input_tokens": 20, "output_tokens": 1},
    }  # fmt: skip
    events = [_event({"type": "message_start", "message": message}, "message_start")]
    if tool:
        block = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": part}
                  for part in _fragments(ARGUMENTS, ARGUMENT_FRAGMENTS)]  # fmt: skip
    else:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": f"word{i} "} for i in range(TEXT_DELTAS)]
    start = {"type": "content_block_start", "index": 0, "content_block": block}
    events.append(_event(start, "content_block_start"))
    for delta in deltas:
        payload = {"type": "content_block_delta", "index": 0, "delta": delta}
        events.append(_event(payload, "content_block_delta"))
    events.append(_event({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    end = {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None}
    events.append(_event({"type": "message_delta", "delta": end,
                          "usage": {"output_tokens": 20}}, "message_delta"))  # fmt: skip
    return [*events, _event({"type": "message_stop"}, "message_stop")]


def _gemini(tool: bool) -> list[bytes]:
    def response(part: dict[str, Any], last: bool) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
        payload: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-bench"}
        if last:
            candidate["finishReason"] = "STOP"
            payload["usageMetadata"] = {"promptTokenCount": 20, "candidatesTokenCount": 20,
                                        "totalTokenCount": 40}  # fmt: skip
        return _event(payload)

    if tool:
        call = {"name": "get_weather", "args": json.loads(ARGUMENTS)}
        return [response({"functionCall": call}, last=True)]
    return [response({"text": f"word{i} "}, last=i == TEXT_DELTAS - 1) for i in range(TEXT_DELTAS)]


def _chunked(events: list[bytes]) -> list[bytes]:
    return [b"%x\r\n%s\r\n" % (len(event), event) for event in events] + [b"0\r\n\r\n"]


ANSWERS = {
    (wire, tool): _chunked(make(tool))
    for wire, make in (("openai", _openai), ("anthropic", _anthropic), ("gemini", _gemini))
    for tool in (False, True)
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client's pool reuses connections
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        path = self.path.split("?")[0]
        if path.endswith("/chat/completions"):
            wire = "openai"
        elif path.endswith("/v1/messages"):
            wire = "anthropic"
        elif path.endswith(":streamGenerateContent"):
            wire = "gemini"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in ANSWERS[wire, b'"tools"' in raw]:
            self.wfile.write(piece)  # one HTTP chunk (one write) per event

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve() -> None:
    """Run the fake server until killed; print its port first."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


@contextmanager
def fake_server() -> Iterator[str]:
    """The root URL of a fake server running in a child process."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(10)


# --- measuring ---------------------------------------------------------------------------------


def percentile(samples: list[int], q: float) -> float:
    """Nearest-rank percentile."""
    if not samples:
        return math.nan
    s = sorted(samples)
    return float(s[min(len(s), max(1, math.ceil(q * len(s)))) - 1])


@dataclass
class Timing:
    samples: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return percentile(self.samples, 0.5)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)


async def alternate(calls: list[Callable[[], Awaitable[object]]], sizes: Sizes) -> list[Timing]:
    """Time each call once per round, the order reversed every other round, after a warm-up."""
    timings = [Timing() for _ in calls]
    for _ in range(sizes.warmup):
        for call in calls:
            await call()
    for i in range(sizes.iterations):
        order = list(enumerate(calls))
        for index, call in order if i % 2 == 0 else reversed(order):
            t0 = time.perf_counter_ns()
            await call()
            timings[index].samples.append(time.perf_counter_ns() - t0)
    return timings


async def raw_httpx(client: httpx.AsyncClient, url: str, body: Any, headers: Any) -> int:
    """POST, read every line, parse every `data:` payload: what any client must do."""
    events = 0
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data != "[DONE]":
                    json.loads(data)
                    events += 1
    return events


async def drain(provider: Provider, request: ModelRequest) -> int:
    chunks = 0
    async with aclosing(provider.stream(request)) as stream:
        async for _ in stream:
            chunks += 1
    return chunks


@dataclass
class Row:
    wire: str
    answer: str
    raw: Timing
    adapter: Timing
    aiohttp: Timing


@dataclass(frozen=True)
class Wire:
    """One wire format: its adapter, and the URL, model and headers the adapter sends."""

    name: str
    provider: OpenAICompatibleProvider | AnthropicProvider | GeminiProvider
    url: str
    model: str
    headers: dict[str, str]


def wires(root: str, client: httpx.AsyncClient) -> list[Wire]:
    """Each wire format's adapter, set up as the router sets it up (retries and all)."""
    stream = "text/event-stream"
    return [
        Wire(
            "openai",
            OpenAICompatibleProvider("local", base_url=f"{root}/v1", api_key=KEY, client=client),
            f"{root}/v1/chat/completions",
            "m",
            {"accept": stream, "authorization": f"Bearer {KEY}"},
        ),
        Wire(
            "anthropic",
            AnthropicProvider(base_url=root, api_key=KEY, client=client),
            f"{root}/v1/messages",
            "claude-bench",
            {"anthropic-version": "2023-06-01", "accept": stream, "x-api-key": KEY},
        ),
        Wire(
            "gemini",
            GeminiProvider(base_url=f"{root}/v1beta", api_key=KEY, client=client),
            f"{root}/v1beta/models/gemini-bench:streamGenerateContent?alt=sse",
            "gemini-bench",
            {"x-goog-api-key": KEY},
        ),
    ]


async def model_calls(root: str, sizes: Sizes) -> list[Row]:
    rows: list[Row] = []
    async with (
        new_http_client(read_timeout=600.0) as client,
        new_http_client(read_timeout=600.0, transport="aiohttp") as fast,
    ):
        for answer in ("text", "tool"):
            for wire, other in zip(wires(root, client), wires(root, fast), strict=True):
                request = ModelRequest(
                    model=wire.model,
                    messages=[ChatMessage("system", "Be brief."), ChatMessage("user", USER_TEXT)],
                    tools=[TOOL] if answer == "tool" else [],
                )
                body = wire.provider.build_body(request)
                raw, ours, on_aiohttp = await alternate(
                    [
                        partial(raw_httpx, client, wire.url, body, wire.headers),
                        partial(drain, wire.provider, request),
                        partial(drain, other.provider, request),
                    ],
                    sizes,
                )
                rows.append(Row(wire.name, answer, raw, ours, on_aiohttp))
    return rows


async def whole_runs(root: str, sizes: Sizes) -> dict[str, Timing]:
    """Create -> completed per run, on each wire format and on the `test` model."""
    os.environ.update(
        ANTHROPIC_BASE_URL=root, ANTHROPIC_API_KEY=KEY,
        GEMINI_BASE_URL=f"{root}/v1beta", GEMINI_API_KEY=KEY,
    )  # fmt: skip
    models = {
        "openai": "local/m",
        "anthropic": "anthropic/claude-bench",
        "gemini": "google/gemini-bench",
        "test": "test",
    }
    timings: dict[str, Timing] = {}
    endpoints = {"local": {"base_url": f"{root}/v1"}}
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", endpoints=endpoints
    ) as client:
        for wire, model in models.items():
            assistant = await client.assistants.create(model=model, instructions="Be brief.")
            threads = [
                (await client.threads.create(messages=[{"role": "user", "content": USER_TEXT}])).id
                for _ in range(sizes.warmup + sizes.iterations)
            ]
            timing = timings[wire] = Timing()
            for i, thread_id in enumerate(threads):
                t0 = time.perf_counter_ns()
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread_id, assistant_id=assistant.id
                )
                elapsed = time.perf_counter_ns() - t0
                assert run.status == "completed", (wire, run.status, run.last_error)
                if i >= sizes.warmup:
                    timing.samples.append(elapsed)
    return timings


# --- reporting ---------------------------------------------------------------------------------


def ms(ns: float) -> str:
    return f"{ns / 1e6:.3f}"


def print_table(rows: list[Row], runs: dict[str, Timing]) -> None:
    answers = {
        "text": f"{TEXT_DELTAS} text deltas + usage",
        "tool": f"tool call, {ARGUMENT_FRAGMENTS} fragments",
    }
    timed = ("(a) bare httpx", "(b) adapter")
    header = f"{'wire format':<11} {'answer':<27} " + " ".join(f"{name:>17}" for name in timed)
    header += f" {'(b)/(a)':>8} {'<=1.2x':>6} {AIOHTTP:>17} {AIOHTTP_RATIO:>8}"
    header += f" {'(c) whole run':>17} {'(c)/(a)':>8}"
    pair = f"{'median    p99':>17}"
    sub = f"{'':<11} {'':<27} {pair} {pair} {'median':>8} {'':>6} {pair} {'median':>8} {pair}"
    sub += f" {'median':>8}"
    print("\nper model call, milliseconds")
    print(header)
    print(sub)
    print("-" * len(header))
    for row in rows:
        ratio = row.adapter.median / row.raw.median
        cells = f"{row.wire:<11} {answers[row.answer]:<27} "
        cells += " ".join(
            f"{ms(timing.median):>8} {ms(timing.p99):>8}" for timing in (row.raw, row.adapter)
        )
        cells += f" {ratio:>7.2f}x {'yes' if ratio <= TARGET else 'NO':>6}"
        cells += f" {ms(row.aiohttp.median):>8} {ms(row.aiohttp.p99):>8}"
        cells += f" {row.aiohttp.median / row.raw.median:>7.2f}x"
        run = runs.get(row.wire) if row.answer == "text" else None
        if run is not None:
            cells += f" {ms(run.median):>8} {ms(run.p99):>8}"
            cells += f" {run.median / row.raw.median:>7.1f}x"
        print(cells)
    if "test" in runs:
        test = runs["test"]
        blank = " " * (17 * 2 + 1 + 1 + 8 + 1 + 6 + 1 + 17 + 1 + 8)
        print(
            f"{'(none)':<11} {'whole run on the test model':<27} {blank} "
            f"{ms(test.median):>8} {ms(test.p99):>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few seconds)")
    parser.add_argument("--iterations", type=int, help="timed calls per variant")
    parser.add_argument("--warmup", type=int, help="untimed calls per variant first")
    parser.add_argument("--no-runs", action="store_true", help="skip (c), the whole runs")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        iterations=args.iterations if args.iterations is not None else base.iterations,
        warmup=args.warmup if args.warmup is not None else base.warmup,
    )
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(
        f"providers benchmark: Python {platform.python_version()}, httpx {httpx.__version__}, "
        f"os.cpu_count()={os.cpu_count()}, {platform.system()} {platform.machine()}"
    )
    print(f"sizes: {sizes}; fake server in a child process on loopback")
    started = time.perf_counter()
    with fake_server() as root:
        rows = anyio.run(model_calls, root, sizes)
        runs = {} if args.no_runs else anyio.run(whole_runs, root, sizes)
    print_table(rows, runs)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
