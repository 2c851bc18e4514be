"""`client.files`: upload, list, retrieve, download and delete files (openai-python's names).

`file` takes what openai-python's `FileTypes` takes: bytes, a binary file object, a path, or a
`(filename, content[, content_type])` tuple. The bytes are streamed to storage in parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven
from assistants.pagination import AsyncPaginator
from assistants.resources._base import Body, Headers, Query, Resource, Timeout, check_list
from assistants.resources.uploads import BinaryContent, FileTypes, upload_source
from store import ids
from store.filetypes import UPLOAD_PURPOSES, FileDeleted, FileObject
from store.types import ListPage

EXPIRES_MIN, EXPIRES_MAX = 3600, 2_592_000


def check_purpose(purpose: object) -> str:
    if purpose is None:
        raise v.missing("purpose")
    if purpose not in UPLOAD_PURPOSES:
        raise v.invalid_value("purpose", purpose, UPLOAD_PURPOSES)
    return str(purpose)


def expiry(expires_after: object) -> int | None:
    """The seconds of `expires_after` (`{"anchor": "created_at", "seconds": 3600..2592000}`)."""
    if expires_after is None:
        return None
    fields = v.obj(expires_after, "expires_after")
    if fields.get("anchor") != "created_at":
        raise v.invalid_value("expires_after.anchor", fields.get("anchor"), ["created_at"])
    seconds = fields.get("seconds")
    # Multipart fields arrive as text; only ASCII digits are a number ('²' is a digit to
    # str.isdigit() but not to int()).
    if isinstance(seconds, str) and seconds.isascii() and seconds.isdigit():
        seconds = int(seconds)
    return v.integer(seconds, "expires_after.seconds", minimum=EXPIRES_MIN, maximum=EXPIRES_MAX)


class AsyncFiles(Resource):
    async def create(
        self,
        *,
        file: FileTypes,
        purpose: str,
        expires_after: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> FileObject:
        """Upload a file (streamed to storage; at most the server's `max_file_bytes`)."""
        checked = check_purpose(purpose)
        expires_in = None if expires_after is NOT_GIVEN else expiry(expires_after)
        filename, source = upload_source(file)
        store = await self._store()
        return await store.files.create(
            self._project,
            source,
            filename=filename,
            purpose=checked,
            max_bytes=self._ctx.settings.max_file_bytes,
            expires_in=expires_in,
        )

    async def retrieve(
        self,
        file_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> FileObject:
        """A file's details."""
        ids.check_id("file_id", file_id, "file")
        store = await self._store()
        return await store.files.get(self._project, file_id)

    def list(
        self,
        *,
        after: str | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        purpose: str | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[FileObject]:
        """List files (of one `purpose`, if given): await for one page, or iterate them all."""
        lim, ordering, first_after, _ = check_list(limit, order, after, NOT_GIVEN)
        wanted = None if purpose is NOT_GIVEN else v.string(purpose, "purpose")

        async def fetch(cursor: str | None) -> ListPage[FileObject]:
            store = await self._store()
            return await store.files.list(
                self._project,
                purpose=wanted,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
            )

        return AsyncPaginator(fetch)

    async def delete(
        self,
        file_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> FileDeleted:
        """Delete a file and take it out of every vector store that holds it."""
        ids.check_id("file_id", file_id, "file")
        store = await self._store()
        return await store.files.delete(self._project, file_id)

    async def content(
        self,
        file_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> BinaryContent:
        """The file's bytes, exactly as uploaded (checked against the upload's checksum)."""
        ids.check_id("file_id", file_id, "file")
        store = await self._store()
        return BinaryContent(await store.files.content(self._project, file_id))
