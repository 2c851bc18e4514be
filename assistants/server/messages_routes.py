"""`/v1/threads/{thread_id}/messages`: create, list, retrieve, modify, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistants.server.deps import Caller, JsonBody
from assistants.server.openapi import LIST_QUERY, operation
from assistants.server.wire import as_json, check_keys, list_query

router = APIRouter()


@router.post(
    "/v1/threads/{thread_id}/messages",
    **operation(
        "createMessage",
        "Create a message",
        "Messages",
        "Message",
        body="CreateMessageRequest",
        body_required=True,
    ),
)
async def create_message(caller: Caller, body: JsonBody, thread_id: str) -> JSONResponse:
    check_keys(body, {"role", "content", "attachments", "metadata"})
    return as_json(
        await caller.threads.messages.create(
            thread_id,
            role=body.get("role"),  # type: ignore[arg-type]
            content=body.get("content"),  # type: ignore[arg-type]
            attachments=body.get("attachments"),
            metadata=body.get("metadata"),
        )
    )


@router.get(
    "/v1/threads/{thread_id}/messages",
    **operation(
        "listMessages",
        "List messages",
        "Messages",
        "Message",
        query=(*LIST_QUERY, "run_id"),
        is_list=True,
    ),
)
async def list_messages(caller: Caller, request: Request, thread_id: str) -> JSONResponse:
    query = list_query(request, "run_id")
    return as_json(await caller.threads.messages.list(thread_id, **query))


@router.get(
    "/v1/threads/{thread_id}/messages/{message_id}",
    **operation("getMessage", "Retrieve a message", "Messages", "Message"),
)
async def get_message(caller: Caller, thread_id: str, message_id: str) -> JSONResponse:
    return as_json(await caller.threads.messages.retrieve(message_id, thread_id=thread_id))


@router.post(
    "/v1/threads/{thread_id}/messages/{message_id}",
    **operation(
        "modifyMessage", "Modify a message", "Messages", "Message", body="ModifyMetadataRequest"
    ),
)
async def update_message(
    caller: Caller, body: JsonBody, thread_id: str, message_id: str
) -> JSONResponse:
    check_keys(body, {"metadata"})
    return as_json(
        await caller.threads.messages.update(
            message_id, thread_id=thread_id, metadata=body.get("metadata")
        )
    )


@router.delete(
    "/v1/threads/{thread_id}/messages/{message_id}",
    **operation("deleteMessage", "Delete a message", "Messages", "MessageDeleted"),
)
async def delete_message(caller: Caller, thread_id: str, message_id: str) -> JSONResponse:
    return as_json(await caller.threads.messages.delete(message_id, thread_id=thread_id))
