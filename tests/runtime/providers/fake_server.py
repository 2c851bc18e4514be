"""A loopback HTTP server for the provider tests, and chat-completions stream helpers.

`FakeServer` is a threaded HTTP server that answers each POST with the next canned `Reply` (a JSON
body, a list of server-sent-event pieces, a dropped connection...) and records every request as a
`Seen`, so the tests pin the exact JSON we send and the chunks we make of each answer. It speaks
no particular vendor's format: the replies do. It listens on 127.0.0.1 (or another loopback
`host`), over TLS when given a server context, and gzips a reply when asked. `sse`, `delta`, `usage`, `call` and `DONE` build
OpenAI chat-completions stream events; `collect` and `collect_error` drain a provider's stream.
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import zlib
from collections import deque
from contextlib import aclosing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runtime.providers.base import Chunk, ModelRequest, Provider, ProviderCallError

DONE = "data: [DONE]\n\n"


@dataclass
class Reply:
    """One canned answer. `events` are raw SSE pieces, each sent as its own HTTP chunk."""

    status: int = 200
    body: Any = None  # sent as JSON; bytes as they are, as text/html
    events: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop_after: int | None = None  # send this many events, then cut the connection
    hold: threading.Event | None = None  # wait for this before answering
    gzip: bool = False  # Content-Encoding: gzip (a stream: each event flushed as its own chunk)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fake.lock:
            fake.requests.append(Seen(self.path, headers, json.loads(raw)))
            reply = fake.replies.popleft() if fake.replies else Reply(418, {"error": "no reply"})
        if reply.hold is not None:
            reply.hold.wait(30)
        self.send_response(reply.status)
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        if reply.events is None:
            raw_body = isinstance(reply.body, bytes)
            payload = reply.body if raw_body else json.dumps(reply.body).encode()
            payload = gzip.compress(payload) if reply.gzip else payload
            self.send_header("Content-Type", "text/html" if raw_body else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        packer = zlib.compressobj(wbits=31) if reply.gzip else None  # 31: the gzip format
        for sent, event in enumerate(reply.events):
            if sent == reply.drop_after:
                return  # the connection closes without the final chunk
            data = event.encode()
            if packer is not None:
                data = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        if packer is not None:
            data = packer.flush()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        """`GET .../models`: the `models` listing (404 when it is None); recorded like a POST."""
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(
                Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, None)
            )
            models = fake.models
        found = models is not None and self.path.endswith("/models")
        payload = json.dumps(
            {"object": "list", "data": models} if found else {"error": "not found"}
        ).encode()
        self.send_response(200 if found else 404)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins every handler thread
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout tests) makes the late write fail; that is expected


class FakeServer:
    """A chat-completions server on 127.0.0.1 answering from a queue of `Reply`s."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.lock = threading.Lock()
        self.replies: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self.models: list[Any] | None = None  # what `GET /v1/models` lists (None: a 404)
        self.host = host
        self.scheme = "https" if tls is not None else "http"
        self._httpd = _HTTPServer((host, 0), _Handler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/v1/"

    def queue(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)

    def close(self) -> None:
        for reply in self.replies:
            if reply.hold is not None:
                reply.hold.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


# --- chat-completions stream events ---------------------------------------------------------


def sse(payload: Any) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def delta(finish: str | None = None, **fields: Any) -> str:
    choice = {"index": 0, "delta": fields, "finish_reason": finish}
    return sse({"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]})


def usage(prompt: int, completion: int) -> str:
    counts = {"prompt_tokens": prompt, "completion_tokens": completion}
    return sse({"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": counts})


def call(index: int, id: str | None = None, name: str | None = None, args: str = "") -> Any:
    function: dict[str, Any] = {"arguments": args}
    if name is not None:
        function["name"] = name
    fragment: dict[str, Any] = {"index": index, "function": function}
    if id is not None:
        fragment.update(id=id, type="function")
    return fragment


async def collect(provider: Provider, request: ModelRequest) -> list[Chunk]:
    """Every chunk of `provider.stream(request)`."""
    async with aclosing(provider.stream(request)) as stream:
        return [chunk async for chunk in stream]


async def collect_error(
    provider: Provider, request: ModelRequest
) -> tuple[list[Chunk], ProviderCallError]:
    """The chunks before the `ProviderCallError` the stream must end with, and that error."""
    chunks: list[Chunk] = []
    try:
        async with aclosing(provider.stream(request)) as stream:
            async for chunk in stream:
                chunks.append(chunk)
    except ProviderCallError as error:
        return chunks, error
    raise AssertionError(f"no ProviderCallError; chunks: {chunks}")
