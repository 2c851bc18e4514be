"""Assistants, threads and messages: ordinary CRUD on plain SQL, scoped by project."""

from __future__ import annotations

from typing import Any

from store import ids
from store.base import ACTIVE, StoreBase, now
from store.db import Tx
from store.errors import BadRequestError, not_found
from store.rows import (
    ASSISTANT_COLUMNS,
    MESSAGE_COLUMNS,
    THREAD_COLUMNS,
    assistant_from_row,
    dumps,
    message_from_row,
    thread_from_row,
)
from store.statuses import MessageStatus, sql_is
from store.types import (
    Assistant,
    AssistantDeleted,
    ListPage,
    Message,
    MessageDeleted,
    Thread,
    ThreadDeleted,
)

_ASSISTANT_FIELDS = (
    "name",
    "description",
    "model",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
    "reasoning_effort",
    "extensions",
)
_JSON_FIELDS = frozenset(
    {"tools", "tool_resources", "metadata", "response_format", "extensions", "content"}
)


def _column_value(field: str, value: Any) -> Any:
    return dumps(value) if field in _JSON_FIELDS else value


class ObjectsMixin(StoreBase):
    # --- assistants ------------------------------------------------------------------------

    async def create_assistant(self, project: str, fields: dict[str, Any]) -> Assistant:
        """Insert a validated assistant (`fields` keyed like the API, plus `extensions`)."""
        row: dict[str, Any] = {f: _column_value(f, fields.get(f)) for f in _ASSISTANT_FIELDS}
        row["tools"] = dumps(fields.get("tools") or [])
        row["metadata"] = dumps(fields.get("metadata") or {})
        row.update(id=ids.new_id("assistant"), project=project, created_at=now())
        cols = ", ".join(row)
        async with self.db.transaction() as tx:
            created = await tx.fetchrow(
                f"INSERT INTO assistants ({cols}) VALUES ({', '.join(':' + c for c in row)}) "
                f"RETURNING {ASSISTANT_COLUMNS}",
                row,
            )
        assert created is not None
        return assistant_from_row(created)

    async def get_assistant(self, project: str, assistant_id: str) -> Assistant:
        row = await self.db.fetchrow(
            f"SELECT {ASSISTANT_COLUMNS} FROM assistants WHERE id = :id AND project = :project",
            {"id": assistant_id, "project": project},
        )
        if row is None:
            raise not_found("assistant", assistant_id)
        return assistant_from_row(row)

    async def update_assistant(
        self, project: str, assistant_id: str, fields: dict[str, Any]
    ) -> Assistant:
        """Replace the given fields (lists such as `tools` are replaced, not merged)."""
        changes = {f: _column_value(f, v) for f, v in fields.items() if f in _ASSISTANT_FIELDS}
        if "metadata" in changes and changes["metadata"] is None:
            changes["metadata"] = "{}"
        if "tools" in changes and changes["tools"] is None:
            changes["tools"] = "[]"
        sets = ", ".join(f"{c} = :{c}" for c in changes) or "id = id"
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"UPDATE assistants SET {sets} WHERE id = :id AND project = :project "
                f"RETURNING {ASSISTANT_COLUMNS}",
                {**changes, "id": assistant_id, "project": project},
            )
        if row is None:
            raise not_found("assistant", assistant_id)
        return assistant_from_row(row)

    async def delete_assistant(self, project: str, assistant_id: str) -> AssistantDeleted:
        async with self.db.transaction() as tx:
            count = await tx.execute(
                "DELETE FROM assistants WHERE id = :id AND project = :project",
                {"id": assistant_id, "project": project},
            )
        if not count:
            raise not_found("assistant", assistant_id)
        return AssistantDeleted(id=assistant_id)

    async def list_assistants(
        self, project: str, *, limit: int, order: str, after: str | None, before: str | None
    ) -> ListPage[Assistant]:
        return await self._page(
            table="assistants",
            columns=ASSISTANT_COLUMNS,
            scope="project = :project",
            params={"project": project},
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=assistant_from_row,
        )

    # --- threads ---------------------------------------------------------------------------

    async def create_thread(
        self,
        project: str,
        *,
        messages: list[dict[str, Any]],
        metadata: dict[str, str] | None,
        tool_resources: dict[str, Any] | None,
    ) -> Thread:
        """Insert a thread and its initial (validated) messages in one transaction."""
        thread_id = ids.new_id("thread")
        created_at = now()
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "INSERT INTO threads (id, project, created_at, tool_resources, metadata, version) "
                "VALUES (:id, :project, :created_at, :tool_resources, :metadata, 0) "
                f"RETURNING {THREAD_COLUMNS}",
                {
                    "id": thread_id,
                    "project": project,
                    "created_at": created_at,
                    "tool_resources": dumps(tool_resources),
                    "metadata": dumps(metadata or {}),
                },
            )
            await self._insert_messages(tx, project, thread_id, messages, created_at)
        assert row is not None
        return thread_from_row(row)

    async def get_thread(self, project: str, thread_id: str) -> Thread:
        row = await self.db.fetchrow(
            f"SELECT {THREAD_COLUMNS} FROM threads WHERE id = :id AND project = :project",
            {"id": thread_id, "project": project},
        )
        if row is None:
            raise not_found("thread", thread_id)
        return thread_from_row(row)

    async def update_thread(self, project: str, thread_id: str, fields: dict[str, Any]) -> Thread:
        changes: dict[str, Any] = {}
        if "metadata" in fields:
            changes["metadata"] = dumps(fields["metadata"] or {})
        if "tool_resources" in fields:
            changes["tool_resources"] = dumps(fields["tool_resources"])
        sets = ", ".join(f"{c} = :{c}" for c in changes) or "id = id"
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"UPDATE threads SET {sets} WHERE id = :id AND project = :project "
                f"RETURNING {THREAD_COLUMNS}",
                {**changes, "id": thread_id, "project": project},
            )
        if row is None:
            raise not_found("thread", thread_id)
        return thread_from_row(row)

    async def delete_thread(self, project: str, thread_id: str) -> ThreadDeleted:
        """Delete a thread with its messages, runs, steps and events.

        A thread with an active run is refused (400): deleting it under a working run would
        lose the run's outcome; cancel the run first.
        """
        params = {"id": thread_id, "project": project}
        # Its cost grows with the thread: off the event loop on SQLite (`store.db`).
        async with self.db.transaction(heavy=True) as tx:
            await self._lock_thread(tx, project, thread_id)
            active = await self._active_run(tx, thread_id)
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

    async def _lock_thread(self, tx: Tx, project: str, thread_id: str) -> None:
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

    async def _active_run(self, tx: Tx, thread_id: str) -> str | None:
        row = await tx.fetchrow(
            f"SELECT id FROM runs WHERE thread_id = :thread_id AND status IN {ACTIVE}",
            {"thread_id": thread_id},
        )
        return None if row is None else str(row["id"])

    # --- messages --------------------------------------------------------------------------

    async def _insert_messages(
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
            await self._lock_thread(tx, project, thread_id)
            active = await self._active_run(tx, thread_id)
            if active is not None:
                raise BadRequestError(
                    f"Can't add messages to {thread_id} while a run {active} is active."
                )
            (message_id,) = await self._insert_messages(tx, project, thread_id, [message], now())
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
            await self.get_thread(project, thread_id)
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
            await self.get_thread(project, thread_id)
            raise not_found("message", message_id)
        return message_from_row(row)

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> MessageDeleted:
        """Delete a message; refused while a run is active on its thread (it may be reading it)."""
        async with self.db.transaction() as tx:
            await self._lock_thread(tx, project, thread_id)
            active = await self._active_run(tx, thread_id)
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
        page = await self._page(
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
        if not page.data:
            await self.get_thread(project, thread_id)
        return page

    # --- projects --------------------------------------------------------------------------

    async def move_projects(self, moves: dict[str, str]) -> int:
        """Give every object of project `old` to project `new`, for each `old -> new` of `moves`,
        in one transaction; the rows moved (0 once done: running it again changes nothing)."""
        moved = 0
        async with self.db.transaction() as tx:
            for old, new in moves.items():
                for table in _PROJECT_TABLES:
                    moved += await tx.execute(
                        f"UPDATE {table} SET project = :new WHERE project = :old",
                        {"old": old, "new": new},
                    )
        return moved


_PROJECT_TABLES = ("assistants", "threads", "messages", "runs", "run_steps", "prompts")
"""Every table with a `project` column."""
