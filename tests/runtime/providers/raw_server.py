"""Loopback servers speaking raw bytes, for the transport tests: an origin (plain or TLS) and a proxy.

`RawServer` accepts TCP connections on 127.0.0.1 and hands each to the test's `handler` in a
thread of its own, so a test scripts exactly what the client sees: well-formed answers, broken
ones, stalls (on a `threading.Event`), early closes. It counts the connections it accepted (the
keep-alive tests) and keeps every request's raw bytes. `ProxyServer` is a `RawServer` acting as
an HTTP proxy: it tunnels CONNECT requests to 127.0.0.1 and answers forwarded (absolute-form)
requests itself, recording each request head.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from contextlib import suppress

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Peer:
    """The server's side of one accepted connection."""

    def __init__(self, sock: socket.socket, index: int, server: RawServer) -> None:
        self.sock = sock
        self.index = index  # 0 for the first connection the server accepted
        self._server = server
        self._buffer = b""

    def read_request(self) -> bytes | None:
        """The next whole request (head and Content-Length body), or None once the client closed."""
        while b"\r\n\r\n" not in self._buffer:
            data = self.sock.recv(65536)
            if not data:
                return None
            self._buffer += data
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            data = self.sock.recv(65536)
            if not data:
                return None
            rest += data
        request, self._buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
        with self._server.lock:
            self._server.requests.append(request)
        return request

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


Handler = Callable[[Peer], None]


def answering(*replies: bytes) -> Handler:
    """A handler answering every request, on any connection, with `replies` in turn, then `OK`."""
    queue = list(replies)
    lock = threading.Lock()

    def answer(peer: Peer) -> None:
        while peer.read_request() is not None:
            with lock:
                reply = queue.pop(0) if queue else OK
            peer.send(reply)

    return answer


class RawServer:
    """A TCP (or TLS) server on 127.0.0.1 running `handler(peer)` per connection, in threads."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self.lock = threading.Lock()
        self.accepted = 0
        self.requests: list[bytes] = []
        self._handler = handler
        self._tls = tls
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # how often the accept loop looks at `_stop`
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept)
        self._acceptor.start()

    def url(self, path: str = "/", scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self.lock:
                index = self.accepted
                self.accepted += 1
            thread = threading.Thread(target=self._run, args=(sock, index))
            self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket, index: int) -> None:
        sock.settimeout(30)
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
            with self.lock:
                self._sockets.append(sock)
            self._handler(Peer(sock, index, self))
        except OSError:
            pass  # the client went away first (early exits, timeouts, refused certificates)
        finally:
            sock.close()

    def close(self) -> None:
        """Stop accepting, end every connection still open (waking its handler), join."""
        self._stop.set()
        self._acceptor.join()
        self._listener.close()
        with self.lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(30)


def _relay(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class ProxyServer(RawServer):
    """An HTTP proxy: CONNECT tunnels to 127.0.0.1:port; other requests answered `OK` directly."""

    def __init__(self) -> None:
        super().__init__(self._proxy)

    def _proxy(self, peer: Peer) -> None:
        while (request := peer.read_request()) is not None:
            if not request.startswith(b"CONNECT "):
                peer.send(OK)
                continue
            port = int(request.split(b" ")[1].rpartition(b":")[2])
            with socket.create_connection(("127.0.0.1", port)) as upstream:
                peer.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
                back = threading.Thread(target=_relay, args=(upstream, peer.sock))
                back.start()
                _relay(peer.sock, upstream)
                back.join()
            return
