"""The provider path's HTTP/1.1 client: streamed requests over a keep-alive pool, on anyio.

One `HTTPClient` is shared by every adapter (`runtime.providers.router` makes it). Usage:

    async with client.stream("POST", url, headers=headers, json=body, timeout=60) as response:
        async for line in response.aiter_lines():
            ...

Why our own: a model call is one POST whose answer streams back as server-sent events, and at
scale the general-purpose client's per-request bookkeeping (a pool that inspects every idle
connection, an event object per parsed piece) was a third of a worker's CPU. This one does only
what the providers need, on anyio's streams (asyncio and trio alike):

- Connections are pooled per (scheme, host, port), reused last-in first-out, and dropped once
  idle for `keepalive_expiry` seconds (a timestamp check: idle sockets are never polled); at
  most `max_idle_per_origin` are kept. One goes back to the pool only when its response was read
  to the end and neither side said `Connection: close` (an HTTP/1.0 answer needs `keep-alive`);
  leaving `stream` earlier, an error while reading and cancellation close it instead.
- A request on a reused connection that fails before any byte of the answer (the server closed
  the idle connection meanwhile) is sent once more on a fresh connection; nothing else is retried.
- The request head and body go out in one send. `timeout` bounds each read and each write of
  the exchange; `connect_timeout` bounds connecting (TCP, proxy tunnel, TLS handshake).
- https uses anyio's TLS with `ssl_context`, else a default one (see `transport_env`, which also
  reads the proxies when `trust_env`).

Errors are `TransportError`s (the tree is in `runtime.providers.transport_errors`), named with
the host and port, never with a header value.
"""

from __future__ import annotations

import codecs
import errno
import json as jsonlib
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any, Self

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from runtime.providers.http11 import URL, Connection, Headers, Origin, encode_request, split_url
from runtime.providers.transport_env import Proxy, ProxySettings, default_ssl_context
from runtime.providers.transport_errors import (
    ConnectError,
    ConnectTimeout,
    LocalProtocolError,
    NetworkError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
    TransportTimeout,
    WriteError,
    WriteTimeout,
    describe,
)

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "HTTPClient",
    "Headers",
    "LocalProtocolError",
    "NetworkError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Response",
    "TransportError",
    "TransportTimeout",
    "WriteError",
    "WriteTimeout",
]

USER_AGENT = "assistants-runtime"
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # these say "content-length: 0" when empty


class Response:
    """A response whose head has arrived; read its body inside the `stream` context."""

    __slots__ = ("_connection", "_content", "_open", "_started", "_timeout", "headers",
                 "status_code")  # fmt: skip

    def __init__(
        self, connection: Connection, status: int, headers: Headers, timeout: float | None
    ) -> None:
        self.status_code = status
        self.headers = headers
        self._connection = connection
        self._timeout = timeout
        self._content: bytes | None = None
        self._started = False  # the body is being (or has been) read
        self._open = True  # False once the `stream` context is left

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def content(self) -> bytes:
        """The whole body, once `aread` has read it."""
        if self._content is None:
            raise RuntimeError("The response body has not been read: await aread() first")
        return self._content

    async def aread(self) -> bytes:
        """The whole body."""
        if self._content is None:
            self._content = b"".join([piece async for piece in self.aiter_bytes()])
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives (once: a streamed body is not kept)."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        if not self._open or self._started:
            raise RuntimeError("The response body was already read, or its stream is closed")
        self._started = True
        read, timeout = self._connection.read_body, self._timeout
        while piece := await read(timeout):
            yield piece

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body's lines, ended by LF, CRLF or CR, decoded as UTF-8 (bad bytes replaced).

        A last line without its line end is still yielded.
        """
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        rest = ""
        async for piece in self.aiter_bytes():
            lines, rest = _split_lines(rest + decoder.decode(piece))
            for line in lines:
                yield line
        lines, rest = _split_lines(rest + decoder.decode(b"", True))
        for line in lines:
            yield line
        if rest:
            yield rest.removesuffix("\r")


def _split_lines(text: str) -> tuple[list[str], str]:
    """The lines `text` ends, and the rest (with a last CR: it may be the first half of a CRLF)."""
    held = ""
    if "\r" in text:
        if text[-1] == "\r":
            text, held = text[:-1], "\r"
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    return lines, lines.pop() + held


class _Exchange:
    """The `async with` of `HTTPClient.stream`: sends on enter, pools or closes on exit."""

    __slots__ = ("_client", "_request", "_response")

    def __init__(self, client: HTTPClient, request: tuple[Any, ...]) -> None:
        self._client = client
        self._request = request
        self._response: Response | None = None

    async def __aenter__(self) -> Response:
        self._response = await self._client._open(*self._request)
        return self._response

    async def __aexit__(self, *exc_info: object) -> None:
        if self._response is not None:
            self._response._open = False
            await self._client._finish(self._response._connection)


class HTTPClient:
    """An HTTP/1.1 client for streamed provider calls, with a keep-alive pool per origin."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        keepalive_expiry: float = 5.0,
        max_idle_per_origin: int = 100,
        trust_env: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._keepalive_expiry = keepalive_expiry
        self._max_idle = max_idle_per_origin
        self._trust_env = trust_env
        self._ssl_context = ssl_context
        self._proxies = ProxySettings(None if trust_env else {})
        self._routes: dict[tuple[str, str], Proxy | None] = {}  # (scheme, host) -> proxy
        self._idle: dict[Origin, list[Connection]] = {}
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections; a connection in use closes when its `stream` ends."""
        self._closed = True
        idle = [connection for pool in self._idle.values() for connection in pool]
        self._idle.clear()
        for connection in idle:
            await connection.aclose()

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] = _NO_HEADERS,
        content: bytes | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> _Exchange:
        """`async with client.stream(...) as response:` sends the request, yields the response.

        `json` is sent compactly encoded as `application/json`; `content` as given. `timeout`
        bounds each read and write (None: no bound).
        """
        if json is not None:
            if content is not None:
                raise TypeError("Pass content= or json=, not both")
            content = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
        return _Exchange(self, (method.upper(), url, headers, content, json is not None, timeout))

    async def _open(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        is_json: bool,
        timeout: float | None,
    ) -> Response:
        if self._closed:
            raise RuntimeError("The HTTP client has been closed")
        parts = split_url(url)
        proxy = self._route(parts)
        defaults = [("host", parts.host_header), ("user-agent", USER_AGENT)]
        if body is not None or method in _BODY_METHODS:
            defaults.append(("content-length", str(len(body or b""))))
        if is_json:
            defaults.append(("content-type", "application/json"))
        target = parts.target
        if proxy is not None and parts.scheme == "http":  # forwarded, not tunnelled
            target = f"http://{parts.host_header}{target}"
            if proxy.authorization:
                defaults.append(("proxy-authorization", proxy.authorization))
        request = encode_request(method, target, headers, defaults, body, parts.where)
        closing = _asks_to_close(headers)
        connection = await self._idle_connection(parts.origin)
        if connection is not None:
            try:
                return await _exchange(connection, request, method, timeout, closing)
            except (NetworkError, RemoteProtocolError):
                await connection.aclose()
                if connection.answered:
                    raise
                # The server closed the idle connection meanwhile: once more, on a fresh one.
            except BaseException:
                await connection.aclose()
                raise
        connection = await self._connect(parts, proxy)
        try:
            return await _exchange(connection, request, method, timeout, closing)
        except BaseException:
            await connection.aclose()
            raise

    async def _finish(self, connection: Connection) -> None:
        """Pool `connection` if its response was read to the end and it stays open, else close."""
        if self._closed or self._keepalive_expiry <= 0 or not connection.reusable:
            await connection.aclose()
            return
        connection.idle_since = time.monotonic()
        pool = self._idle.setdefault(connection.origin, [])
        pool.append(connection)
        if len(pool) > self._max_idle:
            await pool.pop(0).aclose()

    async def _idle_connection(self, origin: Origin) -> Connection | None:
        """The most recently pooled connection still fresh; stale ones are closed on the way."""
        pool = self._idle.get(origin)
        if not pool:
            return None
        connection = pool.pop()
        if time.monotonic() - connection.idle_since < self._keepalive_expiry:
            return connection
        stale = [connection, *pool]  # the ones below were pooled earlier: stale too
        pool.clear()
        for old in stale:
            await old.aclose()
        return None

    def _route(self, parts: URL) -> Proxy | None:
        route = (parts.scheme, parts.host)
        if route not in self._routes:
            self._routes[route] = self._proxies.proxy_for(parts.scheme, parts.host)
        return self._routes[route]

    async def _connect(self, parts: URL, proxy: Proxy | None) -> Connection:
        """A new connection to `parts`' origin: TCP (to the proxy), CONNECT for https, TLS."""
        where = parts.where if proxy is None else f"proxy {proxy.where} (for {parts.where})"
        stream: ByteStream | None = None
        try:
            with anyio.fail_after(self._connect_timeout):
                if proxy is None:
                    stream = await anyio.connect_tcp(parts.host, parts.port)
                else:
                    stream = await anyio.connect_tcp(proxy.host, proxy.port)
                if parts.scheme == "https":
                    if proxy is not None:
                        await _tunnel(Connection(stream, where, parts.origin), parts, proxy)
                    stream = await TLSStream.wrap(
                        stream,
                        server_side=False,
                        hostname=parts.host,
                        ssl_context=self._tls_context(),
                        standard_compatible=False,
                    )
        except TimeoutError:
            await _close(stream)
            raise ConnectTimeout(
                f"Connecting to {where} took over {self._connect_timeout:g} s"
            ) from None
        except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            await _close(stream)
            raise ConnectError(f"Could not connect to {where}: {_connect_failure(exc)}") from exc
        except BaseException:
            await _close(stream)
            raise
        return Connection(stream, parts.where, parts.origin)

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = default_ssl_context(self._trust_env)
        return self._ssl_context


async def _exchange(
    connection: Connection, request: bytes, method: str, timeout: float | None, closing: bool
) -> Response:
    """Send `request` and read the head of its answer (`closing`: the request said close)."""
    await connection.send(request, timeout)
    status, headers = await connection.read_head(method, timeout)
    if closing:
        connection.keep_alive = False
    return Response(connection, status, headers, timeout)


async def _tunnel(connection: Connection, parts: URL, proxy: Proxy) -> None:
    """Ask `proxy` for a tunnel to `parts`' origin (CONNECT) over `connection`."""
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    authority = f"{host}:{parts.port}"
    headers = [("host", authority)]
    if proxy.authorization:
        headers.append(("proxy-authorization", proxy.authorization))
    request = encode_request("CONNECT", authority, _NO_HEADERS, headers, None, proxy.where)
    await connection.send(request, None)
    status, _ = await connection.read_head("CONNECT", None)
    if not 200 <= status < 300:
        raise ProxyError(f"Proxy {proxy.where} refused a tunnel to {parts.where} (HTTP {status})")
    if not connection.reusable:
        raise RemoteProtocolError(f"The proxy {proxy.where} sent data before the tunnel opened")


def _connect_failure(exc: BaseException) -> str:
    """Why connecting failed, from the OSError under anyio's "All connection attempts failed"."""
    reason = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
    if not isinstance(reason, OSError):
        return describe(reason)
    code = reason.errno
    exact = not isinstance(reason, ssl.SSLError | socket.gaierror)  # their errnos are their own
    if exact and code is not None and code in errno.errorcode:
        return os.strerror(code)  # "Connection refused", not asyncio's "Connect call failed..."
    return reason.strerror or describe(reason)


async def _close(stream: ByteStream | None) -> None:
    if stream is not None:
        await anyio.aclose_forcefully(stream)


def _asks_to_close(headers: Mapping[str, str]) -> bool:
    """Whether the request's own headers say `Connection: close`."""
    for name, value in headers.items():
        if name.lower() == "connection" and "close" in value.lower():
            return True
    return False
