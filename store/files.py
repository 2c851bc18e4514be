"""Uploaded files: their rows, and their bytes in a directory or in the database.

Where the bytes live is decided per database, once:

- a SQLite database file keeps them in a directory beside it (`<database>.files/` unless
  configured), one file per upload named by its id: the database stays small and a read is a
  plain file read, off the event loop;
- Postgres (and SQLite in memory) keeps them in the database, in `file_parts` rows of at most
  1 MiB, so every machine of a deployment sees every file.

An upload is streamed: parts are written as they arrive and hashed on the way (SHA-256), never
held whole in memory; the row is inserted last, so a failed or oversized upload leaves nothing
behind (its partial bytes are removed); the partial bytes of an upload the process died in
are removed when a client next opens the store. Every read hashes the bytes again and fails if
they no longer match.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread

from store import ids
from store.base import now
from store.db import Database, Row
from store.errors import BadRequestError, InternalServerError, RequestTooLargeError, not_found
from store.filetypes import FileDeleted, FileObject
from store.log import get_logger
from store.paging import page
from store.types import ListPage

log = get_logger("assistants.store")

PART_BYTES = 1 << 20
"""The size of one stored part (and of each read)."""

FILE_COLUMNS = "id, created_at, bytes, filename, purpose, expires_at, sha256, storage"
PARTIAL_AGE_SECONDS = 3600.0
"""How long an upload's partial bytes go untouched before start-up takes them for a crash's."""


class FileCorruptError(InternalServerError):
    """A stored file's bytes no longer match the checksum taken at upload."""


def file_from_row(row: Row) -> FileObject:
    return FileObject(
        id=row["id"],
        bytes=row["bytes"],
        created_at=row["created_at"],
        filename=row["filename"],
        purpose=row["purpose"],
        expires_at=row["expires_at"],
    )


def default_directory(db: Database) -> Path | None:
    """Beside a SQLite database file: `<database>.files`; None (in the database) otherwise."""
    path = getattr(db, "path", None)
    if db.dialect != "sqlite" or not isinstance(path, str) or path == ":memory:":
        return None
    return Path(path).with_name(Path(path).name + ".files")


class FilePart:
    """`files`: upload, list, retrieve, read and delete, scoped to a project."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.directory = default_directory(db)

    def use_directory(self, directory: str | os.PathLike[str] | None) -> None:
        """Keep the bytes of SQLite-file uploads in `directory` (None: the default)."""
        if directory is None:
            self.directory = default_directory(self.db)
        elif self.directory is not None:
            self.directory = Path(directory)

    async def remove_partial_uploads(self, older_than: float = PARTIAL_AGE_SECONDS) -> int:
        """Remove the `<id>.partial` files an upload cut off by a crash left in the directory
        (one untouched for `older_than` seconds: a running upload writes its file as the body
        arrives); how many. A failed upload in a running process removes its own."""
        directory = self.directory
        if directory is None:
            return 0

        def sweep() -> int:
            if not directory.is_dir():
                return 0
            cutoff = time.time() - older_than
            removed = 0
            for path in directory.glob("*.partial"):
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue  # finished or removed meanwhile
            return removed

        removed = await anyio.to_thread.run_sync(sweep)
        if removed:
            log.warning("partial_uploads_removed", count=removed, directory=str(directory))
        return removed

    # --- writing --------------------------------------------------------------------------

    async def create(
        self,
        project: str,
        source: AsyncIterator[bytes],
        *,
        filename: str,
        purpose: str,
        max_bytes: int,
        expires_in: int | None = None,
    ) -> FileObject:
        """Store the bytes `source` yields as a new file (expiring `expires_in` seconds after its
        creation); refuse (413) past `max_bytes` and (400) an empty one, keeping nothing."""
        file_id = ids.new_id("file")
        digest = hashlib.sha256()
        if self.directory is not None:
            size = await self._write_directory(file_id, source, digest, max_bytes)
            storage = "directory"
        else:
            size = await self._write_database(file_id, source, digest, max_bytes)
            storage = "database"
        created = now()
        try:
            async with self.db.transaction() as tx:
                row = await tx.fetchrow(
                    "INSERT INTO files (id, project, created_at, bytes, filename, purpose, "
                    "expires_at, sha256, storage) VALUES (:id, :project, :created_at, :bytes, "
                    ":filename, :purpose, :expires_at, :sha256, :storage) "
                    f"RETURNING {FILE_COLUMNS}",
                    {
                        "id": file_id,
                        "project": project,
                        "created_at": created,
                        "bytes": size,
                        "filename": filename,
                        "purpose": purpose,
                        "expires_at": None if expires_in is None else created + expires_in,
                        "sha256": digest.hexdigest(),
                        "storage": storage,
                    },
                )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._remove_bytes(file_id, storage)
            raise
        assert row is not None
        log.info("file_created", file_id=file_id, bytes=size, storage=storage)
        return file_from_row(row)

    async def _write_directory(
        self, file_id: str, source: AsyncIterator[bytes], digest: Any, max_bytes: int
    ) -> int:
        assert self.directory is not None
        directory = self.directory
        await anyio.to_thread.run_sync(lambda: directory.mkdir(parents=True, exist_ok=True))
        partial = directory / f"{file_id}.partial"
        size = 0
        handle: BinaryIO = await anyio.to_thread.run_sync(partial.open, "wb")
        try:
            try:
                async for chunk in source:
                    size += len(chunk)
                    _check_size(size, max_bytes)
                    await anyio.to_thread.run_sync(_write_hashed, handle, digest, chunk)
                _check_empty(size)
                await anyio.to_thread.run_sync(_flush, handle)
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(handle.close)
            await anyio.to_thread.run_sync(os.replace, partial, directory / file_id)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))
            raise
        return size

    async def _write_database(
        self, file_id: str, source: AsyncIterator[bytes], digest: Any, max_bytes: int
    ) -> int:
        size = 0
        part = 0
        buffer = bytearray()

        async def flush() -> None:
            nonlocal part
            data = bytes(buffer)
            buffer.clear()
            async with self.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO file_parts (file_id, part, data) VALUES (:id, :part, :data)",
                    {"id": file_id, "part": part, "data": data},
                )
            part += 1

        try:
            async for chunk in source:
                size += len(chunk)
                _check_size(size, max_bytes)
                digest.update(chunk)
                buffer += chunk
                while len(buffer) >= PART_BYTES:
                    rest = buffer[PART_BYTES:]
                    del buffer[PART_BYTES:]
                    await flush()
                    buffer += rest
            _check_empty(size)
            if buffer:
                await flush()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._remove_bytes(file_id, "database")
            raise
        return size

    async def _remove_bytes(self, file_id: str, storage: str) -> None:
        if storage == "database":
            async with self.db.transaction(heavy=True) as tx:
                await tx.execute("DELETE FROM file_parts WHERE file_id = :id", {"id": file_id})
        elif self.directory is not None:
            path = self.directory / file_id
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))

    # --- reading --------------------------------------------------------------------------

    async def get(self, project: str, file_id: str) -> FileObject:
        return file_from_row(await self._row(project, file_id))

    async def _row(self, project: str, file_id: str) -> Row:
        row = await self.db.fetchrow(
            f"SELECT {FILE_COLUMNS} FROM files WHERE id = :id AND project = :project",
            {"id": file_id, "project": project},
        )
        if row is None:
            raise not_found("file", file_id)
        return row

    async def list(
        self,
        project: str,
        *,
        purpose: str | None,
        limit: int,
        order: str,
        after: str | None,
        before: str | None = None,
    ) -> ListPage[FileObject]:
        scope = "project = :project"
        params: dict[str, Any] = {"project": project}
        if purpose is not None:
            scope += " AND purpose = :purpose"
            params["purpose"] = purpose
        return await page(
            self.db,
            table="files",
            columns=FILE_COLUMNS,
            scope=scope,
            params=params,
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=file_from_row,
        )

    async def read(self, project: str, file_id: str) -> AsyncIterator[bytes]:
        """The file's bytes in parts; raises `FileCorruptError` after the last part if they do
        not match the upload's checksum (a caller that must not use bad bytes reads them all
        before using any: `content`)."""
        row = await self._row(project, file_id)
        return self._verified(row)

    async def content(self, project: str, file_id: str) -> bytes:
        """The whole file, checked against its checksum."""
        parts = [chunk async for chunk in await self.read(project, file_id)]
        return b"".join(parts)

    async def _verified(self, row: Row) -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        size = 0
        async for chunk in self._raw(row):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
        if size != row["bytes"] or digest.hexdigest() != row["sha256"]:
            log.error("file_corrupt", file_id=row["id"], bytes=size, expected=row["bytes"])
            raise FileCorruptError(
                f"The stored content of file '{row['id']}' is damaged: its checksum does not "
                "match the one taken at upload. Upload the file again.",
                code="file_corrupt",
            )

    async def _raw(self, row: Row) -> AsyncIterator[bytes]:
        if row["storage"] == "database":
            part = 0
            while True:
                found = await self.db.fetchrow(
                    "SELECT data FROM file_parts WHERE file_id = :id AND part = :part",
                    {"id": row["id"], "part": part},
                )
                if found is None:
                    return
                yield bytes(found["data"])
                part += 1
        if self.directory is None:
            raise FileCorruptError(
                f"The bytes of file '{row['id']}' are kept in a directory this store does not "
                "have.",
                code="file_corrupt",
            )
        path = self.directory / row["id"]
        try:
            handle: BinaryIO = await anyio.to_thread.run_sync(path.open, "rb")
        except FileNotFoundError:
            raise FileCorruptError(
                f"The bytes of file '{row['id']}' are missing from {self.directory}.",
                code="file_corrupt",
            ) from None
        try:
            while chunk := await anyio.to_thread.run_sync(handle.read, PART_BYTES):
                yield chunk
        finally:
            handle.close()  # a read-only close: no flush, nothing to wait for (and not cancelled)

    # --- deleting -------------------------------------------------------------------------

    async def delete(self, project: str, file_id: str) -> FileDeleted:
        """Delete the file, its bytes, and its place in every vector store that holds it."""
        async with self.db.transaction(heavy=True) as tx:
            row = await tx.fetchrow(
                "DELETE FROM files WHERE id = :id AND project = :project RETURNING storage",
                {"id": file_id, "project": project},
            )
            if row is None:
                raise not_found("file", file_id)
            await remove_file_from_stores(tx, self.db.dialect, file_id)
        await self._remove_bytes(file_id, row["storage"])
        log.info("file_deleted", file_id=file_id)
        return FileDeleted(id=file_id)


async def remove_file_from_stores(tx: Any, dialect: str, file_id: str) -> None:
    """Take a file out of every vector store: its entries and its indexed chunks."""
    if dialect == "sqlite":
        await tx.execute(
            "INSERT INTO chunks_fts (chunks_fts, rowid, text) "
            "SELECT 'delete', seq, text FROM chunks WHERE file_id = :id",
            {"id": file_id},
        )
    await tx.execute("DELETE FROM chunks WHERE file_id = :id", {"id": file_id})
    await tx.execute("DELETE FROM vector_store_files WHERE id = :id", {"id": file_id})


def _write_hashed(handle: BinaryIO, digest: Any, chunk: bytes) -> None:
    digest.update(chunk)
    handle.write(chunk)


def _flush(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise RequestTooLargeError(
            f"File is too large: uploads are limited to {max_bytes} bytes on this server.",
            param="file",
            code="file_too_large",
        )


def _check_empty(size: int) -> None:
    if size == 0:
        raise BadRequestError(
            "File is empty: upload a file with content.", param="file", code="empty_file"
        )
