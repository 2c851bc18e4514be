"""`client.files` in-process, on every backend: upload, list, retrieve, download, delete, and
the bad uploads (empty, oversized, wrong purpose), each leaving nothing behind."""

from __future__ import annotations

import io
import os
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from assistants import AsyncClient
from store.files import PART_BYTES, FileCorruptError
from tests.helpers import api_error, count_rows, error_fields

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.types import FileDeleted as SDKFileDeleted
    from openai.types import FileObject as SDKFileObject


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        database_url=database_url, worker=False, max_file_bytes=3 * PART_BYTES
    ) as c:
        yield c


def sdk_file(obj: Any) -> SDKFileObject:
    return SDKFileObject.model_validate(obj.to_dict(), strict=True)


async def test_upload__bytes_round_trip_exactly(client: AsyncClient) -> None:
    """Bytes spanning several stored parts come back byte for byte, with size and name."""
    data = bytes(range(256)) * (PART_BYTES // 128 + 7)  # two parts and a bit
    created = await client.files.create(file=("data.bin", data), purpose="assistants")
    parsed = sdk_file(created)
    assert parsed.id.startswith("file-")
    assert (parsed.bytes, parsed.filename, parsed.purpose) == (len(data), "data.bin", "assistants")
    assert parsed.status == "processed"
    assert (await client.files.retrieve(created.id)).to_dict() == created.to_dict()
    content = await client.files.content(created.id)
    assert content.content == data
    assert b"".join(content.iter_bytes(1000)) == data


async def test_upload__path_and_file_object_take_their_names(
    client: AsyncClient, tmp_path: Path
) -> None:
    """A path uploads under its file name; an open binary file under its own name."""
    path = tmp_path / "notes.md"
    path.write_text("# Notes\nhello", encoding="utf-8")
    from_path = await client.files.create(file=path, purpose="user_data")
    assert from_path.filename == "notes.md"
    with path.open("rb") as handle:
        from_handle = await client.files.create(file=handle, purpose="assistants")
    assert from_handle.filename == "notes.md"
    assert (await client.files.content(from_handle.id)).text == "# Notes\nhello"
    anonymous = await client.files.create(file=io.BytesIO(b"x"), purpose="assistants")
    assert anonymous.filename == "upload"


async def test_upload__expires_after_sets_expires_at(client: AsyncClient) -> None:
    """`expires_after` (anchor created_at) gives `expires_at` = created_at + seconds."""
    created = await client.files.create(
        file=b"x", purpose="batch", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    assert created.expires_at == created.created_at + 3600
    err = await api_error(
        lambda: client.files.create(
            file=b"x", purpose="batch", expires_after={"anchor": "created_at", "seconds": 5}
        )
    )
    assert err.status_code == 400
    assert err.param == "expires_after.seconds"


async def test_list__filters_by_purpose_and_pages(client: AsyncClient) -> None:
    """Lists are newest first, filter by purpose, and page with `after`."""
    a = await client.files.create(file=b"a", purpose="assistants")
    b = await client.files.create(file=b"b", purpose="batch")
    c = await client.files.create(file=b"c", purpose="assistants")
    everything = await client.files.list()
    assert [f.id for f in everything.data] == [c.id, b.id, a.id]
    mine = await client.files.list(purpose="assistants", limit=1)
    assert [f.id for f in mine.data] == [c.id]
    assert mine.has_more
    rest = await client.files.list(purpose="assistants", after=c.id)
    assert [f.id for f in rest.data] == [a.id]
    assert [f.id async for f in client.files.list(order="asc")] == [a.id, b.id, c.id]


async def test_delete__removes_row_and_bytes(client: AsyncClient) -> None:
    """Delete answers `{id, object: file, deleted: true}`; the file and its bytes are gone."""
    created = await client.files.create(file=b"bye" * 1000, purpose="assistants")
    deleted = await client.files.delete(created.id)
    SDKFileDeleted.model_validate(deleted.to_dict(), strict=True)
    assert deleted.to_dict() == {"id": created.id, "object": "file", "deleted": True}
    assert await count_rows(client, "files") == 0
    assert await count_rows(client, "file_parts") == 0
    store = await client.store()
    if store.files.directory is not None:
        assert list(store.files.directory.iterdir()) == []
    err = await api_error(lambda: client.files.retrieve(created.id))
    assert error_fields(err) == (404, f"No file found with id '{created.id}'.", None, None)


async def test_unknown_and_malformed_ids(client: AsyncClient) -> None:
    """An unknown id is a 404 on every call; an id of another kind is a 400."""
    for call in (client.files.retrieve, client.files.content, client.files.delete):
        err = await api_error(lambda call=call: call("file-nope"))  # type: ignore[misc]
        assert err.status_code == 404
    err = await api_error(lambda: client.files.retrieve("asst_123"))
    assert error_fields(err) == (
        400,
        "Invalid 'file_id': 'asst_123'. Expected an ID that begins with 'file'.",
        "file_id",
        "invalid_value",
    )


async def test_other_project__cannot_see_the_file(client: AsyncClient) -> None:
    """A file of one project (API key) is a 404 for another."""
    created = await client.files.create(file=b"secret", purpose="assistants")
    other = client.for_project("other")
    assert (await api_error(lambda: other.files.retrieve(created.id))).status_code == 404
    assert (await api_error(lambda: other.files.content(created.id))).status_code == 404
    assert (await api_error(lambda: other.files.delete(created.id))).status_code == 404
    assert (await other.files.list()).data == []


async def test_bad_uploads__refused_and_nothing_kept(client: AsyncClient) -> None:
    """Empty (400), over the limit (413) and wrong purpose (400): no row, part or byte kept."""
    err = await api_error(lambda: client.files.create(file=b"", purpose="assistants"))
    assert error_fields(err) == (
        400,
        "File is empty: upload a file with content.",
        "file",
        "empty_file",
    )
    big = b"z" * (3 * PART_BYTES + 1)
    err = await api_error(lambda: client.files.create(file=big, purpose="assistants"))
    assert error_fields(err) == (
        413,
        f"File is too large: uploads are limited to {3 * PART_BYTES} bytes on this server.",
        "file",
        "file_too_large",
    )
    err = await api_error(lambda: client.files.create(file=b"x", purpose="fine-tuning"))
    assert err.status_code == 400
    assert err.param == "purpose"
    assert err.message.startswith("Invalid value: 'fine-tuning'. Supported values are: ")
    assert await count_rows(client, "files") == 0
    assert await count_rows(client, "file_parts") == 0
    store = await client.store()
    if store.files.directory is not None and store.files.directory.exists():
        assert list(store.files.directory.iterdir()) == []


async def test_damaged_bytes__read_fails_with_the_cause(client: AsyncClient) -> None:
    """Bytes changed behind the store's back fail the checksum on read, naming the file."""
    created = await client.files.create(file=b"original content", purpose="assistants")
    store = await client.store()
    if store.files.directory is not None:
        (store.files.directory / created.id).write_bytes(b"tampered content")
    else:
        async with store.db.transaction() as tx:
            await tx.execute(
                "UPDATE file_parts SET data = :data WHERE file_id = :id",
                {"data": b"tampered content", "id": created.id},
            )
    with pytest.raises(FileCorruptError, match=f"'{created.id}' is damaged"):
        await client.files.content(created.id)


async def test_partial_upload_left_by_a_crash__removed_when_the_store_opens(
    tmp_path: Path, anyio_backend: str
) -> None:
    """An upload's `.partial` bytes untouched for an hour (its process died mid-body) are gone
    once a client opens the store; a fresh one (an upload still running elsewhere) stays."""
    folder = tmp_path / "db.sqlite.files"
    folder.mkdir()
    stale, fresh = folder / "file-stale.partial", folder / "file-fresh.partial"
    stale.write_bytes(b"half of a body")
    fresh.write_bytes(b"still arriving")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    async with AsyncClient(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", worker=False
    ) as client:
        await client.files.list()
        assert not stale.exists()
        assert fresh.exists()
        kept = await client.files.create(file=("a.txt", b"whole"), purpose="assistants")
        assert (folder / kept.id).read_bytes() == b"whole"
