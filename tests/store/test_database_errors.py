"""A SQLite database that cannot take a write (locked by another process past the wait, full,
read-only) answers a 503 naming the cause, in OpenAI's error shape, and loses nothing: the same
write succeeds once the cause is gone, and a run whose write failed is re-queued and completes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from assistants import AsyncClient
from assistants.server.guard import error_response
from store.db import DatabaseURL
from store.errors import ConfigurationError, DatabaseUnavailableError
from store.sqlite import SqliteDatabase
from store.store import Store
from tests.conformance.conftest import LiveServer
from tests.helpers import api_error

# Holds the database's write lock (`BEGIN IMMEDIATE`) from another process: says "locked" once
# it holds it, and lets go when a line arrives on its stdin.
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@asynccontextmanager
async def locked(path: Path) -> AsyncIterator[None]:
    """Another process holds the write lock of `path` inside the block."""
    process: Process = await anyio.open_process(
        [sys.executable, "-c", LOCKER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stdin is not None
        said = BufferedByteReceiveStream(process.stdout)
        assert await said.receive_until(b"\n", 100) == b"locked"
        yield
        await process.stdin.send(b"go\n")
        assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextmanager
def _locked_sync(path: Path) -> Iterator[None]:
    with subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stdin is not None
        try:
            assert process.stdout.readline() == b"locked\n"
            yield
            process.stdin.write(b"go\n")
            process.stdin.flush()
            assert process.wait(30) == 0
        finally:
            if process.returncode is None:
                process.kill()


@pytest.fixture
async def file_client(tmp_path: Path, anyio_backend: str) -> AsyncIterator[AsyncClient]:
    """A client (no worker) on a SQLite file whose writes wait 0.1 s for another's lock."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}?timeout=0.1"
    async with AsyncClient(database_url=url, worker=False) as client:
        await client.store()
        yield client


def _connection(store: Store) -> Any:
    assert isinstance(store.db, SqliteDatabase)
    return store.db._require()


async def test_write__locked_by_another_process__503_then_succeeds(
    file_client: AsyncClient, tmp_path: Path
) -> None:
    """A write the other process's lock outlasts is refused with a retryable 503 naming the
    lock; reads still answer; after the lock goes the same write succeeds."""
    thread = await file_client.threads.create()
    async with locked(tmp_path / "db.sqlite"):
        err = await api_error(lambda: file_client.threads.messages.create(
            thread.id, role="user", content="kept"))  # fmt: skip
        assert isinstance(err, DatabaseUnavailableError)
        assert (err.status_code, err.type, err.code) == (503, "server_error", "database_locked")
        assert err.retry_after is not None
        assert "is locked by another connection" in err.message
        assert (await file_client.threads.retrieve(thread.id)).id == thread.id
    await file_client.threads.messages.create(thread.id, role="user", content="kept")
    listed = await file_client.threads.messages.list(thread.id)
    assert [m.content[0].text.value for m in listed.data] == ["kept"]  # type: ignore[union-attr]


async def test_write__database_full__503_and_nothing_half_written(
    file_client: AsyncClient,
) -> None:
    """A database at its size limit refuses a write with a 503 `database_full`, no retry
    hint, and no half-written rows; once it may grow, the write succeeds."""
    thread = await file_client.threads.create()
    conn = _connection(await file_client.store())
    pages = conn.execute("PRAGMA page_count").fetchone()["page_count"]
    conn.execute(f"PRAGMA max_page_count={pages}")
    big = "x" * 200_000
    err = await api_error(
        lambda: file_client.threads.messages.create(thread.id, role="user", content=big)
    )
    assert (err.status_code, err.code, err.retry_after) == (503, "database_full", None)
    assert "is full" in err.message
    assert (await file_client.threads.messages.list(thread.id)).data == []
    conn.execute("PRAGMA max_page_count=1073741823")
    await file_client.threads.messages.create(thread.id, role="user", content=big)
    assert len((await file_client.threads.messages.list(thread.id)).data) == 1


async def test_write__read_only_database__503_names_it(file_client: AsyncClient) -> None:
    """A read-only database (here `PRAGMA query_only`: SQLite refuses each write with the same
    SQLITE_READONLY a read-only file gives, which chmod cannot produce for root) answers a 503
    `database_read_only`; reads still work."""
    conn = _connection(await file_client.store())
    thread = await file_client.threads.create()
    conn.execute("PRAGMA query_only=ON")
    err = await api_error(file_client.threads.create)
    assert (err.status_code, err.code, err.retry_after) == (503, "database_read_only", None)
    assert "is read-only" in err.message
    assert (await file_client.threads.retrieve(thread.id)).id == thread.id
    conn.execute("PRAGMA query_only=OFF")
    await file_client.threads.create()


def test_database_url__timeout_query() -> None:
    """`?timeout=` sets the lock wait of a SQLite URL; a malformed one is refused clearly."""
    assert DatabaseURL.parse("sqlite+aiosqlite:///a.db?timeout=2.5").timeout == 2.5
    assert DatabaseURL.parse("sqlite+aiosqlite:///a.db").timeout is None
    for bad in ("x", "-1", "inf", "nan"):
        with pytest.raises(ConfigurationError, match="Invalid timeout"):
            DatabaseURL.parse(f"sqlite+aiosqlite:///a.db?timeout={bad}")


def test_http__locked_database__503_with_retry_after(tmp_path: Path) -> None:
    """Over HTTP the locked database is a 503 in OpenAI's error shape with `Retry-After`."""
    path = tmp_path / "server.db"
    client = AsyncClient(database_url=f"sqlite+aiosqlite:///{path}?timeout=0.1", worker=False)
    with LiveServer(client) as server:
        http = server.sdk()
        http.beta.threads.create()  # the database exists
        with _locked_sync(path):
            raw = httpx.post(
                f"{server.base_url}/threads",
                json={},
                headers={"Authorization": "Bearer sk-local", "OpenAI-Beta": "assistants=v2"},
            )
        assert raw.status_code == 503
        assert raw.headers["retry-after"] == "1"
        assert "x-should-retry" not in raw.headers  # the SDK's retry after a second may succeed
        body = raw.json()["error"]
        assert (body["type"], body["code"], body["param"]) == (
            "server_error", "database_locked", None)  # fmt: skip
        assert "is locked by another connection" in body["message"]
        assert http.beta.threads.create().id.startswith("thread_")
        http.close()


def test_http__a_database_that_stays_unwritable__503_the_sdk_does_not_retry() -> None:
    """A full or read-only database (no `Retry-After`) answers `x-should-retry: false`, so
    the openai SDKs raise at once instead of sending the same write again."""
    for code in ("database_read_only", "database_full"):
        error = DatabaseUnavailableError("The database is read-only.", code=code, retry_after=None)
        response = error_response(error, "req_1")
        assert response.status_code == 503
        assert response.headers["x-should-retry"] == "false"
        assert "retry-after" not in response.headers
    locked = error_response(DatabaseUnavailableError("locked", code="database_locked"), "req_2")
    assert (locked.headers["retry-after"], "x-should-retry" in locked.headers) == ("1", False)
