"""Assistants: create, read, update, delete and list, scoped by project."""

from __future__ import annotations

from typing import Any

from store import ids
from store.base import now
from store.db import Database
from store.errors import not_found
from store.paging import page
from store.rows import ASSISTANT_COLUMNS, assistant_from_row, dumps
from store.types import Assistant, AssistantDeleted, ListPage

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
_JSON_FIELDS = frozenset({"tools", "tool_resources", "metadata", "response_format", "extensions"})


def _column_value(field: str, value: Any) -> Any:
    return dumps(value) if field in _JSON_FIELDS else value


class AssistantPart:
    """The `assistants` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, project: str, fields: dict[str, Any]) -> Assistant:
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

    async def get(self, project: str, assistant_id: str) -> Assistant:
        row = await self.db.fetchrow(
            f"SELECT {ASSISTANT_COLUMNS} FROM assistants WHERE id = :id AND project = :project",
            {"id": assistant_id, "project": project},
        )
        if row is None:
            raise not_found("assistant", assistant_id)
        return assistant_from_row(row)

    async def update(self, project: str, assistant_id: str, fields: dict[str, Any]) -> Assistant:
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

    async def delete(self, project: str, assistant_id: str) -> AssistantDeleted:
        async with self.db.transaction() as tx:
            count = await tx.execute(
                "DELETE FROM assistants WHERE id = :id AND project = :project",
                {"id": assistant_id, "project": project},
            )
        if not count:
            raise not_found("assistant", assistant_id)
        return AssistantDeleted(id=assistant_id)

    async def list(
        self, project: str, *, limit: int, order: str, after: str | None, before: str | None
    ) -> ListPage[Assistant]:
        return await page(
            self.db,
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
