"""Database access: the one small place where SQLite and Postgres differ.

Every statement of the store is plain SQL with `:name` parameters and the `{now}` placeholder for
the database clock (fractional Unix seconds). A `Database` runs it on the driver directly:

- SQLite: one `sqlite3` connection per `Database`, called inline on the event loop's thread,
  for bounded statements. In WAL mode with `synchronous=NORMAL` a commit does not fsync, so a
  statement costs tens of microseconds: far less than the thread hop that aiosqlite (or any
  thread bridge) pays per call, and with no hop there is nothing asyncio-specific, so this path
  also runs under trio. The one way SQLite can block, waiting for another process's write lock,
  is never waited out on the loop: the busy timeout is 0 and `BEGIN IMMEDIATE` is retried with an
  async sleep instead (up to `busy_timeout`, `?timeout=` in the URL).
  Statements whose cost grows with the data run in a `transaction(heavy=True)`: off the loop, on
  a second connection through aiosqlite (on trio, where aiosqlite cannot run, the same
  connection is driven from a worker thread by `anyio.to_thread`). WAL lets the inline
  connection keep reading beside it; its writes wait (asynchronously) for the heavy commit.
  An in-memory database has no second connection: everything runs inline there.
- Postgres: an asyncpg pool (extra `postgres`); `:name` is rewritten to `$n` once per statement;
  `heavy` changes nothing (the server does the work; the loop only awaits it).

Which SQLite statements run where, and why:

    statement                                         cost grows with        runs
    ------------------------------------------------  ---------------------  --------------------
    point reads and writes by id, status changes       nothing (index seeks)  inline
    claims, leases, sweeps (partial indexes)          live runs only         inline
    list pages, `limit` <= 100                        the page               inline
    a run's steps and own messages                    the run (its steps)    inline
    prompt history pages (`store.context`)            the page (20..100)     inline, the loop
                                                                             runs between pages
    event-log replay, 1,000 events a page            the page               inline
    deleting a thread (its messages, runs, steps,     the thread             heavy: off the loop
      events)
    migrations (`executescript`)                      the schema             inline, at start-up

Any SQLite failure of the database rather than of a statement (locked past the wait, full,
read-only, I/O) is raised as the store's `DatabaseUnavailableError`, naming the cause.

A write transaction is `async with db.transaction() as tx:`. On SQLite the body runs with no
suspension between statements (the store never awaits anything else inside one), and the
connection refuses a statement from another task while a transaction is open, so that invariant
cannot break silently.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import aiosqlite
import anyio
import anyio.to_thread

from store.errors import ConfigurationError, DatabaseUnavailableError, InternalServerError

Params = Mapping[str, Any]
Row = Mapping[str, Any]
ManyParams = Sequence[Params] | Sequence[tuple[Any, ...]]
"""`executemany`'s rows: mappings for `:name` placeholders, or on SQLite tuples for `?` ones
(which sqlite3 binds without a lookup per value: token deltas are logged by the thousand)."""
Dialect = Literal["sqlite", "postgresql"]

_NOW_SQL: dict[Dialect, str] = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "extract(epoch from clock_timestamp())::float8",
}
# Whole seconds of the database clock, the same value wherever it appears in one statement
# (SQLite's 'now' is fixed for a statement; Postgres's now() for a transaction).
_SECONDS_SQL: dict[Dialect, str] = {
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400.0 AS INTEGER)",
    "postgresql": "floor(extract(epoch from now()))::bigint",
}


class UniqueViolation(Exception):
    """A statement broke a unique constraint; `constraint` names it when the driver says."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


class Tx(Protocol):
    """Statements inside one transaction."""

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]: ...

    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None: ...

    async def execute(self, sql: str, params: Params | None = None) -> int: ...

    async def executemany(self, sql: str, params: ManyParams) -> None: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed (never if it rolls back)."""
        ...


class Database(Protocol):
    """A connection to one store database."""

    dialect: Dialect
    url: str

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(
        self, *, heavy: bool = False, readonly: bool = False
    ) -> AbstractAsyncContextManager[Tx]:
        """A write transaction; `heavy` when its statements' cost grows with the data (SQLite
        runs those off the event loop; see the module docstring); `readonly` when it only reads
        (a snapshot that neither takes nor waits for the write lock)."""
        ...

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]: ...

    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None: ...

    async def executescript(self, script: str) -> None: ...


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed `ASSISTANTS_DATABASE_URL`."""

    dialect: Dialect
    url: str
    path: str | None = None  # SQLite only: a file path or ":memory:"
    dsn: str | None = None  # Postgres only: the asyncpg DSN
    timeout: float | None = None  # SQLite only: `?timeout=` seconds to wait for a write lock

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        for prefix in ("sqlite+aiosqlite://", "sqlite://"):
            if url.startswith(prefix):
                rest = url[len(prefix) :]
                if not rest.startswith("/"):
                    break
                path, _, query = rest[1:].partition("?")
                if path in ("", ":memory:"):
                    path = ":memory:"
                return cls("sqlite", url, path=path, timeout=_sqlite_timeout(url, query))
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return cls("postgresql", url, dsn="postgresql://" + url[len(prefix) :])
        raise ConfigurationError(
            f"Unsupported database URL {url!r}: use 'sqlite+aiosqlite:///path.db', "
            "'sqlite+aiosqlite:///:memory:' or 'postgresql+asyncpg://user@host/db'."
        )


def _sqlite_timeout(url: str, query: str) -> float | None:
    """The `timeout` query parameter of a SQLite URL (seconds, as SQLAlchemy's SQLite dialect
    reads it), refusing a malformed one."""
    for name, value in urllib.parse.parse_qsl(query):
        if name == "timeout":
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds < float("inf"):
                raise ConfigurationError(
                    f"Invalid timeout {value!r} in the database URL {url!r}: expected seconds "
                    "(a number >= 0), e.g. '?timeout=5'."
                )
            return seconds
    return None


def open_database(url: str, *, busy_timeout: float = 30.0) -> Database:
    """A `Database` for `url` (not yet connected). On SQLite, `?timeout=` in the URL, else
    `busy_timeout`, is how long a write waits for another process's lock."""
    parsed = DatabaseURL.parse(url)
    if parsed.dialect == "sqlite":
        assert parsed.path is not None
        timeout = busy_timeout if parsed.timeout is None else parsed.timeout
        return SqliteDatabase(parsed.path, url=url, busy_timeout=timeout)
    from store.postgres import PostgresDatabase  # noqa: PLC0415  (asyncpg is an optional extra)

    assert parsed.dsn is not None
    return PostgresDatabase(parsed.dsn, url=url)


def render(sql: str, dialect: Dialect) -> str:
    """Fill the `{now}` placeholder with the dialect's database-clock expression (seconds, with
    fractions) and `{now_s}` with its whole seconds (for API timestamps)."""
    return sql.replace("{now}", _NOW_SQL[dialect]).replace("{now_s}", _SECONDS_SQL[dialect])


# --- SQLite -------------------------------------------------------------------------------------

CHECKPOINT_EVERY = 200
"""Commits between background WAL checkpoints (SQLite's own default is about every 1,000 pages)."""

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\S+)")


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


FOREIGN_VECTOR = 2.0
"""What `vec_dot` gives two vectors of different lengths: above any cosine, so it sorts first."""


def vec_dot(a: bytes | None, b: bytes | None) -> float | None:
    """SQL `vec_dot(x, y)` on SQLite: the dot product of two float32 vectors (chunk embeddings),
    computed in the connection's thread; `FOREIGN_VECTOR` if their lengths differ."""
    if a is None or b is None:
        return None
    if len(a) != len(b):
        return FOREIGN_VECTOR
    # numpy (~100 ms to import) loads with the first vector search, not with the package
    import numpy as np  # noqa: PLC0415

    return float(np.dot(np.frombuffer(a, "<f4"), np.frombuffer(b, "<f4")))


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
            raise _integrity(exc) from exc
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc, self._db.path) from exc


def _unavailable(exc: sqlite3.Error, path: str) -> Exception:
    """A SQLite failure of the database rather than of the statement (locked by another
    process, full, read-only, an I/O error) as the store's `DatabaseUnavailableError`, naming
    the cause; any other error (a bug in a statement) as it is."""
    name = getattr(exc, "sqlite_errorname", "")
    where = f"The SQLite database {path!r}"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseUnavailableError(
            f"{where} is locked by another connection ({exc}); retry shortly.",
            code="database_locked",
        )
    if name == "SQLITE_FULL":
        return DatabaseUnavailableError(
            f"{where} is full: the disk or its size limit is reached ({exc}); nothing was "
            "written. Free space, then retry.",
            code="database_full",
            retry_after=None,
        )
    if name.startswith("SQLITE_READONLY"):
        return DatabaseUnavailableError(
            f"{where} is read-only ({exc}); nothing was written.",
            code="database_read_only",
            retry_after=None,
        )
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")):
        return DatabaseUnavailableError(
            f"{where} failed with an I/O error ({exc}); nothing was written.",
            code="database_io_error",
        )
    return exc


def _on_asyncio() -> bool:
    """Whether the running event loop is asyncio's (aiosqlite needs it; trio is the other)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _integrity(exc: sqlite3.IntegrityError) -> Exception:
    match = _SQLITE_UNIQUE.search(str(exc))
    if match:
        return UniqueViolation(match.group(1))
    return exc


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
            raise _integrity(exc) from exc
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc, self._db.path) from exc

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
    """SQLite through the standard `sqlite3` module, called inline (see the module docstring)."""

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
            raise _integrity(exc) from exc
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc, self.path) from exc

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
            raise _unavailable(exc, self.path) from exc

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
                error = _unavailable(exc, self.path)
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
            raise _unavailable(exc, self.path) from exc
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
