"""SQLite: one `sqlite3` connection called inline on the event loop's thread, a second one off
the loop for heavy transactions (`store.db` says which statements run where, and why).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import anyio.lowlevel
import anyio.to_thread

from store.db import Dialect, ManyParams, Params, Row, Tx, render
from store.errors import DatabaseUnavailableError, InternalServerError
from store.sqlite_errors import integrity, unavailable
from store.vectors import vec_dot

CHECKPOINT_EVERY = 200
"""Commits between background WAL checkpoints (SQLite's own default is about every 1,000 pages)."""


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


class _SqliteTx:
    __slots__ = ("_db", "committed")

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self.committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._db._run(sql, params).fetchall()

    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None:
        row: Row | None = self._db._run(sql, params).fetchone()
        return row

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return self._db._run(sql, params).rowcount

    async def executemany(self, sql: str, params: ManyParams) -> None:
        conn = self._db._require()
        try:
            conn.executemany(self._db._sql(sql), params)
        except sqlite3.IntegrityError as exc:
            raise integrity(exc) from exc
        except sqlite3.OperationalError as exc:
            raise unavailable(exc, self._db.path) from exc


def _on_asyncio() -> bool:
    """Whether the running event loop is asyncio's (aiosqlite needs it; trio is the other)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _HeavyTx:
    """A transaction on the second SQLite connection, whose every statement runs off the loop:
    through aiosqlite on asyncio, from a worker thread on trio."""

    __slots__ = ("_aio", "_conn", "_db", "committed")

    def __init__(
        self, db: SqliteDatabase, aio: aiosqlite.Connection | None, conn: sqlite3.Connection | None
    ) -> None:
        self._db = db
        self._aio = aio
        self._conn = conn
        self.committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    async def _call(
        self, sql: str, params: Params | ManyParams, many: bool, counted: bool = False
    ) -> Any:
        """(rows, rowcount) of the statement, run off the loop (rowcount -1 unless `counted`)."""
        text = self._db._sql(sql)
        try:
            if self._aio is not None:
                if many:
                    await self._aio.executemany(text, params)
                    return [], -1
                if not counted:  # one hop to the connection's thread, not three
                    return list(await self._aio.execute_fetchall(text, params)), -1
                async with self._aio.execute(text, params) as cursor:
                    rows = await cursor.fetchall()
                    return list(rows), cursor.rowcount
            conn = self._conn
            assert conn is not None

            def call() -> tuple[list[Row], int]:
                if many:
                    conn.executemany(text, params)
                    return [], -1
                cursor = conn.execute(text, params)
                return cursor.fetchall(), cursor.rowcount

            return await anyio.to_thread.run_sync(call)
        except sqlite3.IntegrityError as exc:
            raise integrity(exc) from exc
        except sqlite3.OperationalError as exc:
            raise unavailable(exc, self._db.path) from exc

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]:
        rows, _ = await self._call(sql, params or {}, False)
        return rows  # type: ignore[no-any-return]

    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None:
        rows, _ = await self._call(sql, params or {}, False)
        return rows[0] if rows else None

    async def control(self, statement: str) -> None:
        """`BEGIN ...`, `COMMIT` or `ROLLBACK`, in one hop to the connection's thread."""
        await self._call(statement, {}, False)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        _, count = await self._call(sql, params or {}, False, counted=True)
        return int(count)

    async def executemany(self, sql: str, params: ManyParams) -> None:
        await self._call(sql, params, True)


class SqliteDatabase:
    """SQLite through the standard `sqlite3` module, called inline (see `store.db`)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, url: str, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.url = url
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._in_tx = False
        self._sql_cache: dict[str, str] = {}
        self._commits = 0
        self._checkpointer: threading.Thread | None = None
        # The second connection, for heavy transactions (opened on first use, one at a time).
        self._heavy_lock: anyio.Lock | None = None
        self._aio: aiosqlite.Connection | None = None
        self._threaded: sqlite3.Connection | None = None

    async def connect(self) -> None:
        if self._conn is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = _dict_row
        conn.create_function("vec_dot", 2, vec_dot, deterministic=True)
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
            # Checkpoints move the log into the database file: ms-scale work that would stall
            # the event loop inside a COMMIT. A background thread does them instead.
            conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Temporary b-trees (a claim's ordering of the projects' queued runs) stay in memory: as
        # files, each statement that needs one creates and deletes a file.
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA foreign_keys=ON")
        self._conn = conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if self._checkpointer is not None:
            self._checkpointer.join()
        aio, self._aio = self._aio, None
        if aio is not None:
            await aio.close()
        threaded, self._threaded = self._threaded, None
        if threaded is not None:
            threaded.close()
        if conn is not None:
            conn.close()

    def _configure(self, conn: sqlite3.Connection) -> None:
        """The second connection's settings: the first's, but waiting for locks in its thread."""
        conn.row_factory = _dict_row
        conn.create_function("vec_dot", 2, vec_dot, deterministic=True)
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")

    async def _heavy_connection(
        self,
    ) -> tuple[aiosqlite.Connection | None, sqlite3.Connection | None]:
        """The second connection (aiosqlite on asyncio, a thread-driven one on trio)."""
        self._require()
        if _on_asyncio():
            if self._aio is None:
                aio = await aiosqlite.connect(self.path, isolation_level=None)
                aio.row_factory = _dict_row  # type: ignore[assignment]
                await aio.create_function("vec_dot", 2, vec_dot, deterministic=True)
                await aio.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                await aio.execute("PRAGMA synchronous=NORMAL")
                await aio.execute("PRAGMA foreign_keys=ON")
                self._aio = aio
            return self._aio, None
        if self._threaded is None:

            def connect() -> sqlite3.Connection:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._configure(conn)
                return conn

            self._threaded = await anyio.to_thread.run_sync(connect)
        return None, self._threaded

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise InternalServerError("The store is closed.")
        return self._conn

    def _sql(self, sql: str) -> str:
        cached = self._sql_cache.get(sql)
        if cached is None:
            cached = self._sql_cache[sql] = render(sql, "sqlite")
        return cached

    def _run(self, sql: str, params: Params | None) -> sqlite3.Cursor:
        conn = self._require()
        try:
            return conn.execute(self._sql(sql), params or {})
        except sqlite3.IntegrityError as exc:
            raise integrity(exc) from exc
        except sqlite3.OperationalError as exc:
            raise unavailable(exc, self.path) from exc

    def _guard_outside_tx(self) -> None:
        if self._in_tx:
            raise InternalServerError(
                "A store transaction suspended while open; this is a bug in the store."
            )

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]:
        self._guard_outside_tx()
        return self._run(sql, params).fetchall()

    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None:
        self._guard_outside_tx()
        row: Row | None = self._run(sql, params).fetchone()
        return row

    async def executescript(self, script: str) -> None:
        self._guard_outside_tx()
        try:
            self._require().executescript(script)
        except sqlite3.OperationalError as exc:
            raise unavailable(exc, self.path) from exc

    async def _begin(self) -> None:
        """`BEGIN IMMEDIATE`, waiting asynchronously while another connection holds the lock."""
        conn = self._require()
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.0005
        while True:
            self._guard_outside_tx()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                error = unavailable(exc, self.path)
                if not isinstance(error, DatabaseUnavailableError):
                    raise error from exc
                if error.code != "database_locked" or time.monotonic() >= deadline:
                    raise error from exc
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.05)
            else:
                return

    def transaction(
        self, *, heavy: bool = False, readonly: bool = False
    ) -> AbstractAsyncContextManager[Tx]:
        if heavy and self.path != ":memory:":
            return self._heavy_transaction(readonly)
        return self._inline_transaction()

    @asynccontextmanager
    async def _heavy_transaction(self, readonly: bool) -> AsyncIterator[_HeavyTx]:
        """`BEGIN IMMEDIATE` ... `COMMIT` on the second connection, off the loop; a read-only one
        is a deferred `BEGIN`: in WAL mode a reader never waits for the writer, nor it for him."""
        if self._heavy_lock is None:
            self._heavy_lock = anyio.Lock()
        async with self._heavy_lock:
            aio, conn = await self._heavy_connection()
            tx = _HeavyTx(self, aio, conn)
            await tx.control("BEGIN" if readonly else "BEGIN IMMEDIATE")
            try:
                yield tx
                await tx.control("COMMIT")
            except BaseException:
                with anyio.CancelScope(shield=True):
                    if aio.in_transaction if aio is not None else conn and conn.in_transaction:
                        await tx.control("ROLLBACK")
                raise
        for callback in tx.committed:
            callback()

    @asynccontextmanager
    async def _inline_transaction(self) -> AsyncIterator[_SqliteTx]:
        # The loop's turn first: writes in a row (a run that ends, a run that starts) let the
        # other tasks run between them instead of stalling them for the sum, as on Postgres.
        # Shielded: it changes where tasks interleave, not where they can be cancelled. (A turn
        # only when none was given for a while, timed per database, was tried: under load some
        # other task's turn had always just reset the clock, and the long chains stayed whole.)
        await anyio.lowlevel.cancel_shielded_checkpoint()
        await self._begin()
        conn = self._require()
        self._in_tx = True
        tx = _SqliteTx(self)
        try:
            yield tx
        except BaseException:
            self._in_tx = False
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._in_tx = False
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise unavailable(exc, self.path) from exc
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and self.path != ":memory:":
            self._checkpoint_in_background()
        for callback in tx.committed:
            callback()

    def _checkpoint_in_background(self) -> None:
        """Copy the write-ahead log into the database from another thread and connection."""
        if self._checkpointer is not None and self._checkpointer.is_alive():
            return

        def checkpoint() -> None:
            try:
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    conn.close()
            except sqlite3.Error:
                pass  # the next checkpoint catches up; the log is still consistent

        self._checkpointer = threading.Thread(
            target=checkpoint, name="sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()
