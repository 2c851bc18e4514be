"""`Tx.executemany` rows: mappings for `:name` placeholders everywhere, tuples for `?` on SQLite
(the run event log writes its token deltas so), refused with a TypeError on Postgres."""

from __future__ import annotations

import pytest

from store.store import Store


async def test_executemany__mappings_everywhere_tuples_on_sqlite(store: Store) -> None:
    """Both kinds of rows are written in order on SQLite; on Postgres tuples are refused and
    the transaction writes nothing."""
    db = store.db
    async with db.transaction() as tx:
        await tx.execute("CREATE TEMP TABLE many_rows (a INTEGER, b TEXT)")
        await tx.executemany(
            "INSERT INTO many_rows (a, b) VALUES (:a, :b)", [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
        )
        if db.dialect == "sqlite":
            await tx.executemany("INSERT INTO many_rows (a, b) VALUES (?, ?)", [(3, "z")])
        else:
            with pytest.raises(TypeError, match="Positional rows bind SQLite's"):
                await tx.executemany("INSERT INTO many_rows (a, b) VALUES (:a, :b)", [(3, "z")])
        rows = await tx.fetch("SELECT a, b FROM many_rows ORDER BY a")
    expected = [(1, "x"), (2, "y")] + ([(3, "z")] if db.dialect == "sqlite" else [])
    assert [(r["a"], r["b"]) for r in rows] == expected
