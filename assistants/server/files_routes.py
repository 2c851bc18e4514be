"""`/v1/files`: multipart uploads, lists, details, downloads and deletes (openai-python's
`client.files`).

An upload is `multipart/form-data` with a `file` part and a `purpose` field (and optionally
`expires_after[anchor]` / `expires_after[seconds]`, as the SDK flattens them). The multipart
parser (python-multipart, through Starlette) spools the file part to a temporary file past
1 MiB; from there it is streamed to storage in parts, never held whole in memory. A body over
the server's file limit is refused with a 413 before anything is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from assistants import validation as v
from assistants._client import AsyncClient
from assistants.resources.files import check_purpose, expiry
from assistants.server.deps import caller_client
from assistants.server.openapi import operation
from assistants.server.wire import list_query
from store import ids
from store.files import PART_BYTES

router = APIRouter()

MULTIPART = "multipart/form-data"
MULTIPART_OVERHEAD = 64 * 1024
"""Bytes an upload's body may carry beyond the file itself (boundaries, headers, fields)."""


def client_of(request: Request) -> AsyncClient:
    """The caller's client (its project), as `create_app` serves it."""
    return caller_client(request)


async def _parts(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(PART_BYTES):
        yield chunk


@router.post(
    "/v1/files",
    **operation(
        "createFile",
        "Upload a file",
        "Files",
        "FileObject",
        body="CreateFileRequest",
        body_required=True,
        body_media=MULTIPART,
    ),
)
async def create_file(request: Request) -> JSONResponse:
    client = client_of(request)
    # A malformed body is the parser's 400 (Starlette's HTTPException, in OpenAI's shape).
    async with request.form(max_files=1, max_fields=16) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise v.missing("file")
        purpose = check_purpose(form.get("purpose"))
        anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
        expires_in = None
        if anchor is not None or seconds is not None:
            expires_in = expiry({"anchor": anchor, "seconds": seconds})
        store = await client.store()
        created = await store.files.create(
            client.project,
            _parts(upload),
            filename=upload.filename or "upload",
            purpose=purpose,
            max_bytes=client.settings.max_file_bytes,
            expires_in=expires_in,
        )
    return JSONResponse(created.to_dict())


@router.get(
    "/v1/files",
    **operation(
        "listFiles",
        "List files",
        "Files",
        "FileObject",
        query=("limit", "order", "after", "purpose"),
        is_list=True,
    ),
)
async def list_files(request: Request) -> JSONResponse:
    page = await client_of(request).files.list(
        **list_query(request, "purpose", paging=("limit", "order", "after"))
    )
    return JSONResponse(page.to_dict())


@router.get(
    "/v1/files/{file_id}", **operation("retrieveFile", "Retrieve a file", "Files", "FileObject")
)
async def get_file(request: Request, file_id: str) -> JSONResponse:
    return JSONResponse((await client_of(request).files.retrieve(file_id)).to_dict())


@router.delete(
    "/v1/files/{file_id}", **operation("deleteFile", "Delete a file", "Files", "FileDeleted")
)
async def delete_file(request: Request, file_id: str) -> JSONResponse:
    return JSONResponse((await client_of(request).files.delete(file_id)).to_dict())


@router.get(
    "/v1/files/{file_id}/content",
    **operation(
        "downloadFile",
        "Retrieve a file's content",
        "Files",
        "FileContent",
        media="application/octet-stream",
    ),
)
async def file_content(request: Request, file_id: str) -> Response:
    """The bytes, streamed; a damaged file (checksum mismatch) aborts the response."""
    client = client_of(request)
    ids.check_id("file_id", file_id, "file")
    store = await client.store()
    found = await store.files.get(client.project, file_id)
    parts = await store.files.read(client.project, file_id)
    return StreamingResponse(
        parts,
        media_type="application/octet-stream",
        headers={
            "content-length": str(found.bytes),
            "content-disposition": f'attachment; filename="{_quoted(found.filename)}"',
        },
    )


def _quoted(name: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' and ord(c) < 128 else "_" for c in name)
