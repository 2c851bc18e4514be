"""The rows of vector stores and their files as every piece of `store.vector_stores` reads them."""

from __future__ import annotations

from typing import Any

import anyio

from store.base import now
from store.db import Database, Row, Tx
from store.errors import not_found
from store.filetypes import VectorStoreFile
from store.rows import loads

VS_COLUMNS = "id, created_at, name, expires_after, expires_at, last_active_at, metadata"
VSF_COLUMNS = (
    "seq, id, vector_store_id, created_at, status, usage_bytes, last_error, chunking_strategy, "
    "attributes, batch_id"
)


def vector_store_file(row: Row) -> VectorStoreFile:
    return VectorStoreFile.model_validate(
        {
            "id": row["id"],
            "created_at": row["created_at"],
            "vector_store_id": row["vector_store_id"],
            "status": row["status"],
            "usage_bytes": row["usage_bytes"],
            "last_error": loads(row["last_error"]),
            "chunking_strategy": loads(row["chunking_strategy"]),
            "attributes": loads(row["attributes"]),
        }
    )


def lapsed(expires_at: int | None) -> bool:
    """Whether a vector store's `expires_at` has passed (the API's clock)."""
    return expires_at is not None and expires_at <= now()


async def drop_chunks(tx: Tx, dialect: str, where: str, params: dict[str, Any]) -> None:
    if dialect == "sqlite":
        await tx.execute(
            "INSERT INTO chunks_fts (chunks_fts, rowid, text) "
            f"SELECT 'delete', seq, text FROM chunks WHERE {where}",
            params,
        )
    await tx.execute(f"DELETE FROM chunks WHERE {where}", params)


class VectorStoreRows:
    """What every piece of `VectorStorePart` shares: the database, a store's row, and the
    in-process wake-ups of the ingestion queue (a file added; a file ingested)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._added: anyio.Event | None = None
        self._ingested: anyio.Event | None = None

    async def _row(self, project: str, vs_id: str, reader: Any = None) -> Row:
        row = await (reader or self.db).fetchrow(
            f"SELECT {VS_COLUMNS} FROM vector_stores WHERE id = :id AND project = :project",
            {"id": vs_id, "project": project},
        )
        if row is None:
            raise not_found("vector store", vs_id)
        return row

    def _announce(self) -> None:
        if self._added is not None:
            self._added.set()

    def _settled(self) -> None:
        if self._ingested is not None:
            self._ingested.set()
