"""SQLite's failures as the store's errors: a broken unique constraint as `UniqueViolation`, a
failure of the database rather than of a statement as `DatabaseUnavailableError`."""

from __future__ import annotations

import re
import sqlite3

from store.db import UniqueViolation
from store.errors import DatabaseUnavailableError

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\S+)")


def unavailable(exc: sqlite3.Error, path: str) -> Exception:
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


def integrity(exc: sqlite3.IntegrityError) -> Exception:
    match = _SQLITE_UNIQUE.search(str(exc))
    if match:
        return UniqueViolation(match.group(1))
    return exc
