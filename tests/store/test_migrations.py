"""Migrations: applied once, safe to run twice or concurrently, and equal to the canonical schema."""

from __future__ import annotations

import uuid

import anyio
import pytest

from store.db import open_database
from store.errors import ConfigurationError
from store.migrate import (
    Migration,
    applied_versions,
    current_version,
    latest_version,
    migrations,
    pending,
    upgrade,
)
from store.store import Store
from tests.conftest import NO_POSTGRES, POSTGRES_URL, _drop_schema, _make_schema
from tests.helpers import apply_first_migration


async def test_upgrade__twice_and_concurrently_applies_each_migration_once(
    database_url: str,
) -> None:
    """`db upgrade` run twice is a no-op; two upgraders at once apply each migration once."""
    first = open_database(database_url)
    await first.connect()
    try:
        results: list[list[int]] = []

        async def run() -> None:
            results.append(await upgrade(first))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            tg.start_soon(run)
        # Each migration applied exactly once, by one upgrader or the other (each takes the
        # lock per migration, so the two may share the work).
        assert sorted(v for r in results for v in r) == [
            m.version for m in migrations(first.dialect)
        ]
        assert await upgrade(first) == []
        assert await current_version(first) == latest_version()
        rows = await first.fetch("SELECT version FROM schema_version")
        assert len(rows) == len(migrations(first.dialect))
    finally:
        await first.close()


async def test_upgrade__applies_a_migration_numbered_below_the_newest_recorded(
    database_url: str,
) -> None:
    """Migrations may reach a database in any order: one recorded as 0005 first, then 0004
    arrives; the upgrade applies 0004 although it is below the newest recorded version."""
    db = open_database(database_url)
    await db.connect()
    try:
        released = migrations(db.dialect)
        top = released[-1].version
        later = Migration(top + 2, f"{top + 2:04d}_later.sql", "CREATE TABLE later (id INTEGER)")
        earlier = Migration(
            top + 1, f"{top + 1:04d}_earlier.sql", "CREATE TABLE earlier (id INTEGER)"
        )
        assert await upgrade(db, [*released, later]) == [m.version for m in released] + [top + 2]
        assert [m.version for m in await pending(db, [*released, earlier, later])] == [top + 1]
        assert await upgrade(db, [*released, earlier, later]) == [top + 1]
        assert await upgrade(db, [*released, earlier, later]) == []
        assert await applied_versions(db) == {m.version for m in released} | {top + 1, top + 2}
        assert await current_version(db) == top + 2
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO earlier (id) VALUES (1)")
        row = await db.fetchrow("SELECT count(*) AS n FROM earlier")
        assert row is not None
        assert row["n"] == 1
    finally:
        await db.close()


async def test_schema_check__names_a_missing_migration_below_the_newest(database_url: str) -> None:
    """A worker (create=False) on a database that has the newest migration but lacks an
    earlier one is refused, naming the missing file and `assistants db upgrade`."""
    store = await Store.open(database_url)
    try:
        second = migrations(store.db.dialect)[1]
        async with store.db.transaction() as tx:
            await tx.execute("DELETE FROM schema_version WHERE version = :v", {"v": second.version})
        assert await current_version(store.db) == latest_version()
        with pytest.raises(ConfigurationError) as info:
            await store.ensure_schema(create=False)
        assert f"lacks migration(s) {second.name}: run 'assistants db upgrade'" in str(info.value)
    finally:
        await store.close()


async def test_open_without_create__names_db_upgrade(database_url: str) -> None:
    """A worker (create=False) on an empty database says to run `assistants db upgrade`."""
    with pytest.raises(ConfigurationError, match="run 'assistants db upgrade'"):
        await Store.open(database_url, create=False)


async def test_older_schema__worker_told_to_run_db_upgrade(database_url: str) -> None:
    """A worker (create=False) on a database migrated by an older release names its version
    and `assistants db upgrade`; the upgrade then brings it to this release's."""
    db = open_database(database_url)
    await db.connect()
    try:
        first = await apply_first_migration(db)
        store = Store(db)
        with pytest.raises(ConfigurationError) as info:
            await store.ensure_schema(create=False)
        message = str(info.value)
        assert f"has schema version {first}, this release needs {latest_version()}" in (message)
        assert "run 'assistants db upgrade'" in message
        await store.ensure_schema(create=True)
        assert await current_version(db) == latest_version()
    finally:
        await db.close()


async def test_newer_schema__refused_with_a_clear_error(database_url: str) -> None:
    """A database migrated by a newer release is refused, not silently used."""
    store = await Store.open(database_url)
    try:
        async with store.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (:v, 0)",
                {"v": latest_version() + 1},
            )
        with pytest.raises(ConfigurationError, match="newer than this release"):
            await store.ensure_schema()
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_migrations__match_the_tables(anyio_backend: str) -> None:
    """On Postgres, the migrations build the same columns and indexes as the SQLModel tables."""
    assert POSTGRES_URL is not None, NO_POSTGRES  # skipped at collection without it
    import asyncpg

    from store.tables import metadata

    migrated, reference = f"t_{uuid.uuid4().hex[:10]}", f"t_{uuid.uuid4().hex[:10]}"
    await _make_schema(migrated)
    await _make_schema(reference)
    dsn = "postgresql://" + POSTGRES_URL.split("://", 1)[1]
    try:
        store = await Store.open(f"{POSTGRES_URL}?search_path={migrated}")
        await store.close()
        conn = await asyncpg.connect(dsn, server_settings={"search_path": reference})
        try:
            from sqlalchemy.dialects import postgresql
            from sqlalchemy.schema import CreateIndex, CreateTable

            pg = postgresql.dialect()  # type: ignore[no-untyped-call]
            for table in metadata.sorted_tables:
                await conn.execute(str(CreateTable(table).compile(dialect=pg)))
                for index in table.indexes:
                    await conn.execute(str(CreateIndex(index).compile(dialect=pg)))

            async def describe(
                schema: str,
            ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
                columns = await conn.fetch(
                    "SELECT table_name, column_name, data_type, is_nullable, column_default "
                    "FROM information_schema.columns WHERE table_schema = $1 "
                    "ORDER BY table_name, column_name",
                    schema,
                )
                indexes = await conn.fetch(
                    "SELECT tablename, indexname, replace(indexdef, $1, 'S') FROM pg_indexes "
                    "WHERE schemaname = $1 ORDER BY tablename, indexname",
                    schema,
                )
                return ([tuple(r.values()) for r in columns], [tuple(r.values()) for r in indexes])

            got, want = await describe(migrated), await describe(reference)

            def strip(rows: list[tuple[object, ...]]) -> list[tuple[str, ...]]:
                """Schema names out: defaults print qualified or not depending on search_path."""
                return [
                    tuple(
                        str(v)
                        .replace(f"{migrated}.", "")
                        .replace(f"{reference}.", "")
                        .replace(migrated, "S")
                        .replace(reference, "S")
                        for v in r
                    )
                    for r in rows
                ]

            assert strip(got[0]) == strip(want[0])
            assert strip(got[1]) == strip(want[1])
            assert len(got[1]) > 10
        finally:
            await conn.close()
    finally:
        await _drop_schema(migrated)
        await _drop_schema(reference)


async def test_embedding_dims__filled_in_for_chunks_embedded_before_it(database_url: str) -> None:
    """Migration 0011 records the length of the embeddings already stored (and none for a chunk
    without one), so a search can refuse foreign vectors by it."""
    db = open_database(database_url)
    await db.connect()
    try:
        before = [m for m in migrations(db.dialect) if m.version < 11]
        await upgrade(db, before)
        blob = (b"\x00\x00\x80\x3f" * 5) if db.dialect == "sqlite" else [1.0] * 5
        async with db.transaction() as tx:
            for seq, embedding in ((1, blob), (2, None)):
                await tx.execute(
                    "INSERT INTO chunks (seq, vector_store_id, file_id, position, text, tokens, "
                    "embedding, embedding_model) VALUES (:seq, 'vs', 'f', :seq, 't', 1, :e, :m)",
                    {"seq": seq, "e": embedding, "m": "m" if embedding else None},
                )
        assert await upgrade(db) == [m.version for m in migrations(db.dialect)[len(before) :]]
        rows = await db.fetch("SELECT seq, embedding_dims FROM chunks ORDER BY seq")
        assert [(r["seq"], r["embedding_dims"]) for r in rows] == [(1, 5), (2, None)]
    finally:
        await db.close()
