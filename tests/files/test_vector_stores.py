"""Vector stores in-process, on every backend, with the embedded worker ingesting: stores,
files in stores, batches, search, and the files that cannot be ingested."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from assistants import AsyncClient
from tests.files.pdfs import make_pdf
from tests.helpers import api_error, count_rows, error_fields

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.types import VectorStore as SDKVectorStore
    from openai.types.vector_stores import VectorStoreFile as SDKVectorStoreFile
    from openai.types.vector_stores import VectorStoreFileBatch as SDKBatch

pytestmark = pytest.mark.timeout(60)

GUIDE = (
    "The lighthouse keeper trims the lamp wick every evening. "
    "Storms arrive from the west in autumn, and the foghorn sounds every thirty seconds. "
    "Supplies come by boat on the first Monday of each month."
)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        database_url=database_url, worker=True, poll_seconds=0.05, sweep_seconds=0.05
    ) as c:
        yield c


def strict(model: Any, obj: Any) -> Any:
    return model.model_validate(obj.to_dict(), strict=True)


async def test_upload_and_poll__ingests_and_search_finds_it(client: AsyncClient) -> None:
    """A text file is ingested (completed, usage counted) and search returns its chunk first."""
    store = await client.vector_stores.create(name="handbook", metadata={"team": "ops"})
    strict(SDKVectorStore, store)
    assert (store.status, store.file_counts.total, store.name) == ("completed", 0, "handbook")
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("guide.md", GUIDE.encode())
    )
    strict(SDKVectorStoreFile, done)
    assert done.status == "completed"
    assert done.usage_bytes > 0
    assert done.chunking_strategy is not None
    assert done.chunking_strategy.static.max_chunk_size_tokens == 800
    other = await client.files.create(
        file=("other.txt", b"Bread recipes and flour."), purpose="assistants"
    )
    await client.vector_stores.files.create_and_poll(other.id, vector_store_id=store.id)
    page = await client.vector_stores.search(store.id, query="when does the foghorn sound?")
    assert page.data[0].file_id == done.id
    assert page.data[0].filename == "guide.md"
    assert "foghorn sounds every thirty seconds" in page.data[0].content[0].text
    assert 0 < page.data[0].score <= 1
    assert all(r.file_id != other.id for r in page.data)
    again = await client.vector_stores.retrieve(store.id)
    assert again.file_counts.completed == 2
    assert again.usage_bytes >= done.usage_bytes


async def test_pdf__pages_are_searchable(client: AsyncClient) -> None:
    """A PDF's text layer is extracted page by page."""
    pdf = make_pdf(["Quarterly revenue grew by nine percent.", "Headcount stayed flat."])
    store = await client.vector_stores.create(name="reports")
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("q3.pdf", pdf)
    )
    assert done.status == "completed", done.last_error
    page = await client.vector_stores.search(store.id, query="revenue")
    assert "nine percent" in page.data[0].content[0].text


@pytest.mark.parametrize(
    ("name", "data", "code", "fragment"),
    [
        ("photo.png", b"\x89PNG\r\n", "unsupported_file", "Files of type '.png' are not supported"),
        ("blob.txt", b"\x00\x01\x02binary", "invalid_file", "is binary, not text"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "invalid_file", "could not be read as a PDF"),
        ("scan.pdf", make_pdf([None, None]), "invalid_file", "has no text layer"),
        ("bad.json", b"{not json", "invalid_file", "is not valid JSON"),
    ],
)
async def test_unreadable_files__fail_with_the_cause(
    client: AsyncClient, name: str, data: bytes, code: str, fragment: str
) -> None:
    """Unsupported types, binaries named .txt, corrupt or image-only PDFs: `failed`, with why."""
    store = await client.vector_stores.create()
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=(name, data)
    )
    assert done.status == "failed"
    assert done.last_error is not None
    assert done.last_error.code == code
    assert fragment in done.last_error.message
    if code == "unsupported_file":
        assert "Supported types: plain text" in done.last_error.message
    assert (await client.vector_stores.retrieve(store.id)).file_counts.failed == 1


async def test_static_chunking__limits_and_windows(client: AsyncClient) -> None:
    """`static` chunking cuts windows of the given size; out-of-range sizes are 400s."""
    store = await client.vector_stores.create()
    words = " ".join(f"w{i}" for i in range(450))
    created = await client.files.create(file=("w.txt", words.encode()), purpose="assistants")
    strategy = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
    }
    done = await client.vector_stores.files.create_and_poll(
        created.id, vector_store_id=store.id, chunking_strategy=strategy
    )
    assert done.status == "completed"
    assert await count_rows(client, "chunks", "file_id = :f", f=created.id) == 8
    for bad, param in (
        (
            {"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}},
            "chunking_strategy.static.max_chunk_size_tokens",
        ),
        (
            {
                "type": "static",
                "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101},
            },
            "chunking_strategy.static.chunk_overlap_tokens",
        ),
        ({"type": "fancy"}, "chunking_strategy.type"),
    ):
        err = await api_error(
            lambda bad=bad: client.vector_stores.files.create(  # type: ignore[misc]
                store.id, file_id=created.id, chunking_strategy=bad
            )
        )
        assert (err.status_code, err.param) == (400, param)


async def test_batches__counts_cancel_and_list(client: AsyncClient) -> None:
    """A batch ingests its files; its counts add up; list_files lists them; a done batch
    cannot be cancelled."""
    store = await client.vector_stores.create()
    one = await client.files.create(file=("a.txt", b"alpha"), purpose="assistants")
    two = await client.files.create(file=("b.txt", b"beta"), purpose="assistants")
    batch = await client.vector_stores.file_batches.create_and_poll(
        store.id, file_ids=[one.id, two.id]
    )
    strict(SDKBatch, batch)
    assert batch.status == "completed"
    assert (batch.file_counts.completed, batch.file_counts.total) == (2, 2)
    listed = await client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert {f.id for f in listed.data} == {one.id, two.id}
    err = await api_error(
        lambda: client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    )
    assert err.status_code == 400


async def test_deleting_a_file__removes_it_from_every_store(client: AsyncClient) -> None:
    """`files.delete` takes the file out of the stores that hold it, chunks and all."""
    first = await client.vector_stores.create()
    second = await client.vector_stores.create()
    created = await client.files.create(file=("g.txt", GUIDE.encode()), purpose="assistants")
    for store in (first, second):
        await client.vector_stores.files.create_and_poll(created.id, vector_store_id=store.id)
    await client.files.delete(created.id)
    for store in (first, second):
        assert (await client.vector_stores.files.list(store.id)).data == []
        assert (await client.vector_stores.search(store.id, query="foghorn")).data == []
    assert await count_rows(client, "chunks") == 0


async def test_filters_and_threshold(client: AsyncClient) -> None:
    """Search keeps only files whose attributes pass `filters`, and scores over the threshold."""
    store = await client.vector_stores.create()
    a = await client.files.create(file=("a.txt", b"harbour tides table"), purpose="assistants")
    b = await client.files.create(file=("b.txt", b"harbour fees table"), purpose="assistants")
    await client.vector_stores.files.create_and_poll(
        a.id, vector_store_id=store.id, attributes={"year": 2024}
    )
    await client.vector_stores.files.create_and_poll(
        b.id, vector_store_id=store.id, attributes={"year": 2025}
    )
    page = await client.vector_stores.search(
        store.id, query="harbour", filters={"type": "gte", "key": "year", "value": 2025}
    )
    assert [r.file_id for r in page.data] == [b.id]
    assert page.data[0].attributes == {"year": 2025}
    none = await client.vector_stores.search(
        store.id, query="harbour", ranking_options={"score_threshold": 0.999}
    )
    assert none.data == []


async def test_crud__update_list_delete_and_isolation(client: AsyncClient) -> None:
    """Update, list and delete; another project's key sees a 404; unknown files are 404s."""
    store = await client.vector_stores.create(
        name="x", expires_after={"anchor": "last_active_at", "days": 2}
    )
    assert store.expires_at == store.last_active_at + 2 * 86400  # type: ignore[operator]
    updated = await client.vector_stores.update(store.id, name="y", metadata={"k": "v"})
    assert (updated.name, updated.metadata) == ("y", {"k": "v"})
    assert store.id in [s.id for s in (await client.vector_stores.list()).data]
    other = client.for_project("other")
    err = await api_error(lambda: other.vector_stores.retrieve(store.id))
    assert error_fields(err) == (404, f"No vector store found with id '{store.id}'.", None, None)
    err = await api_error(lambda: client.vector_stores.files.create(store.id, file_id="file-nope"))
    assert err.status_code == 404
    err = await api_error(lambda: client.vector_stores.create(file_ids=["file-nope"]))
    assert err.status_code == 404
    deleted = await client.vector_stores.delete(store.id)
    assert deleted.to_dict() == {"id": store.id, "object": "vector_store.deleted", "deleted": True}
    assert (await api_error(lambda: client.vector_stores.retrieve(store.id))).status_code == 404


async def test_file_deleted_during_ingestion__leaves_no_chunks(database_url: str) -> None:
    """A file deleted after a worker claimed it: the worker's result is discarded."""
    from runtime.ingest import Ingester

    async with AsyncClient(database_url=database_url, worker=False) as quiet:
        store = await quiet.vector_stores.create()
        created = await quiet.files.create(file=("g.txt", GUIDE.encode()), purpose="assistants")
        await quiet.vector_stores.files.create(store.id, file_id=created.id)
        backing = await quiet.store()
        job = await backing.vector_stores.claim_ingest()
        assert job is not None
        assert await backing.vector_stores.claim_ingest() is None  # leased: not claimed twice
        await quiet.files.delete(created.id)
        ingester = Ingester(backing, poll_seconds=0.05)
        await ingester.ingest(job)
        assert ingester.files_ingested == 0
        assert await count_rows(quiet, "chunks") == 0
        assert await count_rows(quiet, "vector_store_files") == 0


async def test_readding_a_failed_file__retries_it(client: AsyncClient) -> None:
    """Adding a failed file again puts it back in progress and ingests it anew."""
    store = await client.vector_stores.create()
    created = await client.files.create(file=("doc.json", b'{"a": "tides'), purpose="assistants")
    failed = await client.vector_stores.files.create_and_poll(created.id, vector_store_id=store.id)
    assert failed.status == "failed"
    again = await client.vector_stores.files.create(store.id, file_id=created.id)
    assert again.status == "in_progress"
    assert again.last_error is None


async def age(client: AsyncClient, vs_id: str, seconds: int) -> None:
    """Move a store's times `seconds` into the past, as if that much time had gone by."""
    backing = await client.store()
    async with backing.db.transaction() as tx:
        await tx.execute(
            "UPDATE vector_stores SET created_at = created_at - :s, "
            "last_active_at = last_active_at - :s, expires_at = expires_at - :s WHERE id = :id",
            {"s": seconds, "id": vs_id},
        )


async def test_expiry__search_keeps_a_store_alive_until_it_lapses(client: AsyncClient) -> None:
    """A search moves `expires_at` on; once it has passed the store reads `expired`, searching
    it is a 400 naming it, and that refused search does not bring it back."""
    store = await client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 1})
    await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("guide.txt", GUIDE.encode())
    )
    await age(client, store.id, 12 * 3600)
    half = await client.vector_stores.retrieve(store.id)
    assert half.status == "completed"
    assert (await client.vector_stores.search(store.id, query="foghorn")).data
    searched = await client.vector_stores.retrieve(store.id)
    assert searched.last_active_at is not None
    assert searched.expires_at is not None
    assert searched.expires_at == searched.last_active_at + 86400
    assert searched.expires_at >= half.expires_at + 12 * 3600  # type: ignore[operator]
    await age(client, store.id, 2 * 86400)
    lapsed = await client.vector_stores.retrieve(store.id)
    assert lapsed.status == "expired"
    strict(SDKVectorStore, lapsed)
    assert [s.status for s in (await client.vector_stores.list()).data] == ["expired"]
    err = await api_error(lambda: client.vector_stores.search(store.id, query="foghorn"))
    assert error_fields(err) == (
        400,
        f"The vector store '{store.id}' has expired and can no longer be searched. "
        "Create a new vector store and add the files to it.",
        "vector_store_id",
        "vector_store_expired",
    )
    after = await client.vector_stores.retrieve(store.id)
    assert (after.status, after.expires_at) == ("expired", lapsed.expires_at)
