"""Files and vector stores in OpenAI's wire shapes (the openai SDK's `FileObject`,
`VectorStore`, `VectorStoreFile`, `VectorStoreFileBatch`, search results), re-exported by
`assistants.types`."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from store.types import Metadata, Model, OmitNone

FilePurpose: TypeAlias = Literal[
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
    "evals",
]
UPLOAD_PURPOSES: tuple[str, ...] = (
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
)
"""The purposes an upload may declare (openai-python's `FilePurpose`)."""

VectorStoreFileStatus: TypeAlias = Literal["in_progress", "completed", "cancelled", "failed"]
Attributes: TypeAlias = dict[str, str | float | bool]


class FileObject(Model):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] = "processed"
    expires_at: int | None = None
    status_details: str | None = None


class FileDeleted(Model):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True


class FileCounts(Model):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class VectorStoreExpiresAfter(Model):
    anchor: Literal["last_active_at"] = "last_active_at"
    days: int


class VectorStore(Model):
    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: VectorStoreExpiresAfter | None = None
    expires_at: int | None = None
    last_active_at: int | None = None
    metadata: Metadata | None = None


class VectorStoreDeleted(Model):
    id: str
    object: Literal["vector_store.deleted"] = "vector_store.deleted"
    deleted: bool = True


class StaticChunking(Model):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class ChunkingStrategy(Model):
    type: Literal["static"] = "static"
    static: StaticChunking


class VectorStoreFileError(Model):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFile(Model):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    created_at: int
    vector_store_id: str
    status: VectorStoreFileStatus
    usage_bytes: int
    last_error: VectorStoreFileError | None = None
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None


class VectorStoreFileDeleted(Model):
    id: str
    object: Literal["vector_store.file.deleted"] = "vector_store.file.deleted"
    deleted: bool = True


class VectorStoreFileBatch(Model):
    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: VectorStoreFileStatus
    file_counts: FileCounts


class SearchContent(Model):
    type: Literal["text"] = "text"
    text: str


class VectorStoreSearchResult(OmitNone):
    file_id: str
    filename: str
    score: float
    attributes: Attributes | None = None
    content: list[SearchContent]


class SearchPage(Model):
    """`POST /vector_stores/{id}/search`: one page of results, best first."""

    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[VectorStoreSearchResult]
    has_more: bool = False
    next_page: str | None = None


def counts(rows: list[Any]) -> FileCounts:
    """File counts from `(status, n)` rows."""
    found = {str(r["status"]): int(r["n"]) for r in rows}
    return FileCounts(
        in_progress=found.get("in_progress", 0),
        completed=found.get("completed", 0),
        failed=found.get("failed", 0),
        cancelled=found.get("cancelled", 0),
        total=sum(found.values()),
    )
