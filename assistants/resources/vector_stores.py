"""`client.vector_stores` (+ `.files`, `.file_batches`, `.search`), as openai-python names them.

Files added to a store are ingested by a worker (the embedded one, or `assistants worker`):
`in_progress` until their text is extracted, chunked and indexed, then `completed`, or
`failed` with a `last_error`. The `*_and_poll` helpers wait for that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import anyio

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven, given
from assistants.pagination import AsyncPaginator
from assistants.resources._base import (
    Body,
    ClientContext,
    Headers,
    Query,
    Resource,
    Timeout,
    check_list,
    merge_extra,
)
from assistants.resources.files import AsyncFiles
from assistants.resources.uploads import FileTypes
from assistants.validation import vector_stores as vv
from runtime.embeddings import Embedder, embedder
from runtime.settings import Settings
from store import ids
from store.errors import BadRequestError
from store.filetypes import (
    VectorStore,
    VectorStoreDeleted,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
    VectorStoreSearchResult,
)
from store.log import get_logger
from store.store import Store
from store.types import ListPage

log = get_logger("assistants.tools")

POLL_MS = 100
"""The in-process pollers' default interval (milliseconds)."""


def _known(fields: Mapping[str, Any], known: Iterable[str]) -> None:
    allowed = set(known)
    for key in fields:
        if key not in allowed:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )


def _interval(poll_interval_ms: int | NotGiven) -> float:
    return (POLL_MS if isinstance(poll_interval_ms, NotGiven) else poll_interval_ms) / 1000


class AsyncVectorStoreFiles(Resource):
    async def create(
        self,
        vector_store_id: str,
        *,
        file_id: str,
        attributes: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreFile:
        """Add a file to a vector store (ingested by a worker). Adding it again re-ingests it."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        fields = merge_extra(
            given(file_id=file_id, attributes=attributes, chunking_strategy=chunking_strategy),
            extra_body,
        )
        _known(fields, vv.FILE_PARAMS)
        checked = ids.check_id("file_id", fields.get("file_id"), "file")
        store = await self._store()
        return await store.vector_stores.add_file(
            self._project,
            vector_store_id,
            checked,
            chunking=vv.chunking_strategy(fields.get("chunking_strategy")),
            attributes=vv.attributes(fields.get("attributes")),
        )

    async def retrieve(
        self,
        file_id: str,
        *,
        vector_store_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreFile:
        """A file's entry in a vector store: its ingestion status and `last_error`."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        ids.check_id("file_id", file_id, "file")
        store = await self._store()
        return await store.vector_stores.get_file(self._project, vector_store_id, file_id)

    async def update(
        self,
        file_id: str,
        *,
        vector_store_id: str,
        attributes: dict[str, Any] | None,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreFile:
        """Replace a file's attributes (what search `filters` compare)."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        ids.check_id("file_id", file_id, "file")
        store = await self._store()
        return await store.vector_stores.update_file(
            self._project, vector_store_id, file_id, vv.attributes(attributes)
        )

    def list(
        self,
        vector_store_id: str,
        *,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        filter: Literal["in_progress", "completed", "failed", "cancelled"] | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[VectorStoreFile]:
        """The files of a vector store (with `filter`, those of one status)."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)
        status = vv.file_status(None if isinstance(filter, NotGiven) else filter)

        async def fetch(cursor: str | None) -> ListPage[VectorStoreFile]:
            store = await self._store()
            return await store.vector_stores.list_files(
                self._project,
                vector_store_id,
                status=status,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)

    async def delete(
        self,
        file_id: str,
        *,
        vector_store_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreFileDeleted:
        """Take a file out of a vector store (the file itself is kept: `files.delete` it)."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        ids.check_id("file_id", file_id, "file")
        store = await self._store()
        return await store.vector_stores.remove_file(self._project, vector_store_id, file_id)

    async def poll(
        self,
        file_id: str,
        *,
        vector_store_id: str,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
    ) -> VectorStoreFile:
        """Wait until the file's ingestion is over (completed, failed or cancelled)."""
        while True:
            found = await self.retrieve(file_id, vector_store_id=vector_store_id)
            if found.status != "in_progress":
                return found
            await anyio.sleep(_interval(poll_interval_ms))

    async def create_and_poll(
        self,
        file_id: str,
        *,
        vector_store_id: str,
        attributes: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
    ) -> VectorStoreFile:
        """Add a file and wait for its ingestion."""
        await self.create(
            vector_store_id,
            file_id=file_id,
            attributes=attributes,
            chunking_strategy=chunking_strategy,
        )
        return await self.poll(
            file_id, vector_store_id=vector_store_id, poll_interval_ms=poll_interval_ms
        )

    async def upload(
        self,
        *,
        vector_store_id: str,
        file: FileTypes,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
    ) -> VectorStoreFile:
        """Upload a file (`purpose="assistants"`) and add it to the vector store."""
        created = await AsyncFiles(self._ctx).create(file=file, purpose="assistants")
        return await self.create(
            vector_store_id, file_id=created.id, chunking_strategy=chunking_strategy
        )

    async def upload_and_poll(
        self,
        *,
        vector_store_id: str,
        file: FileTypes,
        attributes: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
    ) -> VectorStoreFile:
        """Upload a file, add it to the vector store and wait for its ingestion."""
        created = await AsyncFiles(self._ctx).create(file=file, purpose="assistants")
        return await self.create_and_poll(
            created.id,
            vector_store_id=vector_store_id,
            attributes=attributes,
            poll_interval_ms=poll_interval_ms,
            chunking_strategy=chunking_strategy,
        )


class AsyncFileBatches(Resource):
    async def create(
        self,
        vector_store_id: str,
        *,
        file_ids: list[str] | NotGiven = NOT_GIVEN,
        files: Iterable[dict[str, Any]] | NotGiven = NOT_GIVEN,
        attributes: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreFileBatch:
        """Add several files at once (`file_ids`, or `files` each with its own attributes)."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        fields = merge_extra(
            given(
                file_ids=file_ids,
                files=None if isinstance(files, NotGiven) else list(files),
                attributes=attributes,
                chunking_strategy=chunking_strategy,
            ),
            extra_body,
        )
        fields = {k: val for k, val in fields.items() if val is not None or k != "files"}
        _known(fields, vv.BATCH_PARAMS)
        shared = vv.attributes(fields.get("attributes"))
        chunking = vv.chunking_strategy(fields.get("chunking_strategy"))
        entries: list[tuple[str, dict[str, Any] | None]] = []
        if fields.get("file_ids") is not None:
            entries = [
                (ids.check_id(f"file_ids[{i}]", f, "file"), shared)
                for i, f in enumerate(vv.file_ids(fields["file_ids"]))
            ]
        elif fields.get("files") is not None:
            items = v.array(fields["files"], "files", max_length=vv.VECTOR_STORE_FILE_IDS_MAX)
            for i, item in enumerate(items):
                entry = v.obj(item, f"files[{i}]")
                file_id = ids.check_id(f"files[{i}].file_id", entry.get("file_id"), "file")
                own = vv.attributes(entry.get("attributes"), f"files[{i}].attributes")
                entries.append((file_id, own if own is not None else shared))
        if not entries:
            raise v.missing("file_ids")
        store = await self._store()
        return await store.vector_stores.create_batch(
            self._project, vector_store_id, entries, chunking=chunking
        )

    async def retrieve(
        self,
        batch_id: str,
        *,
        vector_store_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreFileBatch:
        """A batch, with the counts of its files by status."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        ids.check_id("batch_id", batch_id, "file_batch")
        store = await self._store()
        return await store.vector_stores.get_batch(self._project, vector_store_id, batch_id)

    async def cancel(
        self,
        batch_id: str,
        *,
        vector_store_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreFileBatch:
        """Cancel the batch's files not yet ingested."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        ids.check_id("batch_id", batch_id, "file_batch")
        store = await self._store()
        return await store.vector_stores.cancel_batch(self._project, vector_store_id, batch_id)

    def list_files(
        self,
        batch_id: str,
        *,
        vector_store_id: str,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        filter: Literal["in_progress", "completed", "failed", "cancelled"] | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[VectorStoreFile]:
        """The files of a batch."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        ids.check_id("batch_id", batch_id, "file_batch")
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)
        status = vv.file_status(None if isinstance(filter, NotGiven) else filter)

        async def fetch(cursor: str | None) -> ListPage[VectorStoreFile]:
            store = await self._store()
            await store.vector_stores.get_batch(self._project, vector_store_id, batch_id)
            return await store.vector_stores.list_files(
                self._project,
                vector_store_id,
                status=status,
                batch_id=batch_id,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)

    async def poll(
        self,
        batch_id: str,
        *,
        vector_store_id: str,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
    ) -> VectorStoreFileBatch:
        """Wait until every file of the batch is done."""
        while True:
            found = await self.retrieve(batch_id, vector_store_id=vector_store_id)
            if found.status != "in_progress":
                return found
            await anyio.sleep(_interval(poll_interval_ms))

    async def create_and_poll(
        self,
        vector_store_id: str,
        *,
        file_ids: list[str] | NotGiven = NOT_GIVEN,
        files: Iterable[dict[str, Any]] | NotGiven = NOT_GIVEN,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
    ) -> VectorStoreFileBatch:
        """Create a batch and wait for it."""
        batch = await self.create(
            vector_store_id, file_ids=file_ids, files=files, chunking_strategy=chunking_strategy
        )
        return await self.poll(
            batch.id, vector_store_id=vector_store_id, poll_interval_ms=poll_interval_ms
        )

    async def upload_and_poll(
        self,
        vector_store_id: str,
        *,
        files: Iterable[FileTypes],
        file_ids: list[str] | NotGiven = NOT_GIVEN,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
    ) -> VectorStoreFileBatch:
        """Upload files, add them (and `file_ids`) as one batch, and wait for it."""
        uploader = AsyncFiles(self._ctx)
        uploaded = [(await uploader.create(file=f, purpose="assistants")).id for f in files]
        existing = [] if isinstance(file_ids, NotGiven) else list(file_ids)
        return await self.create_and_poll(
            vector_store_id,
            file_ids=[*existing, *uploaded],
            poll_interval_ms=poll_interval_ms,
            chunking_strategy=chunking_strategy,
        )


class AsyncVectorStores(Resource):
    def __init__(self, ctx: ClientContext) -> None:
        super().__init__(ctx)
        self.files = AsyncVectorStoreFiles(ctx)
        self.file_batches = AsyncFileBatches(ctx)
        self._embedding: list[Embedder | None] = []

    def _embedder(self) -> Embedder | None:
        """The configured embedding model (resolved on first use), None for lexical search."""
        if not self._embedding:
            self._embedding.append(embedder(self._ctx.router, self._ctx.settings))
        return self._embedding[0]

    async def create(
        self,
        *,
        chunking_strategy: dict[str, Any] | NotGiven = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        expires_after: dict[str, Any] | NotGiven = NOT_GIVEN,
        file_ids: list[str] | NotGiven = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStore:
        """Create a vector store, optionally with files (ingested by a worker)."""
        fields = merge_extra(
            given(
                chunking_strategy=chunking_strategy,
                description=description,
                expires_after=expires_after,
                file_ids=file_ids,
                metadata=metadata,
                name=name,
            ),
            extra_body,
        )
        _known(fields, vv.STORE_PARAMS)
        chosen = vv.file_ids(fields["file_ids"]) if fields.get("file_ids") is not None else []
        for i, file_id in enumerate(chosen):
            ids.check_id(f"file_ids[{i}]", file_id, "file")
        store = await self._store()
        return await store.vector_stores.create(
            self._project,
            name=v.optional_string(fields.get("name"), "name", max_length=vv.VECTOR_STORE_NAME_MAX),
            metadata=v.metadata(fields.get("metadata")),
            expires_after=vv.expires_after(fields.get("expires_after")),
            file_ids=chosen,
            chunking=vv.chunking_strategy(fields.get("chunking_strategy")),
        )

    async def retrieve(
        self,
        vector_store_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStore:
        """A vector store, with its file counts, usage and status."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        store = await self._store()
        return await store.vector_stores.get(self._project, vector_store_id)

    async def update(
        self,
        vector_store_id: str,
        *,
        expires_after: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        name: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStore:
        """Change a vector store's name, metadata or expiry."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        fields = merge_extra(
            given(expires_after=expires_after, metadata=metadata, name=name), extra_body
        )
        _known(fields, vv.STORE_UPDATE_PARAMS)
        checked: dict[str, Any] = {}
        if "name" in fields:
            checked["name"] = v.optional_string(
                fields["name"], "name", max_length=vv.VECTOR_STORE_NAME_MAX
            )
        if "metadata" in fields:
            checked["metadata"] = v.metadata(fields["metadata"])
        if "expires_after" in fields:
            checked["expires_after"] = vv.expires_after(fields["expires_after"])
        store = await self._store()
        return await store.vector_stores.update(self._project, vector_store_id, checked)

    def list(
        self,
        *,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[VectorStore]:
        """List vector stores."""
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)

        async def fetch(cursor: str | None) -> ListPage[VectorStore]:
            store = await self._store()
            return await store.vector_stores.list(
                self._project,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)

    async def delete(
        self,
        vector_store_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> VectorStoreDeleted:
        """Delete a vector store and its index (its files are kept)."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        store = await self._store()
        return await store.vector_stores.delete(self._project, vector_store_id)

    def search(
        self,
        vector_store_id: str,
        *,
        query: str | Sequence[str],
        filters: dict[str, Any] | NotGiven = NOT_GIVEN,
        max_num_results: int | NotGiven = NOT_GIVEN,
        ranking_options: dict[str, Any] | NotGiven = NOT_GIVEN,
        rewrite_query: bool | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[VectorStoreSearchResult]:
        """The chunks of the store's files that best match `query`, best first (one page)."""
        ids.check_id("vector_store_id", vector_store_id, "vector_store")
        text = vv.search_query(query)
        if not isinstance(rewrite_query, NotGiven) and rewrite_query is not None:
            v.boolean(rewrite_query, "rewrite_query")  # accepted; queries are not rewritten
        limit = vv.max_num_results(
            None if isinstance(max_num_results, NotGiven) else max_num_results
        )
        ranking = vv.ranking_options(
            None if isinstance(ranking_options, NotGiven) else ranking_options
        )
        wanted = vv.filters(None if isinstance(filters, NotGiven) else filters)

        async def fetch(cursor: str | None) -> ListPage[VectorStoreSearchResult]:
            store = await self._store()
            await store.vector_stores.require_usable(self._project, [vector_store_id])
            embedding = self._embedder()
            vector = None if embedding is None or not text.strip() else await embedding.query(text)
            results = await store.vector_stores.search(
                self._project,
                [vector_store_id],
                text,
                limit=limit,
                score_threshold=ranking.get("score_threshold", 0.0),
                filters=wanted,
                vector=vector,
            )
            await store.vector_stores.touch(self._project, [vector_store_id])
            return ListPage[VectorStoreSearchResult](data=results, has_more=False)

        return AsyncPaginator(fetch)


async def settle_tool_resources(
    store: Store, project: str, resources: dict[str, Any] | None
) -> dict[str, Any] | None:
    """`tool_resources` as stored: every `file_search.vector_store_ids` entry exists for this
    project (else a 404 in OpenAI's wording), and a `vector_stores` helper becomes a new store
    (its files ingested by a worker) named by its id."""
    search = (resources or {}).get("file_search")
    if resources is None or search is None:
        return resources
    if "vector_stores" in search:
        made = [
            await store.vector_stores.create(
                project,
                name=None,
                metadata=helper["metadata"],
                expires_after=None,
                file_ids=helper["file_ids"],
                chunking=helper["chunking_strategy"],
            )
            for helper in search["vector_stores"]
        ]
        return {**resources, "file_search": {"vector_store_ids": [m.id for m in made]}}
    await store.vector_stores.require_usable(project, search.get("vector_store_ids") or [])
    return resources


def searched_files(attachments: Iterable[dict[str, Any]] | None) -> list[str]:
    """The attached file ids meant for `file_search` (an attachment may name no file)."""
    return [
        a["file_id"]
        for a in attachments or ()
        if a.get("file_id") is not None
        and any(t.get("type") == "file_search" for t in a.get("tools") or ())
    ]


async def check_attachments(
    store: Store, project: str, attachments: Iterable[dict[str, Any]] | None
) -> None:
    """404 for an attached file (for `file_search`) this project does not have."""
    for file_id in searched_files(attachments):
        await store.files.get(project, file_id)


async def attach_files(
    store: Store, project: str, thread_id: str, attachments: Iterable[dict[str, Any]] | None
) -> None:
    """Files attached to a message for `file_search` go into the thread's vector store (made
    for it, and set on the thread, when it has none), as the hosted API did."""
    wanted = searched_files(attachments)
    if not wanted:
        return
    thread = await store.threads.get(project, thread_id)
    resources = thread.to_dict().get("tool_resources") or {}
    name = f"vector store for {thread_id}"
    with_files = await _store_with(store, project, resources, wanted, name)
    if with_files != resources:
        await store.threads.update(project, thread_id, {"tool_resources": with_files})


async def new_thread_resources(
    store: Store,
    project: str,
    resources: dict[str, Any] | None,
    messages: Iterable[dict[str, Any]],
) -> dict[str, Any] | None:
    """The `tool_resources` a new thread is created with: settled (`settle_tool_resources`),
    with the files its messages attach for `file_search` in its vector store, made for them
    when it names none; an attached file this project does not have is a 404 before anything is
    made."""
    attached = [a for m in messages for a in m.get("attachments") or ()]
    await check_attachments(store, project, attached)
    settled = await settle_tool_resources(store, project, resources)
    wanted = searched_files(attached)
    return await _store_with(store, project, settled or {}, wanted, None) if wanted else settled


async def _store_with(
    store: Store, project: str, resources: dict[str, Any], file_ids: list[str], name: str | None
) -> dict[str, Any]:
    """`resources` whose (first) file_search vector store holds `file_ids`: the one named, or
    a new one (expiring 7 days after its last use, as the hosted API's thread stores do)."""
    current = (resources.get("file_search") or {}).get("vector_store_ids") or []
    if current:
        vs_id = current[0]
    else:
        made = await store.vector_stores.create(
            project,
            name=name,
            metadata=None,
            expires_after={"anchor": "last_active_at", "days": 7},
            file_ids=[],
            chunking=dict(vv.AUTO_CHUNKING),
        )
        vs_id = made.id
        resources = {**resources, "file_search": {"vector_store_ids": [vs_id]}}
    for file_id in dict.fromkeys(file_ids):
        await store.vector_stores.add_file(
            project, vs_id, file_id, chunking=dict(vv.AUTO_CHUNKING), attributes=None
        )
    return resources


UNSUPPORTED_TOOLS = ("code_interpreter",)
_warned: set[str] = set()


def check_tools(
    settings: Settings, tools: Iterable[dict[str, Any]] | None, *, assistant_id: str | None = None
) -> None:
    """A built-in tool this runtime cannot run is a 400 naming it, unless the operator accepts
    and ignores such tools (`accept_unsupported_tools`; logged once per assistant)."""
    for i, tool in enumerate(tools or ()):
        kind = tool.get("type")
        if kind not in UNSUPPORTED_TOOLS:
            continue
        if not settings.accept_unsupported_tools:
            raise BadRequestError(
                f"The tool '{kind}' is not supported by this server: it cannot run code. Remove "
                f"it from 'tools', or start the server with --accept-unsupported-tools to accept "
                "and ignore it.",
                param=f"tools[{i}]",
                code="unsupported_tool",
            )
        key = f"{assistant_id}:{kind}"
        if assistant_id is not None and key not in _warned:
            _warned.add(key)
            log.warning("unsupported_tool_ignored", tool=kind, assistant_id=assistant_id)
