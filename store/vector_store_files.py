"""The files in `store.vector_stores` and their batches: adding one (again: how a failed file
is retried) queues it for ingestion, in progress until the queue completes, fails or cancels it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store import ids
from store.base import now
from store.db import Row, Tx
from store.errors import BadRequestError, not_found
from store.filetypes import (
    FileCounts,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
    VectorStoreFileStatus,
    counts,
)
from store.paging import page
from store.rows import dumps
from store.types import ListPage
from store.vector_rows import VSF_COLUMNS, VectorStoreRows, drop_chunks, vector_store_file


def _batch_status(cancelled: bool, file_counts: FileCounts) -> VectorStoreFileStatus:
    if file_counts.in_progress:
        return "cancelled" if cancelled else "in_progress"
    if cancelled:
        return "cancelled"
    if file_counts.total and file_counts.failed == file_counts.total:
        return "failed"
    return "completed"


class VectorStoreFiles(VectorStoreRows):
    """The files in vector stores, and file batches."""

    async def _check_files(self, tx: Tx, project: str, file_ids: Sequence[str]) -> None:
        for file_id in file_ids:
            row = await tx.fetchrow(
                "SELECT id FROM files WHERE id = :id AND project = :project",
                {"id": file_id, "project": project},
            )
            if row is None:
                raise not_found("file", file_id)

    async def _drop_file(self, tx: Tx, vs_id: str, file_id: str) -> None:
        """A file's chunks and its row in a store (the file itself stays)."""
        await drop_chunks(
            tx,
            self.db.dialect,
            "vector_store_id = :vs AND file_id = :f",
            {"vs": vs_id, "f": file_id},
        )
        await tx.execute(
            "DELETE FROM vector_store_files WHERE vector_store_id = :vs AND id = :f",
            {"vs": vs_id, "f": file_id},
        )

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
        await self._drop_file(tx, vs_id, file_id)
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
            await self._drop_file(tx, vs_id, file_id)
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
