"""The ingestion queue of `store.vector_stores`: a file waiting in a store is claimed by one
statement that sets a lease (Postgres: `FOR UPDATE SKIP LOCKED`); its chunks are written with a
compare-and-set on the row, so a file deleted or cancelled while it was read gets none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from store.rows import dumps, loads
from store.vector_rows import VectorStoreRows
from store.vectors import encode

INGEST_LEASE_SECONDS = 120.0
MAX_INGEST_ATTEMPTS = 3


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


class IngestQueue(VectorStoreRows):
    """The ingestion queue of vector store files: claims with a lease, results, wake-ups."""

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
                    "dims": len(embeddings[i]) if embeddings else None,
                }
                for i, c in enumerate(chunks)
            ]
            if rows:
                await tx.executemany(
                    "INSERT INTO chunks (vector_store_id, file_id, position, text, tokens, "
                    "embedding, embedding_model, embedding_dims) VALUES (:vs, :f, :pos, :text, "
                    ":tokens, :emb, :model, :dims)",
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
