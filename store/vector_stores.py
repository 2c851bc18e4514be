"""Vector stores, the files in them (with their ingestion queue), file batches, and search.

A file in a vector store is a `vector_store_files` row (its `id` is the file's id) that moves
`in_progress` -> `completed` | `failed` | `cancelled`. Ingestion is claimed by a worker with one
statement that sets a lease (Postgres: `FOR UPDATE SKIP LOCKED`); its result is written with a
compare-and-set on the row (`WHERE seq = :seq AND status = 'in_progress'`), in the same
transaction as the chunks, so a file deleted or cancelled while it was being read gets no chunks.

Search is lexical and needs no configuration: SQLite's FTS5 (`chunks_fts`, BM25) or Postgres
full-text search (`ts_rank_cd` over a GIN index); scores are mapped into 0..1. Given the query's
embedding (an embedding model is configured), it is vector similarity over the chunks'
embeddings too, blended with the lexical score (hybrid): see `store/vectors.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store import ids
from store.base import now
from store.db import Row
from store.errors import not_found
from store.filetypes import VectorStore, VectorStoreDeleted, counts
from store.paging import page
from store.rows import dumps, loads
from store.types import ListPage, Model
from store.vector_ingest import IngestQueue
from store.vector_rows import VS_COLUMNS, drop_chunks, lapsed
from store.vector_search import VectorSearch
from store.vector_store_files import VectorStoreFiles

DAY = 86_400


class _Listed(Model):
    id: str
    row: dict[str, Any]


class VectorStorePart(VectorStoreFiles, IngestQueue, VectorSearch):
    """`vector_stores`, `vector_stores.files`, `vector_stores.file_batches`, `search`.

    Its pieces live beside it, each named by what it owns: `store.vector_rows` (the rows they
    share), `store.vector_store_files` (files and batches), `store.vector_ingest` (the ingestion
    queue), `store.vector_search`.
    """

    # --- vector stores ----------------------------------------------------------------------

    async def create(
        self,
        project: str,
        *,
        name: str | None,
        metadata: dict[str, str] | None,
        expires_after: dict[str, Any] | None,
        file_ids: Sequence[str],
        chunking: dict[str, Any],
    ) -> VectorStore:
        vs_id = ids.new_id("vector_store")
        created = now()
        async with self.db.transaction() as tx:
            await self._check_files(tx, project, file_ids)
            await tx.execute(
                "INSERT INTO vector_stores (id, project, created_at, name, expires_after, "
                "expires_at, last_active_at, metadata) VALUES (:id, :project, :created_at, "
                ":name, :expires_after, :expires_at, :created_at, :metadata)",
                {
                    "id": vs_id,
                    "project": project,
                    "created_at": created,
                    "name": name,
                    "expires_after": dumps(expires_after),
                    "expires_at": _expiry(expires_after, created),
                    "metadata": dumps(metadata or {}),
                },
            )
            for file_id in dict.fromkeys(file_ids):
                await self._insert_file(tx, project, vs_id, file_id, chunking, None, None)
        if file_ids:
            self._announce()
        return await self.get(project, vs_id)

    async def _object(self, row: Row) -> VectorStore:
        stats = await self.db.fetch(
            "SELECT status, count(*) AS n, sum(usage_bytes) AS used FROM vector_store_files "
            "WHERE vector_store_id = :id GROUP BY status",
            {"id": row["id"]},
        )
        file_counts = counts(stats)
        status = "in_progress" if file_counts.in_progress else "completed"
        if lapsed(row["expires_at"]):
            status = "expired"
        return VectorStore.model_validate(
            {
                "id": row["id"],
                "created_at": row["created_at"],
                "name": row["name"] or "",
                "usage_bytes": sum(int(s["used"] or 0) for s in stats),
                "file_counts": file_counts,
                "status": status,
                "expires_after": loads(row["expires_after"]),
                "expires_at": row["expires_at"],
                "last_active_at": row["last_active_at"],
                "metadata": loads(row["metadata"]),
            }
        )

    async def get(self, project: str, vs_id: str) -> VectorStore:
        return await self._object(await self._row(project, vs_id))

    async def require_usable(self, project: str, vs_ids: Sequence[str]) -> None:
        """404 for a vector store id this project does not have (in OpenAI's wording)."""
        for vs_id in vs_ids:
            await self._row(project, vs_id)

    async def expired(self, project: str, vs_ids: Sequence[str]) -> list[str]:
        """Those of `vs_ids` that have expired (or no longer exist)."""
        out = []
        for vs_id in vs_ids:
            row = await self.db.fetchrow(
                "SELECT expires_at FROM vector_stores WHERE id = :id AND project = :project",
                {"id": vs_id, "project": project},
            )
            if row is None or lapsed(row["expires_at"]):
                out.append(vs_id)
        return out

    async def list(
        self, project: str, *, limit: int, order: str, after: str | None, before: str | None
    ) -> ListPage[VectorStore]:
        rows = await page(
            self.db,
            table="vector_stores",
            columns=VS_COLUMNS,
            scope="project = :project",
            params={"project": project},
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=lambda r: _Listed(id=r["id"], row=dict(r)),
        )
        data = [await self._object(r.row) for r in rows.data]
        return ListPage[VectorStore](
            data=data, first_id=rows.first_id, last_id=rows.last_id, has_more=rows.has_more
        )

    async def update(self, project: str, vs_id: str, fields: dict[str, Any]) -> VectorStore:
        async with self.db.transaction() as tx:
            row = await self._row(project, vs_id, tx)
            sets: list[str] = []
            params: dict[str, Any] = {"id": vs_id}
            if "name" in fields:
                sets.append("name = :name")
                params["name"] = fields["name"]
            if "metadata" in fields:
                sets.append("metadata = :metadata")
                params["metadata"] = dumps(fields["metadata"] or {})
            if "expires_after" in fields:
                sets.append("expires_after = :expires_after, expires_at = :expires_at")
                params["expires_after"] = dumps(fields["expires_after"])
                params["expires_at"] = _expiry(
                    fields["expires_after"], row["last_active_at"] or row["created_at"]
                )
            if sets:
                await tx.execute(
                    f"UPDATE vector_stores SET {', '.join(sets)} WHERE id = :id", params
                )
        return await self.get(project, vs_id)

    async def touch(self, project: str, vs_ids: Sequence[str]) -> None:
        """Mark the stores active now (a search or a run used them): their expiry moves on. An
        expired store stays expired."""
        async with self.db.transaction() as tx:
            for vs_id in vs_ids:
                row = await tx.fetchrow(
                    "SELECT expires_after, expires_at FROM vector_stores "
                    "WHERE id = :id AND project = :p",
                    {"id": vs_id, "p": project},
                )
                if row is None or lapsed(row["expires_at"]):
                    continue
                stamp = now()
                await tx.execute(
                    "UPDATE vector_stores SET last_active_at = :t, expires_at = :e WHERE id = :id",
                    {"t": stamp, "e": _expiry(loads(row["expires_after"]), stamp), "id": vs_id},
                )

    async def delete(self, project: str, vs_id: str) -> VectorStoreDeleted:
        async with self.db.transaction(heavy=True) as tx:
            found = await tx.fetchrow(
                "DELETE FROM vector_stores WHERE id = :id AND project = :project RETURNING id",
                {"id": vs_id, "project": project},
            )
            if found is None:
                raise not_found("vector store", vs_id)
            await drop_chunks(tx, self.db.dialect, "vector_store_id = :vs", {"vs": vs_id})
            await tx.execute(
                "DELETE FROM vector_store_files WHERE vector_store_id = :vs", {"vs": vs_id}
            )
            await tx.execute(
                "DELETE FROM vector_store_file_batches WHERE vector_store_id = :vs", {"vs": vs_id}
            )
        return VectorStoreDeleted(id=vs_id)


def _expiry(expires_after: dict[str, Any] | None, anchor: int) -> int | None:
    if not expires_after:
        return None
    return anchor + int(expires_after["days"]) * DAY
