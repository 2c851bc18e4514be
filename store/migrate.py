"""Versioned schema migrations: plain SQL files per dialect, applied in order, each once.

`store/migrations/<dialect>/NNNN_name.sql` holds the statements of migration NNNN. Applying one
runs its statements and records its version in `schema_version`, in one transaction, under a
lock (SQLite's write lock; a Postgres transaction-scoped advisory lock), so two processes that
upgrade at once apply each migration exactly once. Every migration whose version is not recorded
is pending, not only those above the newest recorded one: migrations written in parallel may
reach a database in any order (0005 before 0004), and the late one still applies. A test proves
that the migrations of each dialect build exactly the schema of `schema.sql` / `store/tables.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]: ...


async def applied_versions(db: Database, reader: _Reads | None = None) -> set[int]:
    """The versions recorded in `schema_version`, none for an empty database (read through
    `reader`)."""
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
        return set()
    rows = await q.fetch("SELECT version FROM schema_version")
    return {int(row["version"]) for row in rows}


async def current_version(db: Database, reader: _Reads | None = None) -> int:
    """The newest applied migration, 0 for an empty database (read through `reader`)."""
    return max(await applied_versions(db, reader), default=0)


async def pending(db: Database, available: Sequence[Migration] | None = None) -> list[Migration]:
    """The migrations of `available` (this release's by default) not recorded, in order."""
    known = migrations(db.dialect) if available is None else available
    done = await applied_versions(db)
    return [m for m in known if m.version not in done]


async def upgrade(db: Database, available: Sequence[Migration] | None = None) -> list[int]:
    """Apply every migration of `available` (this release's by default) not yet recorded, in
    version order; returns the versions applied (none if up to date)."""
    applied: list[int] = []
    for migration in migrations(db.dialect) if available is None else available:
        async with db.transaction() as tx:
            if db.dialect == "postgresql":
                await tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _LOCK_KEY})
            # Re-read inside the lock: another process may have applied it meanwhile.
            if migration.version in await applied_versions(db, tx):
                continue
            for statement in migration.statements():
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)",
                {"v": migration.version, "t": now()},
            )
        applied.append(migration.version)
    return applied
