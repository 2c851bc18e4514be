"""SIGTERM reaches a worker before it is up: the stop must still be graceful (exit status 0).

A signal receiver opened only once the worker has started (store open, schema checked,
notification listener connected, first claim under way) would leave SIGTERM its default action
until then: the process killed (-15), runs it may just have claimed included. Here the database
never answers, so the worker sits in its start-up for as long as the test likes.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.faults.harness import Workers


class BlackHole:
    """A TCP listener that accepts connections, reads the first bytes, and never answers.

    `greeted` is set once a client has sent something: its event loop is past the connect.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.greeted = threading.Event()
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            try:
                if conn.recv(1):
                    self.greeted.set()
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    try:
        yield hole
    finally:
        hole.close()


def test_sigterm_while_connecting_to_the_database__graceful_exit(
    black_hole: BlackHole, workers: Workers
) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{black_hole.port}/never"
    worker = workers.start(url, None)
    assert black_hole.greeted.wait(30), worker.log_tail()  # it is inside Store.open
    assert worker.terminate(timeout=30) == 0, worker.log_tail()
