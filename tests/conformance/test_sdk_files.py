"""`client.files` of the unmodified openai SDK against the server, on SQLite and Postgres:
multipart upload, list, retrieve, byte-exact download, delete, and the refused uploads."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistants import AsyncClient
from tests.conformance.conftest import LiveServer
from tests.conformance.support import check_error

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def server(any_database_url: str) -> Iterator[LiveServer]:
    client = AsyncClient(database_url=any_database_url, worker=False, max_file_bytes=LIMIT)
    with LiveServer(client, keys=["sk-a", "sk-b"]) as live:
        yield live


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[openai.OpenAI]:
    client = server.sdk("sk-a")
    try:
        yield client
    finally:
        client.close()


def test_files__upload_list_retrieve_download_delete(sdk: openai.OpenAI, tmp_path: Path) -> None:
    """A path uploads by multipart; the bytes download exactly; delete removes the file."""
    data = bytes(range(256)) * 5000  # 1.28 MB: several parts
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    created = sdk.files.create(file=path, purpose="assistants")
    assert (created.filename, created.bytes, created.purpose) == (
        "report.pdf",
        len(data),
        "assistants",
    )
    assert created.id.startswith("file-")
    assert sdk.files.retrieve(created.id) == created
    assert sdk.files.content(created.id).content == data
    listed = sdk.files.list(purpose="assistants")
    assert created.id in [f.id for f in listed.data]
    assert created.id not in [f.id for f in sdk.files.list(purpose="batch").data]
    deleted = sdk.files.delete(created.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (created.id, True, "file")
    with pytest.raises(openai.NotFoundError) as info:
        sdk.files.retrieve(created.id)
    check_error(info.value, 404, f"No file found with id '{created.id}'.")


def test_files__tuple_upload_with_expiry(sdk: openai.OpenAI) -> None:
    """A `(name, bytes, type)` tuple and `expires_after` (sent as flattened form fields)."""
    created = sdk.files.create(
        file=("notes.txt", b"hello", "text/plain"),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 7200},
    )
    assert created.filename == "notes.txt"
    assert created.expires_at == created.created_at + 7200
    assert sdk.files.content(created.id).text == "hello"


def test_files__another_key_sees_nothing(server: LiveServer, sdk: openai.OpenAI) -> None:
    """A file uploaded with one API key is a 404 for another."""
    created = sdk.files.create(file=("a.txt", b"a"), purpose="assistants")
    other = server.sdk("sk-b")
    try:
        with pytest.raises(openai.NotFoundError):
            other.files.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            other.files.content(created.id)
        assert created.id not in [f.id for f in other.files.list().data]
    finally:
        other.close()


def test_files__oversized_upload_is_a_413_and_nothing_is_kept(sdk: openai.OpenAI) -> None:
    """A file over the limit is refused (413) and no file appears."""
    before = {f.id for f in sdk.files.list(limit=100).data}
    with pytest.raises(openai.APIStatusError) as info:
        sdk.files.create(file=("big.bin", b"x" * (LIMIT + 1)), purpose="assistants")
    assert info.value.status_code == 413
    with pytest.raises(openai.APIStatusError) as info:
        sdk.files.create(file=("huge.bin", b"x" * (LIMIT + 100_000)), purpose="assistants")
    assert info.value.status_code == 413
    assert {f.id for f in sdk.files.list(limit=100).data} == before


def test_files__expiry_seconds_that_are_not_ascii_digits_are_a_400(server: LiveServer) -> None:
    """`expires_after[seconds]` arrives as text: '3600' is a number, while digits outside ASCII
    ('²', which int() refuses, or Arabic-Indic digits) are a 400 naming the field, not a 500,
    and store nothing."""
    headers = {"authorization": "Bearer sk-a"}
    form = {"purpose": "assistants", "expires_after[anchor]": "created_at"}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        before = http.get("/files").json()["data"]
        for seconds in ("\u00b2", "\u0663\u0666\u0660\u0660"):
            response = http.post(
                "/files",
                files={"file": ("a.txt", b"a")},
                data={**form, "expires_after[seconds]": seconds},
            )
            assert response.status_code == 400, response.text
            assert response.json()["error"] == {
                "message": "Invalid type for 'expires_after.seconds': expected an integer, but "
                "got a string instead.",
                "type": "invalid_request_error",
                "param": "expires_after.seconds",
                "code": "invalid_type",
            }
        assert http.get("/files").json()["data"] == before
        made = http.post(
            "/files",
            files={"file": ("a.txt", b"a")},
            data={**form, "expires_after[seconds]": "3600"},
        ).json()
        assert made["expires_at"] == made["created_at"] + 3600
        http.delete(f"/files/{made['id']}").raise_for_status()


def test_files__bad_requests(sdk: openai.OpenAI, server: LiveServer) -> None:
    """Empty file, unknown purpose, missing file part and a JSON body are refused clearly."""
    with pytest.raises(openai.BadRequestError) as info:
        sdk.files.create(file=("empty.txt", b""), purpose="assistants")
    check_error(
        info.value,
        400,
        "File is empty: upload a file with content.",
        code="empty_file",
        param="file",
    )
    with pytest.raises(openai.BadRequestError) as info:
        sdk.files.create(file=("a.txt", b"a"), purpose="nonsense")  # type: ignore[arg-type]
    assert info.value.param == "purpose"
    headers = {"authorization": "Bearer sk-a"}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        missing = http.post("/files", data={"purpose": "assistants"}, files={"x": ("a", b"a")})
        assert missing.status_code == 400
        assert missing.json()["error"]["message"] == "Missing required parameter: 'file'."
        as_json = http.post("/files", json={"purpose": "assistants"})
        assert as_json.status_code == 415
        wrong = http.get("/files/asst_1")
        assert wrong.status_code == 400
