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

import builtins
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from store import ids
from store.base import now
from store.db import Database, Row, Tx
from store.errors import BadRequestError, not_found
from store.filetypes import (
    ChunkingStrategy,
    FileCounts,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
    VectorStoreFileStatus,
    VectorStoreSearchResult,
    counts,
)
from store.log import get_logger
from store.paging import page
from store.rows import dumps, loads
from store.types import ListPage, Model
from store.vectors import QueryVector, blend, encode, more_scores, scores

log = get_logger("assistants.store")

VS_COLUMNS = "id, created_at, name, expires_after, expires_at, last_active_at, metadata"
VSF_COLUMNS = (
    "seq, id, vector_store_id, created_at, status, usage_bytes, last_error, chunking_strategy, "
    "attributes, batch_id"
)
DAY = 86_400
INGEST_LEASE_SECONDS = 120.0
MAX_INGEST_ATTEMPTS = 3
QUERY_TERMS_MAX = 64


class _Listed(Model):
    id: str
    row: dict[str, Any]


@dataclass(frozen=True)
class Chunk:
    position: int
    text: str
    tokens: int


@dataclass(frozen=True)
class IngestJob:
    """A claimed file to ingest: the row's `seq` guards the write of its result."""

    seq: int
    file_id: str
    vector_store_id: str
    project: str
    chunking: dict[str, Any]
    attempts: int


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


def query_terms(query: str) -> list[str]:
    """The words of a query, lowercased, deduplicated, at most `QUERY_TERMS_MAX`."""
    seen: dict[str, None] = {}
    for word in re.findall(r"\w+", query.lower()):
        seen.setdefault(word, None)
    return list(seen)[:QUERY_TERMS_MAX]


class VectorStorePart:
    """`vector_stores`, `vector_stores.files`, `vector_stores.file_batches`, `search`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._added: anyio.Event | None = None
        self._ingested: anyio.Event | None = None

    # --- ingestion wake-ups -------------------------------------------------------------------

    def _announce(self) -> None:
        if self._added is not None:
            self._added.set()

    async def wait_for_work(self, timeout: float) -> None:
        """Return when a file is added in this process, or after `timeout` (polling covers
        other processes)."""
        if self._added is None or self._added.is_set():
            self._added = anyio.Event()
        with anyio.move_on_after(timeout):
            await self._added.wait()

    async def wait_ingested(self, vs_ids: Sequence[str], timeout: float) -> None:
        """Return once none of the stores has a file still being ingested, or after `timeout`.
        Wakes when this process ingests a file; polls (half a second) for other processes."""
        if not vs_ids:
            return
        names = ", ".join(f":v{i}" for i in range(len(vs_ids)))
        params = {f"v{i}": vs_id for i, vs_id in enumerate(vs_ids)}
        with anyio.move_on_after(timeout):
            while await self.db.fetchrow(
                "SELECT id FROM vector_store_files WHERE status = 'in_progress' "
                f"AND vector_store_id IN ({names}) LIMIT 1",
                params,
            ):
                if self._ingested is None or self._ingested.is_set():
                    self._ingested = anyio.Event()
                with anyio.move_on_after(0.5):
                    await self._ingested.wait()

    def _settled(self) -> None:
        if self._ingested is not None:
            self._ingested.set()

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

    async def _row(self, project: str, vs_id: str, reader: Any = None) -> Row:
        row = await (reader or self.db).fetchrow(
            f"SELECT {VS_COLUMNS} FROM vector_stores WHERE id = :id AND project = :project",
            {"id": vs_id, "project": project},
        )
        if row is None:
            raise not_found("vector store", vs_id)
        return row

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
            await _drop_chunks(tx, self.db.dialect, "vector_store_id = :vs", {"vs": vs_id})
            await tx.execute(
                "DELETE FROM vector_store_files WHERE vector_store_id = :vs", {"vs": vs_id}
            )
            await tx.execute(
                "DELETE FROM vector_store_file_batches WHERE vector_store_id = :vs", {"vs": vs_id}
            )
        return VectorStoreDeleted(id=vs_id)

    # --- files in a store ---------------------------------------------------------------------

    async def _check_files(self, tx: Tx, project: str, file_ids: Sequence[str]) -> None:
        for file_id in file_ids:
            row = await tx.fetchrow(
                "SELECT id FROM files WHERE id = :id AND project = :project",
                {"id": file_id, "project": project},
            )
            if row is None:
                raise not_found("file", file_id)

    async def _insert_file(
        self,
        tx: Tx,
        project: str,
        vs_id: str,
        file_id: str,
        chunking: dict[str, Any],
        attributes: dict[str, Any] | None,
        batch_id: str | None,
    ) -> None:
        """Add a file to a store (in progress). A file already there is ingested again: how a
        failed one is retried."""
        await _drop_chunks(
            tx,
            self.db.dialect,
            "vector_store_id = :vs AND file_id = :f",
            {"vs": vs_id, "f": file_id},
        )
        await tx.execute(
            "DELETE FROM vector_store_files WHERE vector_store_id = :vs AND id = :f",
            {"vs": vs_id, "f": file_id},
        )
        await tx.execute(
            "INSERT INTO vector_store_files (id, vector_store_id, project, created_at, status, "
            "usage_bytes, chunking_strategy, attributes, batch_id, attempts) VALUES (:id, :vs, "
            ":project, :created_at, 'in_progress', 0, :chunking, :attributes, :batch, 0)",
            {
                "id": file_id,
                "vs": vs_id,
                "project": project,
                "created_at": now(),
                "chunking": dumps(chunking),
                "attributes": dumps(attributes),
                "batch": batch_id,
            },
        )

    async def add_file(
        self,
        project: str,
        vs_id: str,
        file_id: str,
        *,
        chunking: dict[str, Any],
        attributes: dict[str, Any] | None,
    ) -> VectorStoreFile:
        async with self.db.transaction() as tx:
            await self._row(project, vs_id, tx)
            await self._check_files(tx, project, [file_id])
            await self._insert_file(tx, project, vs_id, file_id, chunking, attributes, None)
        self._announce()
        return await self.get_file(project, vs_id, file_id)

    async def _file_row(self, project: str, vs_id: str, file_id: str) -> Row:
        await self._row(project, vs_id)
        row = await self.db.fetchrow(
            f"SELECT {VSF_COLUMNS} FROM vector_store_files WHERE vector_store_id = :vs AND id = :f",
            {"vs": vs_id, "f": file_id},
        )
        if row is None:
            raise not_found("file", file_id)
        return row

    async def get_file(self, project: str, vs_id: str, file_id: str) -> VectorStoreFile:
        return vector_store_file(await self._file_row(project, vs_id, file_id))

    async def update_file(
        self, project: str, vs_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> VectorStoreFile:
        await self._file_row(project, vs_id, file_id)
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE vector_store_files SET attributes = :a "
                "WHERE vector_store_id = :vs AND id = :f",
                {"a": dumps(attributes), "vs": vs_id, "f": file_id},
            )
        return await self.get_file(project, vs_id, file_id)

    async def list_files(
        self,
        project: str,
        vs_id: str,
        *,
        status: str | None,
        batch_id: str | None = None,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
    ) -> ListPage[VectorStoreFile]:
        await self._row(project, vs_id)
        scope = "vector_store_id = :vs"
        params: dict[str, Any] = {"vs": vs_id}
        if status is not None:
            scope += " AND status = :status"
            params["status"] = status
        if batch_id is not None:
            scope += " AND batch_id = :batch"
            params["batch"] = batch_id
        return await page(
            self.db,
            table="vector_store_files",
            columns=VSF_COLUMNS,
            scope=scope,
            params=params,
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=vector_store_file,
        )

    async def remove_file(self, project: str, vs_id: str, file_id: str) -> VectorStoreFileDeleted:
        """Take a file out of a store (the file itself stays)."""
        await self._file_row(project, vs_id, file_id)
        async with self.db.transaction(heavy=True) as tx:
            await _drop_chunks(
                tx,
                self.db.dialect,
                "vector_store_id = :vs AND file_id = :f",
                {"vs": vs_id, "f": file_id},
            )
            await tx.execute(
                "DELETE FROM vector_store_files WHERE vector_store_id = :vs AND id = :f",
                {"vs": vs_id, "f": file_id},
            )
        return VectorStoreFileDeleted(id=file_id)

    # --- batches ------------------------------------------------------------------------------

    async def create_batch(
        self,
        project: str,
        vs_id: str,
        files: Sequence[tuple[str, dict[str, Any] | None]],
        *,
        chunking: dict[str, Any],
    ) -> VectorStoreFileBatch:
        batch_id = ids.new_id("file_batch")
        async with self.db.transaction() as tx:
            await self._row(project, vs_id, tx)
            await self._check_files(tx, project, [f for f, _ in files])
            await tx.execute(
                "INSERT INTO vector_store_file_batches (id, vector_store_id, project, created_at, "
                "cancelled) VALUES (:id, :vs, :project, :created_at, 0)",
                {"id": batch_id, "vs": vs_id, "project": project, "created_at": now()},
            )
            for file_id, attributes in files:
                await self._insert_file(tx, project, vs_id, file_id, chunking, attributes, batch_id)
        self._announce()
        return await self.get_batch(project, vs_id, batch_id)

    async def get_batch(self, project: str, vs_id: str, batch_id: str) -> VectorStoreFileBatch:
        await self._row(project, vs_id)
        row = await self.db.fetchrow(
            "SELECT id, vector_store_id, created_at, cancelled FROM vector_store_file_batches "
            "WHERE id = :id AND vector_store_id = :vs",
            {"id": batch_id, "vs": vs_id},
        )
        if row is None:
            raise not_found("file batch", batch_id)
        file_counts = counts(
            await self.db.fetch(
                "SELECT status, count(*) AS n FROM vector_store_files WHERE batch_id = :b "
                "GROUP BY status",
                {"b": batch_id},
            )
        )
        return VectorStoreFileBatch(
            id=row["id"],
            created_at=row["created_at"],
            vector_store_id=row["vector_store_id"],
            status=_batch_status(bool(row["cancelled"]), file_counts),
            file_counts=file_counts,
        )

    async def cancel_batch(self, project: str, vs_id: str, batch_id: str) -> VectorStoreFileBatch:
        """Cancel the batch's files not yet ingested (those done stay)."""
        batch = await self.get_batch(project, vs_id, batch_id)
        if batch.status != "in_progress":
            raise BadRequestError(
                f"Cannot cancel file batch {batch_id}: its status is '{batch.status}'.",
                code="invalid_state",
            )
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE vector_store_file_batches SET cancelled = 1 WHERE id = :id",
                {"id": batch_id},
            )
            await tx.execute(
                "UPDATE vector_store_files SET status = 'cancelled', lease_expires_at = NULL "
                "WHERE batch_id = :b AND status = 'in_progress'",
                {"b": batch_id},
            )
        return await self.get_batch(project, vs_id, batch_id)

    # --- ingestion ----------------------------------------------------------------------------

    async def claim_ingest(self) -> IngestJob | None:
        """Take the oldest file waiting for ingestion (or whose lease lapsed) with a lease."""
        lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "UPDATE vector_store_files SET lease_expires_at = {now} + :lease, "
                "attempts = attempts + 1 WHERE seq = (SELECT seq FROM vector_store_files "
                "WHERE status = 'in_progress' AND (lease_expires_at IS NULL OR lease_expires_at "
                f"< {{now}}) ORDER BY seq LIMIT 1{lock}) AND status = 'in_progress' "
                "RETURNING seq, id, vector_store_id, project, chunking_strategy, attempts",
                {"lease": INGEST_LEASE_SECONDS},
            )
        if row is None:
            return None
        return IngestJob(
            seq=row["seq"],
            file_id=row["id"],
            vector_store_id=row["vector_store_id"],
            project=row["project"],
            chunking=loads(row["chunking_strategy"]),
            attempts=row["attempts"],
        )

    async def finish_ingest(
        self,
        job: IngestJob,
        chunks: Sequence[Chunk],
        usage_bytes: int,
        embeddings: Sequence[Sequence[float]] | None = None,
        embedding_model: str | None = None,
    ) -> bool:
        """Store the chunks (with their `embeddings`, one per chunk, if given) and complete the
        file, if it is still waiting for them (it may have been deleted, re-added or cancelled
        meanwhile: then nothing is written)."""
        async with self.db.transaction(heavy=True) as tx:
            done = await tx.fetchrow(
                "UPDATE vector_store_files SET status = 'completed', usage_bytes = :used, "
                "lease_expires_at = NULL WHERE seq = :seq AND status = 'in_progress' RETURNING id",
                {"seq": job.seq, "used": usage_bytes},
            )
            if done is None:
                return False
            rows = [
                {
                    "vs": job.vector_store_id,
                    "f": job.file_id,
                    "pos": c.position,
                    "text": c.text,
                    "tokens": c.tokens,
                    "emb": encode(self.db.dialect, embeddings[i] if embeddings else None),
                    "model": embedding_model if embeddings else None,
                }
                for i, c in enumerate(chunks)
            ]
            if rows:
                await tx.executemany(
                    "INSERT INTO chunks (vector_store_id, file_id, position, text, tokens, "
                    "embedding, embedding_model) VALUES (:vs, :f, :pos, :text, :tokens, :emb, "
                    ":model)",
                    rows,
                )
                if self.db.dialect == "sqlite":
                    await tx.execute(
                        "INSERT INTO chunks_fts (rowid, text) SELECT seq, text FROM chunks "
                        "WHERE vector_store_id = :vs AND file_id = :f",
                        {"vs": job.vector_store_id, "f": job.file_id},
                    )
        self._settled()
        return True

    async def fail_ingest(self, job: IngestJob, code: str, message: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE vector_store_files SET status = 'failed', last_error = :e, "
                "lease_expires_at = NULL WHERE seq = :seq AND status = 'in_progress'",
                {"seq": job.seq, "e": dumps({"code": code, "message": message})},
            )
        self._settled()

    async def renew_ingest(self, job: IngestJob) -> None:
        """Extend the claim on a file still being ingested (its embedding takes many calls)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE vector_store_files SET lease_expires_at = {now} + :lease "
                "WHERE seq = :seq AND status = 'in_progress'",
                {"seq": job.seq, "lease": INGEST_LEASE_SECONDS},
            )

    async def release_ingest(self, job: IngestJob) -> None:
        """Give a claimed file back (the worker is stopping)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE vector_store_files SET lease_expires_at = NULL "
                "WHERE seq = :seq AND status = 'in_progress'",
                {"seq": job.seq},
            )

    # --- search -------------------------------------------------------------------------------

    async def search(
        self,
        project: str,
        vs_ids: Sequence[str],
        query: str,
        *,
        limit: int,
        score_threshold: float = 0.0,
        filters: dict[str, Any] | None = None,
        vector: QueryVector | None = None,
    ) -> builtins.list[VectorStoreSearchResult]:
        """The chunks best matching `query` in the stores, best first, scored 0..1: lexically,
        and by similarity to `vector` (the query's embedding) when given. An expired store is a
        400 naming it."""
        for vs_id in vs_ids:
            if lapsed((await self._row(project, vs_id))["expires_at"]):
                raise BadRequestError(
                    f"The vector store '{vs_id}' has expired and can no longer be searched. "
                    "Create a new vector store and add the files to it.",
                    param="vector_store_id",
                    code="vector_store_expired",
                )
        terms = query_terms(query)
        if (not terms and vector is None) or not vs_ids:
            return []
        fetch = limit if filters is None and vector is None else max(limit * 10, 100)
        params: dict[str, Any] = {"limit": fetch}
        names = []
        for i, vs_id in enumerate(vs_ids):
            params[f"vs{i}"] = vs_id
            names.append(f":vs{i}")
        within = f"c.vector_store_id IN ({', '.join(names)})"
        if self.db.dialect == "sqlite":
            params["q"] = " OR ".join(f'"{t}"' for t in terms)
            sql = (
                "SELECT c.seq, c.file_id, c.vector_store_id, c.text, -bm25(chunks_fts) AS raw "
                "FROM chunks_fts JOIN chunks c ON c.seq = chunks_fts.rowid "
                f"WHERE chunks_fts MATCH :q AND {within} ORDER BY bm25(chunks_fts) LIMIT :limit"
            )
        else:
            params["q"] = " | ".join(terms)
            sql = (
                "SELECT c.seq, c.file_id, c.vector_store_id, c.text, "
                "ts_rank_cd(to_tsvector('english', c.text), q, 32) AS raw "
                "FROM chunks c, to_tsquery('english', :q) q "
                f"WHERE to_tsvector('english', c.text) @@ q AND {within} "
                "ORDER BY raw DESC LIMIT :limit"
            )
        near: dict[int, float] = {}
        async with self.db.transaction(heavy=True, readonly=True) as tx:
            rows = await tx.fetch(sql, params) if terms else []
            lexical = {r["seq"]: self._lexical(r["raw"]) for r in rows}
            if vector is not None:
                near, near_rows = await scores(tx, self.db.dialect, within, params, vector, fetch)
                unscored = [r["seq"] for r in rows if r["seq"] not in near]
                near.update(await more_scores(tx, self.db.dialect, unscored, vector))
                rows = [*rows, *near_rows]
        ranked: dict[int, tuple[float, Row]] = {}
        for r in rows:
            ranked.setdefault(
                r["seq"],
                (
                    blend(
                        None if vector is None else near.get(r["seq"], 0.0),
                        lexical.get(r["seq"], 0.0) if terms else None,
                    ),
                    r,
                ),
            )
        best = sorted(ranked.values(), key=lambda sr: (-sr[0], sr[1]["seq"]))
        files = await self._file_details({(r["vector_store_id"], r["file_id"]) for _, r in best})
        results = []
        for score, r in best:
            detail = files.get((r["vector_store_id"], r["file_id"]))
            if detail is None:
                continue
            filename, attributes = detail
            if filters is not None and not matches(filters, attributes or {}):
                continue
            if score < score_threshold:
                continue
            results.append(
                VectorStoreSearchResult.model_validate(
                    {
                        "file_id": r["file_id"],
                        "filename": filename,
                        "score": round(score, 6),
                        "attributes": attributes,
                        "content": [{"type": "text", "text": r["text"]}],
                    }
                )
            )
            if len(results) == limit:
                break
        return results

    def _lexical(self, raw: Any) -> float:
        """A lexical rank as a 0..1 score (BM25 grows without bound; ts_rank_cd's is 0..1)."""
        value = max(float(raw), 0.0)
        return value / (1.0 + value) if self.db.dialect == "sqlite" else min(value, 1.0)

    async def _file_details(
        self, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
        out: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {}
        for vs_id, file_id in keys:
            row = await self.db.fetchrow(
                "SELECT f.filename, v.attributes FROM vector_store_files v JOIN files f "
                "ON f.id = v.id WHERE v.vector_store_id = :vs AND v.id = :f",
                {"vs": vs_id, "f": file_id},
            )
            if row is not None:
                out[(vs_id, file_id)] = (row["filename"], loads(row["attributes"]))
        return out


async def _drop_chunks(tx: Tx, dialect: str, where: str, params: dict[str, Any]) -> None:
    if dialect == "sqlite":
        await tx.execute(
            "INSERT INTO chunks_fts (chunks_fts, rowid, text) "
            f"SELECT 'delete', seq, text FROM chunks WHERE {where}",
            params,
        )
    await tx.execute(f"DELETE FROM chunks WHERE {where}", params)


def lapsed(expires_at: int | None) -> bool:
    """Whether a vector store's `expires_at` has passed (the API's clock)."""
    return expires_at is not None and expires_at <= now()


def _expiry(expires_after: dict[str, Any] | None, anchor: int) -> int | None:
    if not expires_after:
        return None
    return anchor + int(expires_after["days"]) * DAY


def _batch_status(cancelled: bool, file_counts: FileCounts) -> VectorStoreFileStatus:
    if file_counts.in_progress:
        return "cancelled" if cancelled else "in_progress"
    if cancelled:
        return "cancelled"
    if file_counts.total and file_counts.failed == file_counts.total:
        return "failed"
    return "completed"


_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def matches(filters: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether a file's attributes pass a comparison or compound (`and`/`or`) filter."""
    kind = filters["type"]
    if kind in ("and", "or"):
        results = (matches(f, attributes) for f in filters["filters"])
        return all(results) if kind == "and" else any(results)
    if filters["key"] not in attributes:
        return bool(kind == "ne")
    value, wanted = attributes[filters["key"]], filters["value"]
    try:
        compare: Any = _COMPARE[kind]
        return bool(compare(value, wanted))
    except TypeError:
        return False


def chunking_object(strategy: dict[str, Any]) -> ChunkingStrategy:
    return ChunkingStrategy.model_validate(strategy)
