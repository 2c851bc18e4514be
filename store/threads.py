"""Threads and their messages: CRUD scoped by project, and the thread lock runs take too."""

from __future__ import annotations

from typing import Any

from store import ids
from store.base import ACTIVE, now
from store.db import Database, Tx
from store.errors import BadRequestError, not_found
from store.paging import page
from store.rows import (
    MESSAGE_COLUMNS,
    THREAD_COLUMNS,
    dumps,
    loads,
    message_from_row,
    thread_from_row,
)
from store.statuses import MessageStatus, sql_is
from store.types import ListPage, Message, MessageDeleted, Thread, ThreadDeleted


class ThreadPart:
    """The `threads` and `messages` tables (a thread's runs live in `store.runs`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        project: str,
        *,
        messages: list[dict[str, Any]],
        metadata: dict[str, str] | None,
        tool_resources: dict[str, Any] | None,
        extensions: dict[str, Any] | None = None,
    ) -> Thread:
        """Insert a thread and its initial (validated) messages in one transaction."""
        created_at = now()
        async with self.db.transaction() as tx:
            row = await self.insert(
                tx,
                project,
                ids.new_id("thread"),
                created_at,
                {"metadata": metadata, "tool_resources": tool_resources, "extensions": extensions},
            )
            await self.insert_messages(tx, project, row["id"], messages, created_at)
        return thread_from_row(row)

    async def insert(
        self, tx: Tx, project: str, thread_id: str, created_at: int, thread: dict[str, Any]
    ) -> Any:
        """Insert the thread row of a (validated) `thread` body; returns the row."""
        row = await tx.fetchrow(
            "INSERT INTO threads (id, project, created_at, tool_resources, metadata, extensions, "
            "version) VALUES (:id, :project, :created_at, :tool_resources, :metadata, "
            f":extensions, 0) RETURNING {THREAD_COLUMNS}",
            {
                "id": thread_id,
                "project": project,
                "created_at": created_at,
                "tool_resources": dumps(thread.get("tool_resources")),
                "metadata": dumps(thread.get("metadata") or {}),
                "extensions": dumps(thread.get("extensions") or None),
            },
        )
        assert row is not None
        return row

    async def extensions(self, project: str, thread_id: str) -> dict[str, Any]:
        """The thread's extension fields (its trace fields, which its runs inherit)."""
        row = await self.db.fetchrow(
            "SELECT extensions FROM threads WHERE id = :id AND project = :project",
            {"id": thread_id, "project": project},
        )
        if row is None:
            raise not_found("thread", thread_id)
        found: dict[str, Any] = loads(row["extensions"]) or {}
        return found

    async def get(self, project: str, thread_id: str) -> Thread:
        row = await self.db.fetchrow(
            f"SELECT {THREAD_COLUMNS} FROM threads WHERE id = :id AND project = :project",
            {"id": thread_id, "project": project},
        )
        if row is None:
            raise not_found("thread", thread_id)
        return thread_from_row(row)

    async def update(self, project: str, thread_id: str, fields: dict[str, Any]) -> Thread:
        """Replace the given fields; `extensions` maps each extension field to change to its new
        value (None removes it), the others kept."""
        changes: dict[str, Any] = {}
        if "metadata" in fields:
            changes["metadata"] = dumps(fields["metadata"] or {})
        if "tool_resources" in fields:
            changes["tool_resources"] = dumps(fields["tool_resources"])
        async with self.db.transaction() as tx:
            if fields.get("extensions"):
                # Under the thread's row lock, so concurrent updates of different fields merge.
                await self.lock(tx, project, thread_id)
                current = await tx.fetchrow(
                    "SELECT extensions FROM threads WHERE id = :id", {"id": thread_id}
                )
                assert current is not None
                ext = {**(loads(current["extensions"]) or {}), **fields["extensions"]}
                kept = {k: v for k, v in ext.items() if v is not None}
                changes["extensions"] = dumps(kept or None)
            sets = ", ".join(f"{c} = :{c}" for c in changes) or "id = id"
            row = await tx.fetchrow(
                f"UPDATE threads SET {sets} WHERE id = :id AND project = :project "
                f"RETURNING {THREAD_COLUMNS}",
                {**changes, "id": thread_id, "project": project},
            )
        if row is None:
            raise not_found("thread", thread_id)
        return thread_from_row(row)

    async def delete(self, project: str, thread_id: str) -> ThreadDeleted:
        """Delete a thread with its messages, runs, steps and events.

        A thread with an active run is refused (400): deleting it under a working run would
        lose the run's outcome; cancel the run first.
        """
        params = {"id": thread_id, "project": project}
        # Its cost grows with the thread: off the event loop on SQLite (`store.db`).
        async with self.db.transaction(heavy=True) as tx:
            await self.lock(tx, project, thread_id)
            active = await self.active_run(tx, thread_id)
            if active is not None:
                raise BadRequestError(
                    f"Can't delete thread {thread_id} while a run {active} is active. Cancel the "
                    "run first.",
                )
            await tx.execute(
                "DELETE FROM run_events WHERE run_id IN "
                "(SELECT id FROM runs WHERE thread_id = :id)",
                params,
            )
            await tx.execute("DELETE FROM run_steps WHERE thread_id = :id", params)
            await tx.execute("DELETE FROM runs WHERE thread_id = :id", params)
            await tx.execute("DELETE FROM messages WHERE thread_id = :id", params)
            await tx.execute("DELETE FROM threads WHERE id = :id", params)
        return ThreadDeleted(id=thread_id)

    async def lock(self, tx: Tx, project: str, thread_id: str) -> None:
        """Check the thread exists and take its row lock until the transaction ends.

        Message and run creation both pass here, so on Postgres they serialise per thread and the
        active-run check that follows always sees the other's committed row.
        """
        row = await tx.fetchrow(
            "UPDATE threads SET version = version + 1 WHERE id = :id AND project = :project "
            "RETURNING id",
            {"id": thread_id, "project": project},
        )
        if row is None:
            raise not_found("thread", thread_id)

    async def active_run(self, tx: Tx, thread_id: str) -> str | None:
        row = await tx.fetchrow(
            f"SELECT id FROM runs WHERE thread_id = :thread_id AND status IN {ACTIVE}",
            {"thread_id": thread_id},
        )
        return None if row is None else str(row["id"])

    async def insert_messages(
        self,
        tx: Tx,
        project: str,
        thread_id: str,
        messages: list[dict[str, Any]],
        created_at: int,
    ) -> list[str]:
        rows = [
            {
                "id": ids.new_id("message"),
                "project": project,
                "thread_id": thread_id,
                "created_at": created_at,
                "role": m["role"],
                "content": dumps(m["content"]),
                "attachments": dumps(m.get("attachments")),
                "metadata": dumps(m.get("metadata") or {}),
            }
            for m in messages
        ]
        if rows:
            await tx.executemany(
                "INSERT INTO messages (id, project, thread_id, created_at, status, role, content, "
                "attachments, metadata) VALUES (:id, :project, :thread_id, :created_at, "
                f"{sql_is(MessageStatus.COMPLETED)}, :role, :content, :attachments, :metadata)",
                rows,
            )
        return [r["id"] for r in rows]

    async def create_message(
        self, project: str, thread_id: str, message: dict[str, Any]
    ) -> Message:
        """Add a (validated) user or assistant message; refused while a run is active."""
        async with self.db.transaction() as tx:
            await self.lock(tx, project, thread_id)
            active = await self.active_run(tx, thread_id)
            if active is not None:
                raise BadRequestError(
                    f"Can't add messages to {thread_id} while a run {active} is active."
                )
            (message_id,) = await self.insert_messages(tx, project, thread_id, [message], now())
            row = await tx.fetchrow(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = :id", {"id": message_id}
            )
        assert row is not None
        return message_from_row(row)

    async def get_message(self, project: str, thread_id: str, message_id: str) -> Message:
        row = await self.db.fetchrow(
            f"SELECT {MESSAGE_COLUMNS} FROM messages "
            "WHERE id = :id AND thread_id = :thread_id AND project = :project",
            {"id": message_id, "thread_id": thread_id, "project": project},
        )
        if row is None:
            await self.get(project, thread_id)
            raise not_found("message", message_id)
        return message_from_row(row)

    async def update_message(
        self, project: str, thread_id: str, message_id: str, metadata: dict[str, str] | None
    ) -> Message:
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "UPDATE messages SET metadata = :metadata "
                "WHERE id = :id AND thread_id = :thread_id AND project = :project "
                f"RETURNING {MESSAGE_COLUMNS}",
                {
                    "metadata": dumps(metadata or {}),
                    "id": message_id,
                    "thread_id": thread_id,
                    "project": project,
                },
            )
        if row is None:
            await self.get(project, thread_id)
            raise not_found("message", message_id)
        return message_from_row(row)

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> MessageDeleted:
        """Delete a message; refused while a run is active on its thread (it may be reading it)."""
        async with self.db.transaction() as tx:
            await self.lock(tx, project, thread_id)
            active = await self.active_run(tx, thread_id)
            if active is not None:
                raise BadRequestError(
                    f"Can't delete messages from {thread_id} while a run {active} is active."
                )
            count = await tx.execute(
                "DELETE FROM messages WHERE id = :id AND thread_id = :thread_id",
                {"id": message_id, "thread_id": thread_id},
            )
        if not count:
            raise not_found("message", message_id)
        return MessageDeleted(id=message_id)

    async def list_messages(
        self,
        project: str,
        thread_id: str,
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
        run_id: str | None,
    ) -> ListPage[Message]:
        scope = "thread_id = :thread_id AND project = :project"
        params: dict[str, Any] = {"thread_id": thread_id, "project": project}
        if run_id is not None:
            scope += " AND run_id = :run_id"
            params["run_id"] = run_id
        found = await page(
            self.db,
            table="messages",
            columns=MESSAGE_COLUMNS,
            scope=scope,
            params=params,
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=message_from_row,
        )
        if not found.data:
            await self.get(project, thread_id)
        return found
