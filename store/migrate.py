"""Versioned schema migrations: plain SQL files per dialect, applied in order, each once.

`store/migrations/<dialect>/NNNN_name.sql` holds the statements of migration NNNN. Applying one
runs its statements and records its version in `schema_version`, in one transaction, under a
lock (SQLite's write lock; a Postgres transaction-scoped advisory lock), so two processes that
upgrade at once apply each migration exactly once. A test proves that the migrations of each
dialect build exactly the schema of `schema.sql` / `store/tables.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from store.base import now
from store.db import Database, Params, Row

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x41535354  # "ASST": the advisory lock that serialises upgrades on Postgres


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The migration's statements (files hold no `;` inside literals)."""
        body = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [s.strip() for s in body.split(";") if s.strip()]


def migrations(dialect: str) -> list[Migration]:
    """Every migration for `dialect`, in version order."""
    folder = resources.files("store").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def latest_version(dialect: str = "sqlite") -> int:
    return migrations(dialect)[-1].version


class _Reads(Protocol):
    async def fetchrow(self, sql: str, params: Params | None = None) -> Row | None: ...


async def current_version(db: Database, reader: _Reads | None = None) -> int:
    """The newest applied migration, 0 for an empty database (read through `reader`)."""
    q: _Reads = reader or db
    if db.dialect == "sqlite":
        table = await q.fetchrow(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        )
    else:
        table = await q.fetchrow(
            "SELECT tablename AS name FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'schema_version'"
        )
    if table is None:
        return 0
    row = await q.fetchrow("SELECT max(version) AS v FROM schema_version")
    return 0 if row is None or row["v"] is None else int(row["v"])


async def upgrade(db: Database) -> list[int]:
    """Apply the pending migrations; returns the versions applied (none if up to date)."""
    applied: list[int] = []
    for migration in migrations(db.dialect):
        async with db.transaction() as tx:
            if db.dialect == "postgresql":
                await tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _LOCK_KEY})
            # Re-read inside the lock: another process may have applied it meanwhile.
            if migration.version <= await current_version(db, tx):
                continue
            for statement in migration.statements():
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)",
                {"v": migration.version, "t": now()},
            )
        applied.append(migration.version)
    return applied
