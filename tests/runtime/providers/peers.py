"""Loopback peers on anyio sockets for the provider client's tests: proxies and a keep-alive model.

Each runs in the test's own event loop (asyncio or trio) for the length of an `async with`, and
counts what passed through it:

- `HTTPProxy`: an HTTP proxy. `CONNECT host:port` opens a tunnel (for https targets); a request
  in absolute form (`POST http://host:port/path HTTP/1.1`, for http targets) is sent on to
  `host:port` in origin form. Both connect to the host the client named.
- `Socks5Proxy`: a SOCKS5 server (no authentication; IPv4, IPv6 and domain addresses) that
  connects to the address asked for and relays.
- `KeepAliveModel`: a chat-completions server that keeps connections open. Its first connection
  answers one request, then `close`s at once, or (`drop_next`) reads the next request and closes
  without answering it, as a server dropping an idle connection while a request is on the way.
  Later connections answer every request. It counts the requests it read.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import anyio
from anyio.abc import ByteStream, SocketAttribute, SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

_STREAM_ERRORS = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


@dataclass
class Head:
    """A request's head: its request line and its headers (names lowercased)."""

    line: str
    headers: dict[str, str]

    @property
    def method(self) -> str:
        return self.line.split(" ")[0]

    @property
    def target(self) -> str:
        return self.line.split(" ")[1]


async def read_head(reader: BufferedByteReceiveStream) -> Head | None:
    """The next request head, or None when the peer closed the connection first."""
    try:
        raw = await reader.receive_until(b"\r\n\r\n", 65536)
    except (anyio.IncompleteRead, *_STREAM_ERRORS):
        return None
    line, *fields = raw.decode("latin-1").split("\r\n")
    headers = {}
    for text in fields:
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Head(line, headers)


async def _pipe(
    source: BufferedByteReceiveStream | ByteStream,
    sink: ByteStream,
    counted: Callable[[int], None] = lambda size: None,
) -> None:
    """Copy `source` to `sink` (each piece `counted` once sent) until `source` ends; then end
    `sink`'s sending side."""
    try:
        while True:
            data = await source.receive()
            await sink.send(data)
            counted(len(data))
    except _STREAM_ERRORS:
        pass
    with suppress(*_STREAM_ERRORS):
        await sink.send_eof()


async def _relay(
    client: SocketStream,
    reader: BufferedByteReceiveStream,
    upstream: ByteStream,
    counted: Callable[[int], None],
) -> None:
    """Relay both ways until both sides are done; what comes back from `upstream` is `counted`."""
    async with anyio.create_task_group() as group:
        group.start_soon(_pipe, upstream, client, counted)
        await _pipe(reader, upstream)


@asynccontextmanager
async def _serving(handler: Callable[[SocketStream], Awaitable[None]]) -> AsyncIterator[int]:
    """Serve each connection to a fresh 127.0.0.1 port with `handler`; yields the port."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, handler)
        try:
            yield listener.extra(SocketAttribute.local_port)
        finally:
            group.cancel_scope.cancel()


@dataclass
class HTTPProxy:
    """An HTTP proxy on 127.0.0.1 (see the module's doc); run it with `async with proxy.run()`."""

    port: int = 0
    tunnels: list[str] = field(default_factory=list)  # CONNECT targets
    forwarded: list[str] = field(default_factory=list)  # request lines in absolute form
    bytes_back: int = 0  # bytes sent back to clients from the targets

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        return len(self.tunnels) + len(self.forwarded)

    def _back(self, size: int) -> None:
        self.bytes_back += size

    @asynccontextmanager
    async def run(self) -> AsyncIterator[HTTPProxy]:
        async with _serving(self._serve) as port:
            self.port = port
            yield self

    async def _serve(self, client: SocketStream) -> None:
        async with client:
            reader = BufferedByteReceiveStream(client)
            head = await read_head(reader)
            if head is None:
                return
            if head.method == "CONNECT":
                host, _, port = head.target.rpartition(":")
                self.tunnels.append(head.target)
                async with await anyio.connect_tcp(host.strip("[]"), int(port)) as upstream:
                    await client.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    await _relay(client, reader, upstream, self._back)
                return
            self.forwarded.append(head.line)
            target = urlsplit(head.target)
            assert target.hostname is not None, head.line
            assert target.port is not None, head.line
            path = target.path + (f"?{target.query}" if target.query else "")
            fields = "".join(f"{name}: {value}\r\n" for name, value in head.headers.items() if name)
            request = f"{head.method} {path} HTTP/1.1\r\n{fields}\r\n".encode("latin-1")
            async with await anyio.connect_tcp(target.hostname, target.port) as upstream:
                await upstream.send(request)
                await _relay(client, reader, upstream, self._back)


@dataclass
class Socks5Proxy:
    """A SOCKS5 server on 127.0.0.1 (see the module's doc); run it with `async with socks.run()`."""

    port: int = 0
    targets: list[tuple[str, int]] = field(default_factory=list)  # CONNECT addresses
    bytes_back: int = 0

    def _back(self, size: int) -> None:
        self.bytes_back += size

    @asynccontextmanager
    async def run(self) -> AsyncIterator[Socks5Proxy]:
        async with _serving(self._serve) as port:
            self.port = port
            yield self

    async def _serve(self, client: SocketStream) -> None:
        async with client:
            reader = BufferedByteReceiveStream(client)
            version, methods = await reader.receive_exactly(2)
            offered = await reader.receive_exactly(methods)
            if version != 5 or 0 not in offered:
                await client.send(b"\x05\xff")
                return
            await client.send(b"\x05\x00")  # no authentication
            version, command, _, kind = await reader.receive_exactly(4)
            if kind == 1:
                host = str(ipaddress.IPv4Address(await reader.receive_exactly(4)))
            elif kind == 4:
                host = str(ipaddress.IPv6Address(await reader.receive_exactly(16)))
            else:
                size = (await reader.receive_exactly(1))[0]
                host = (await reader.receive_exactly(size)).decode("ascii")
            port = int.from_bytes(await reader.receive_exactly(2), "big")
            if (version, command) != (5, 1):  # only CONNECT
                await client.send(b"\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00")
                return
            self.targets.append((host, port))
            async with await anyio.connect_tcp(host, port) as upstream:
                await client.send(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
                await _relay(client, reader, upstream, self._back)


def _answer(text: str) -> bytes:
    """A whole chat-completions stream saying `text`, framed by Content-Length (kept alive)."""
    chunk = {"id": "c1", "object": "chat.completion.chunk", "model": "m"}
    events = [
        {**chunk, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    data = body.encode()
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


@dataclass
class KeepAliveModel:
    """A keep-alive chat-completions server on 127.0.0.1 (see the module's doc)."""

    first: Literal["close", "drop_next"]
    port: int = 0
    requests: int = 0  # requests read, over all connections
    connections: int = 0
    first_closed: anyio.Event = field(default_factory=anyio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @asynccontextmanager
    async def run(self) -> AsyncIterator[KeepAliveModel]:
        async with _serving(self._serve) as port:
            self.port = port
            yield self

    async def _request(self, reader: BufferedByteReceiveStream) -> bool:
        """Read one whole request; False when the client closed the connection instead."""
        head = await read_head(reader)
        if head is None:
            return False
        await reader.receive_exactly(int(head.headers.get("content-length", "0")))
        self.requests += 1
        return True

    async def _serve(self, client: SocketStream) -> None:
        self.connections += 1
        first = self.connections == 1
        reader = BufferedByteReceiveStream(client)
        try:
            while await self._request(reader):
                if first and self.requests > 1:  # `drop_next`: read, never answered
                    break
                await client.send(_answer(f"answer {self.requests}"))
                if first and self.first == "close":
                    break
        finally:
            await client.aclose()
            if first:
                self.first_closed.set()
