"""HTTP/1.1 on one connection: the request head we write and the response we parse.

`split_url` splits a URL into what a request needs; `encode_request` builds the request line
and headers. `Connection` wraps an anyio byte stream with a receive buffer: `send` writes a
whole request at once, `read_head` parses the final response's status line and headers (1xx
interim responses are skipped), and `read_body` returns the body piece by piece, framed by
`Transfer-Encoding: chunked` (extensions ignored, trailers skipped), else `Content-Length`, else
the end of the connection. Parsing searches the buffer (`bytes.find`, anchored regular
expressions) and slices it; nothing walks the bytes one by one.

Each receive and each send waits at most `timeout` seconds (None: no limit): the timeout is
per read and per write, not for the whole response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

import anyio
import anyio.abc

from runtime.providers.transport_errors import (
    LocalProtocolError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
    describe,
)

MAX_HEAD = 64 * 1024  # bytes of a response head; also of a chunk-size line and of the trailers
RECEIVE_SIZE = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")  # size[;extensions]
_BLANKS = " \t"
_STREAM_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)

Origin = tuple[str, str, int]  # (scheme, host, port): the connections that can serve a URL

# How the current response's body ends.
_DONE, _LENGTH, _CHUNKED, _UNTIL_CLOSE = range(4)


class Headers(Mapping[str, str]):
    """Headers by case-insensitive name (iterated lowercased); repeated ones joined with ", "."""

    __slots__ = ("_values",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        values: dict[str, str] = {}
        for name, value in items.items() if isinstance(items, Mapping) else items:
            key = name.lower()
            values[key] = f"{values[key]}, {value}" if key in values else value
        self._values = values

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({sorted(self._values)})"  # names only: values may be secrets


@dataclass(frozen=True, slots=True)
class URL:
    """A request URL, split as HTTP/1.1 needs it."""

    scheme: str
    host: str
    port: int
    host_header: str  # host[:port], brackets around an IPv6 address
    target: str  # the origin-form request target: path and query

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def origin(self) -> Origin:
        return self.scheme, self.host, self.port


@lru_cache(maxsize=1024)
def split_url(url: str) -> URL:
    """`url` split for a request (cached: providers call the same few URLs over and over)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise LocalProtocolError(f"Only http:// and https:// URLs are supported, not {url[:8]!r}")
    host = parts.hostname
    try:
        port = parts.port
    except ValueError:
        host = None
    if not host:
        raise LocalProtocolError(f"The URL of the request has no valid host and port: {scheme}://")
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    default = 443 if scheme == "https" else 80
    port = port or default
    host_header = f"[{host}]" if ":" in host else host
    if port != default:
        host_header += f":{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    target = quote(target, safe="!$%&'()*+,/:;=?@~")  # spaces, controls and non-ASCII escaped
    return URL(scheme, host, port, host_header, target)


def encode_request(
    method: str,
    target: str,
    headers: Mapping[str, str],
    defaults: Iterable[tuple[str, str]],
    body: bytes | None,
    where: str,
) -> bytes:
    """The request line, `defaults` not named in `headers`, `headers`, the blank line, `body`."""
    given = {name.lower() for name in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in defaults if name not in given]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or "\n" in value or "\r" in value or "\0" in value:
            raise LocalProtocolError(
                f"The request to {where} has a header name or value that HTTP cannot carry"
            )
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    try:
        head = "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise LocalProtocolError(
            f"The request to {where} has a header that is not latin-1 text"
        ) from None
    return head + body if body else head


def _head_end(buffer: bytearray, start: int) -> tuple[int, int]:
    """Where the head in `buffer` ends and its body starts (lines may end in LF alone)."""
    lf = buffer.find(b"\n\n", start)
    crlf = buffer.find(b"\n\r\n", start)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 3
    return -1, -1


class Connection:
    """One HTTP/1.1 connection: its stream, receive buffer and the current response's framing."""

    __slots__ = ("_buffer", "_framing", "_left", "answered", "idle_since", "keep_alive", "origin",
                 "stream", "where")  # fmt: skip

    def __init__(self, stream: anyio.abc.ByteStream, where: str, origin: Origin) -> None:
        self.stream = stream
        self.where = where  # "host:port", for error messages
        self.origin = origin
        self.idle_since = 0.0  # time.monotonic() when it went back to the pool
        self.answered = False  # a byte arrived since the request was sent
        self.keep_alive = False  # the current response lets the connection serve another
        self._buffer = bytearray()
        self._framing = _DONE
        self._left = 0  # bytes left of the body (Content-Length) or of the current chunk

    @property
    def reusable(self) -> bool:
        """Whether the response was read to its end, cleanly, on a connection kept alive."""
        return self._framing == _DONE and self.keep_alive and not self._buffer

    async def aclose(self) -> None:
        """Close at once, without waiting on the peer (safe when cancelled)."""
        await anyio.aclose_forcefully(self.stream)

    async def send(self, data: bytes, timeout: float | None) -> None:
        """Write `data` (a whole request) in one send."""
        self.answered = False
        try:
            if timeout is None:
                await self.stream.send(data)
                return
            with anyio.move_on_after(timeout) as scope:
                await self.stream.send(data)
        except _STREAM_ERRORS as exc:
            raise WriteError(f"Sending to {self.where} failed: {describe(exc)}") from exc
        if scope.cancelled_caught:
            raise WriteTimeout(f"Sending the request to {self.where} took over {timeout:g} s")

    async def _receive(self, timeout: float | None) -> bytes:
        """The next bytes from the stream; b"" at its end."""
        try:
            if timeout is None:
                data = await self.stream.receive(RECEIVE_SIZE)
            else:
                with anyio.move_on_after(timeout) as scope:
                    data = await self.stream.receive(RECEIVE_SIZE)
                if scope.cancelled_caught:
                    raise ReadTimeout(f"{self.where} sent nothing for {timeout:g} s")
        except anyio.EndOfStream:
            return b""
        except _STREAM_ERRORS as exc:
            raise ReadError(f"Receiving from {self.where} failed: {describe(exc)}") from exc
        self.answered = True
        return data

    async def _fill(self, timeout: float | None, what: str) -> None:
        """Receive more into the buffer; the end of the stream is a `RemoteProtocolError`."""
        data = await self._receive(timeout)
        if not data:
            raise RemoteProtocolError(f"{self.where} closed the connection in the middle of {what}")
        self._buffer += data

    # --- the head ---

    async def read_head(self, method: str, timeout: float | None) -> tuple[int, Headers]:
        """The final response's status and headers; the body framing is set from them."""
        while True:
            version, status, headers = await self._head(timeout)
            if status >= 200:
                break
            if status == 101:
                raise RemoteProtocolError(f"{self.where} switched protocols unasked")
        self._frame(method, version, status, headers)
        return status, headers

    async def _head(self, timeout: float | None) -> tuple[str, int, Headers]:
        buffer = self._buffer
        start = 0
        while (ends := _head_end(buffer, start))[0] < 0:
            if len(buffer) > MAX_HEAD:
                raise RemoteProtocolError(f"{self.where} sent a response head over 64 KiB")
            start = max(0, len(buffer) - 2)
            data = await self._receive(timeout)
            if not data:
                if not self.answered:
                    raise RemoteProtocolError(f"{self.where} closed the connection unanswered")
                raise RemoteProtocolError(
                    f"{self.where} closed the connection in the middle of the response head"
                )
            buffer += data
        if ends[0] > MAX_HEAD:
            raise RemoteProtocolError(f"{self.where} sent a response head over 64 KiB")
        text = buffer[: ends[0]].decode("latin-1").removesuffix("\r")
        del buffer[: ends[1]]
        lines = (text.replace("\r\n", "\n") if "\r" in text else text).split("\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if (
            version not in ("HTTP/1.1", "HTTP/1.0")
            or not (code.isascii() and code.isdigit())
            or rest[3:4] not in ("", " ")
        ):
            raise RemoteProtocolError(f"{self.where} sent a malformed status line")
        return version, int(code), self._headers(lines)

    def _headers(self, lines: list[str]) -> Headers:
        values: dict[str, str] = {}
        key = ""
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and key:  # an obsolete folded continuation line
                values[key] = f"{values[key]} {line.strip(_BLANKS)}"
                continue
            name, sep, value = line.partition(":")
            if not sep or not _TOKEN.fullmatch(name):
                raise RemoteProtocolError(f"{self.where} sent a malformed header line")
            key, value = name.lower(), value.strip(_BLANKS)
            values[key] = f"{values[key]}, {value}" if key in values else value
        headers = Headers()
        headers._values = values
        return headers

    def _frame(self, method: str, version: str, status: int, headers: Headers) -> None:
        connection = headers.get("connection", "").lower()
        tokens = {token.strip() for token in connection.split(",")} if connection else set()
        self.keep_alive = "close" not in tokens and (
            version == "HTTP/1.1" or "keep-alive" in tokens
        )
        self._left = 0
        if method == "HEAD" or status in (204, 304) or (method == "CONNECT" and status < 300):
            self._framing = _DONE
            return
        coding = headers.get("transfer-encoding")
        if coding is not None:
            chunked = coding.rpartition(",")[2].strip().lower() == "chunked"
            self._framing = _CHUNKED if chunked else _UNTIL_CLOSE
            # Both framings at once is how requests get smuggled: read this one, then close.
            self.keep_alive = self.keep_alive and chunked and "content-length" not in headers
            return
        length = headers.get("content-length")
        if length is None:
            self._framing, self.keep_alive = _UNTIL_CLOSE, False
            return
        lengths = {part.strip() for part in length.split(",")}
        value = lengths.pop()
        if lengths or not (value.isascii() and value.isdigit()):
            raise RemoteProtocolError(f"{self.where} sent an invalid Content-Length")
        self._left = int(value)
        self._framing = _LENGTH if self._left else _DONE

    # --- the body ---

    async def read_body(self, timeout: float | None) -> bytes:
        """The next piece of the body, b"" once it has all been read."""
        framing = self._framing
        if framing == _CHUNKED:
            return await self._chunk(timeout)
        if framing == _LENGTH:
            return await self._length(timeout)
        if framing == _UNTIL_CLOSE:
            if self._buffer:
                piece = bytes(self._buffer)
                self._buffer.clear()
                return piece
            piece = await self._receive(timeout)
            if not piece:
                self._framing = _DONE
            return piece
        return b""

    async def _length(self, timeout: float | None) -> bytes:
        left = self._left
        if self._buffer:
            piece = bytes(self._buffer[:left])
            del self._buffer[:left]
        else:
            piece = await self._receive(timeout)
            if not piece:
                raise RemoteProtocolError(
                    f"{self.where} closed the connection {left} bytes before the end of the body"
                )
            if len(piece) > left:
                self._buffer += piece[left:]
                piece = piece[:left]
        self._left = left - len(piece)
        if not self._left:
            self._framing = _DONE
        return piece

    async def _chunk(self, timeout: float | None) -> bytes:
        buffer = self._buffer
        if not self._left:  # at a chunk-size line
            size = (await self._line(timeout)).partition(b";")[0].strip(b" \t")
            if not _HEX.fullmatch(size):
                raise RemoteProtocolError(f"{self.where} sent a malformed chunk size")
            self._left = int(size, 16)
            if not self._left:
                await self._trailers(timeout)
                self._framing = _DONE
                return b""
        if not buffer:
            await self._fill(timeout, "a chunk")
        piece = bytes(buffer[: self._left])
        del buffer[: len(piece)]
        self._left -= len(piece)
        if not self._left:  # the chunk's own line end follows its data
            while len(buffer) < 2 and buffer != b"\n":
                await self._fill(timeout, "a chunk")
            if buffer.startswith(b"\r\n"):
                del buffer[:2]
            elif buffer.startswith(b"\n"):
                del buffer[:1]
            else:
                raise RemoteProtocolError(f"{self.where} sent a chunk longer than its size")
            if buffer:
                piece += self._buffered_chunks()
        return piece

    def _buffered_chunks(self) -> bytes:
        """The data of the whole chunks already in the buffer (read at once, not one by one).

        It stops before the last chunk, a chunk not all here, or anything unusual: `_chunk`
        reads those the careful way.
        """
        buffer = self._buffer
        pieces = []
        position = 0
        while (line := _SIZE_LINE.match(buffer, position)) and (length := int(line[1], 16)):
            start = line.end()
            end = start + length
            if buffer[end : end + 2] != b"\r\n":
                break
            pieces.append(buffer[start:end])
            position = end + 2
        del buffer[:position]
        return b"".join(pieces)

    async def _line(self, timeout: float | None) -> bytes:
        """The next line of a chunked body (a size or a trailer), without its line end."""
        buffer = self._buffer
        start = 0
        while (end := buffer.find(b"\n", start)) < 0:
            if len(buffer) > MAX_HEAD:
                raise RemoteProtocolError(f"{self.where} sent a chunked-body line over 64 KiB")
            start = len(buffer)
            await self._fill(timeout, "a chunked body")
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        return line.removesuffix(b"\r")

    async def _trailers(self, timeout: float | None) -> None:
        """Skip the trailer fields after the last chunk, up to the blank line."""
        size = 0
        while line := await self._line(timeout):
            size += len(line)
            if size > MAX_HEAD:
                raise RemoteProtocolError(f"{self.where} sent trailers over 64 KiB")
