"""Statements whose cost grows with the data run off the event loop on SQLite: on a second
connection, through aiosqlite (asyncio) or a worker thread (trio), never the loop's thread."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio

from assistants import AsyncClient
from store.sqlite import SqliteDatabase
from tests.store.test_database_errors import locked


async def test_delete_thread__runs_off_the_loop_on_the_second_connection(
    tmp_path: Path, anyio_backend: str
) -> None:
    """Deleting a thread with many messages runs its DELETEs on the second connection, in
    another thread, and none on the loop's connection; the thread and its rows are gone."""
    async with AsyncClient(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", worker=False
    ) as client:
        thread = await client.threads.create(
            messages=[{"role": "user", "content": f"m{i}"} for i in range(500)]
        )
        store = await client.store()
        db = store.db
        assert isinstance(db, SqliteDatabase)
        loop_thread = threading.get_ident()
        heavy: list[tuple[str, int]] = []
        inline: list[str] = []

        def on_heavy(statement: str) -> None:
            heavy.append((statement, threading.get_ident()))

        aio, conn = await db._heavy_connection()
        if aio is not None:
            await aio.set_trace_callback(on_heavy)
        else:
            assert conn is not None
            conn.set_trace_callback(on_heavy)
        db._require().set_trace_callback(inline.append)
        try:
            deleted = await client.threads.delete(thread.id)
        finally:
            db._require().set_trace_callback(None)
        assert deleted.deleted is True
        deletes = [(s, t) for s, t in heavy if s.startswith("DELETE FROM messages")]
        assert deletes
        assert all(t != loop_thread for _, t in deletes)
        assert not [s for s in inline if s.startswith("DELETE")]
        left = await db.fetchrow(
            "SELECT count(*) AS n FROM messages WHERE thread_id = :t", {"t": thread.id}
        )
        assert left is not None
        assert left["n"] == 0


async def test_delete_thread__waits_off_the_loop_for_another_process_lock(
    tmp_path: Path, anyio_backend: str
) -> None:
    """While another process holds the write lock the deletion waits in its thread (the loop
    answers reads meanwhile), then completes once the lock goes."""
    path = tmp_path / "db.sqlite"
    async with AsyncClient(database_url=f"sqlite+aiosqlite:///{path}", worker=False) as client:
        thread = await client.threads.create(messages=[{"role": "user", "content": "a"}])
        other = await client.threads.create()
        done = anyio.Event()

        async def delete() -> None:
            await client.threads.delete(thread.id)
            done.set()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg, locked(path):
                tg.start_soon(delete)
                await anyio.wait_all_tasks_blocked()
                assert not done.is_set()
                assert (await client.threads.retrieve(other.id)).id == other.id
            assert done.is_set()
        listed = await client.threads.messages.list(other.id)
        assert listed.data == []


async def test_search__a_read_off_the_loop_that_never_waits_for_the_write_lock(
    tmp_path: Path, anyio_backend: str
) -> None:
    """A vector store search reads on the second connection without taking the write lock, so
    it answers while another process holds that lock (a write would wait for it)."""
    path = tmp_path / "db.sqlite"
    async with AsyncClient(database_url=f"sqlite+aiosqlite:///{path}", poll_seconds=0.05) as client:
        vs = await client.vector_stores.create()
        await client.vector_stores.files.upload_and_poll(
            vector_store_id=vs.id, file=("bell.txt", b"The bell rings at noon.")
        )
        store = await client.store()
        row = await store.db.fetchrow(
            "SELECT project FROM vector_stores WHERE id = :id", {"id": vs.id}
        )
        assert row is not None
        with anyio.fail_after(10):
            async with locked(path):
                found = await store.vector_stores.search(row["project"], [vs.id], "bell", limit=3)
        assert [r.filename for r in found] == ["bell.txt"]
