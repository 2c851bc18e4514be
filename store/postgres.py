"""Postgres through an asyncpg pool (the `postgres` extra).

Statements are the store's `:name` SQL, rewritten once each to asyncpg's `$n` placeholders.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from store.db import Dialect, ManyParams, Params, Row, UniqueViolation, render
from store.errors import ConfigurationError, DatabaseUnavailableError, InternalServerError

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


def to_positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`... :a ... :b ... :a` as `... $1 ... $2 ... $1` and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


def _status_count(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgTx:
    def __init__(self, db: PostgresDatabase, conn: Any) -> None:
        self._db = db
        self._conn = conn
        self.committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._db._fetch(self._conn, sql, params)

    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self._db._fetch(self._conn, sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params | None = None) -> int:
        text, args = self._db._prepare(sql, params)
        try:
            status: str = await self._conn.execute(text, *args)
        except Exception as exc:
            raise _translate(exc) from exc
        return _status_count(status)

    async def executemany(self, sql: str, params: ManyParams) -> None:
        text, names = self._db._statement(sql)
        rows = []
        for p in params:
            if isinstance(p, tuple):
                raise TypeError("Positional rows bind SQLite's `?` placeholders: pass mappings")
            rows.append(tuple(p[n] for n in names))
        try:
            await self._conn.executemany(text, rows)
        except Exception as exc:
            raise _translate(exc) from exc


def _translate(exc: Exception) -> Exception:
    import asyncpg  # noqa: PLC0415

    if isinstance(exc, asyncpg.UniqueViolationError):
        return UniqueViolation(str(getattr(exc, "constraint_name", "") or exc))
    if _unavailable(exc):
        return DatabaseUnavailableError(f"The database is unavailable: {type(exc).__name__}: {exc}")
    return exc


def _unavailable(exc: BaseException) -> bool:
    """A lost or refused connection, a server shutting down, a cancelled statement (statement
    timeout): the database failed, not the statement."""
    import asyncpg  # noqa: PLC0415

    if isinstance(exc, asyncpg.InterfaceError):
        return "closed" in str(exc)  # "connection is closed"; other interface errors are bugs
    return isinstance(
        exc,
        OSError | asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError,
    )


async def _keep_session(conn: Any) -> None:
    """Return a connection to the pool as it is: the store keeps no session state (no LISTEN,
    session locks, cursors or `SET` on pooled connections; transactions always end), so the
    default reset (`RESET ALL; UNLISTEN *; ...`, one more round trip per use) buys nothing."""


class PostgresDatabase:
    """Postgres via asyncpg; see `store.db` for the contract."""

    dialect: Dialect = "postgresql"

    def __init__(self, dsn: str, *, url: str, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self._pool: Any = None
        self._cache: dict[str, tuple[str, tuple[str, ...]]] = {}

    async def connect(self) -> None:
        if self._pool is not None:
            return
        try:
            import asyncpg  # noqa: PLC0415
        except ImportError:
            raise ConfigurationError(
                "Postgres needs the 'postgres' extra: pip install 'assistants-runtime[postgres]'."
            ) from None
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=self.min_size, max_size=self.max_size, reset=_keep_session
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def _statement(self, sql: str) -> tuple[str, tuple[str, ...]]:
        cached = self._cache.get(sql)
        if cached is None:
            cached = self._cache[sql] = to_positional(render(sql, "postgresql"))
        return cached

    def _prepare(self, sql: str, params: Params | None) -> tuple[str, list[Any]]:
        text, names = self._statement(sql)
        values = params or {}
        return text, [values[n] for n in names]

    async def _fetch(self, conn: Any, sql: str, params: Params | None) -> list[Row]:
        text, args = self._prepare(sql, params)
        try:
            rows: list[Row] = await conn.fetch(text, *args)
        except Exception as exc:
            raise _translate(exc) from exc
        return rows

    def _require(self) -> Any:
        if self._pool is None:
            raise InternalServerError("The store is closed.")
        return self._pool

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]:
        try:
            async with self._require().acquire() as conn:
                return await self._fetch(conn, sql, params)
        except Exception as exc:
            if _unavailable(exc):
                raise _translate(exc) from exc
            raise

    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def executescript(self, script: str) -> None:
        async with self._require().acquire() as conn:
            await conn.execute(script)

    @asynccontextmanager
    async def listening(
        self, channel: str, callback: Callable[[str], None]
    ) -> AsyncIterator[anyio.Event]:
        """LISTEN on `channel` over a dedicated connection; yields an event set if it is lost."""
        import asyncpg  # noqa: PLC0415

        conn = await asyncpg.connect(self.dsn)
        lost = anyio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(channel, lambda _c, _pid, _ch, payload: callback(payload))
            yield lost
        finally:
            with anyio.CancelScope(shield=True):
                if not conn.is_closed():
                    await conn.close(timeout=5)

    @asynccontextmanager
    async def transaction(
        self, *, heavy: bool = False, readonly: bool = False
    ) -> AsyncIterator[_PgTx]:
        """A transaction on a pooled connection (`heavy` or not: the server does the work);
        `readonly` makes Postgres refuse any write in it."""
        try:
            async with self._require().acquire() as conn:
                tx = _PgTx(self, conn)
                async with conn.transaction(readonly=readonly):
                    yield tx
        except Exception as exc:
            # Acquiring, beginning or committing on a lost connection: nothing was committed.
            if _unavailable(exc):
                raise _translate(exc) from exc
            raise
        for callback in tx.committed:
            callback()
