"""`client.threads.messages`: create, retrieve, update, list, delete."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven
from assistants.pagination import AsyncPaginator
from assistants.resources._base import (
    Body,
    Headers,
    Query,
    Resource,
    Timeout,
    check_list,
    merge_extra,
)
from assistants.resources.runs import _listed
from assistants.resources.vector_stores import attach_files, check_attachments
from store import ids
from store.types import ListPage, Message, MessageDeleted


class AsyncMessages(Resource):
    async def create(
        self,
        thread_id: str,
        *,
        content: str | Iterable[dict[str, Any]],
        role: Literal["user", "assistant"],
        attachments: Iterable[dict[str, Any]] | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Message:
        """Add a message to a thread (refused while a run is active on it)."""
        ids.check_id("thread_id", thread_id, "thread")
        fields = merge_extra(
            {
                "content": _listed(content),
                "role": role,
                "attachments": None if attachments is NOT_GIVEN else _listed(attachments),
                "metadata": None if metadata is NOT_GIVEN else metadata,
            },
            extra_body,
        )
        message = v.new_message(fields, "")
        store = await self._store()
        await check_attachments(store, self._project, message.get("attachments"))
        created = await store.threads.create_message(self._project, thread_id, message)
        await attach_files(store, self._project, thread_id, message.get("attachments"))
        return created

    async def retrieve(
        self,
        message_id: str,
        *,
        thread_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Message:
        """Retrieve one message of a thread."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("message_id", message_id, "message")
        store = await self._store()
        return await store.threads.get_message(self._project, thread_id, message_id)

    async def update(
        self,
        message_id: str,
        *,
        thread_id: str,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Message:
        """Replace a message's metadata."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("message_id", message_id, "message")
        store = await self._store()
        if metadata is NOT_GIVEN:
            return await store.threads.get_message(self._project, thread_id, message_id)
        return await store.threads.update_message(
            self._project, thread_id, message_id, v.metadata(metadata)
        )

    def list(
        self,
        thread_id: str,
        *,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        run_id: str | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[Message]:
        """List a thread's messages (newest first by default), optionally those of one run."""
        ids.check_id("thread_id", thread_id, "thread")
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)
        run_filter = None if run_id is NOT_GIVEN else v.string(run_id, "run_id")

        async def fetch(cursor: str | None) -> ListPage[Message]:
            store = await self._store()
            return await store.threads.list_messages(
                self._project,
                thread_id,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
                run_id=run_filter,
            )

        return AsyncPaginator(fetch)

    async def delete(
        self,
        message_id: str,
        *,
        thread_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> MessageDeleted:
        """Delete a message (refused while a run is active on the thread)."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("message_id", message_id, "message")
        store = await self._store()
        return await store.threads.delete_message(self._project, thread_id, message_id)
