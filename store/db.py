"""Database access: the one small place where SQLite and Postgres differ.

Every statement of the store is plain SQL with `:name` parameters and the `{now}` placeholder for
the database clock (fractional Unix seconds). A `Database` runs it on the driver directly:

- SQLite (`store.sqlite`): one `sqlite3` connection per `Database`, called inline on the loop,
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
- Postgres (`store.postgres`): an asyncpg pool (extra `postgres`); `:name` is rewritten to `$n`
  once per statement; `heavy` changes nothing (the server does the work; the loop only awaits it).

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
cannot break silently. Before it begins, an inline transaction gives the loop a turn (shielded:
no cancellation is delivered there), so a task writing several transactions in a row (a run
ending, a run starting) lets the other tasks run between them instead of stalling them for the
sum, as Postgres's awaits do.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from store.errors import ConfigurationError

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
# (SQLite's 'now' is fixed for a statement; Postgres's now() for a transaction). SQLite's clock
# is whole milliseconds, and a Julian day's double loses enough of them that an exact second N
# comes out as N - 0.00002 for about half of all seconds, which truncates to N - 1: half a
# millisecond added keeps every millisecond in its own second.
_SECONDS_SQL: dict[Dialect, str] = {
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400.0 + 0.0005 AS INTEGER)",
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
        from store.sqlite import SqliteDatabase  # noqa: PLC0415  (it imports this module)

        return SqliteDatabase(parsed.path, url=url, busy_timeout=timeout)
    from store.postgres import PostgresDatabase  # noqa: PLC0415  (asyncpg is an optional extra)

    assert parsed.dsn is not None
    return PostgresDatabase(parsed.dsn, url=url)


def render(sql: str, dialect: Dialect) -> str:
    """Fill the `{now}` placeholder with the dialect's database-clock expression (seconds, with
    fractions) and `{now_s}` with its whole seconds (for API timestamps)."""
    return sql.replace("{now}", _NOW_SQL[dialect]).replace("{now_s}", _SECONDS_SQL[dialect])
