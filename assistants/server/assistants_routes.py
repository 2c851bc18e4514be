"""`/v1/assistants`: create, list, retrieve, modify, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistants.server.deps import Caller, JsonBody
from assistants.server.openapi import LIST_QUERY, operation
from assistants.server.wire import as_json, list_query, split

router = APIRouter()


@router.post(
    "/v1/assistants",
    **operation(
        "createAssistant",
        "Create an assistant",
        "Assistants",
        "Assistant",
        body="CreateAssistantRequest",
        body_required=True,
    ),
)
async def create_assistant(caller: Caller, body: JsonBody) -> JSONResponse:
    named, rest = split(body, "model")
    return as_json(await caller.assistants.create(model=named.get("model"), extra_body=rest))  # type: ignore[arg-type]


@router.get(
    "/v1/assistants",
    **operation(
        "listAssistants",
        "List assistants",
        "Assistants",
        "Assistant",
        query=LIST_QUERY,
        is_list=True,
    ),
)
async def list_assistants(caller: Caller, request: Request) -> JSONResponse:
    return as_json(await caller.assistants.list(**list_query(request)))


@router.get(
    "/v1/assistants/{assistant_id}",
    **operation("getAssistant", "Retrieve an assistant", "Assistants", "Assistant"),
)
async def get_assistant(caller: Caller, assistant_id: str) -> JSONResponse:
    return as_json(await caller.assistants.retrieve(assistant_id))


@router.post(
    "/v1/assistants/{assistant_id}",
    **operation(
        "modifyAssistant",
        "Modify an assistant",
        "Assistants",
        "Assistant",
        body="ModifyAssistantRequest",
    ),
)
async def update_assistant(caller: Caller, body: JsonBody, assistant_id: str) -> JSONResponse:
    return as_json(await caller.assistants.update(assistant_id, extra_body=body))


@router.delete(
    "/v1/assistants/{assistant_id}",
    **operation("deleteAssistant", "Delete an assistant", "Assistants", "AssistantDeleted"),
)
async def delete_assistant(caller: Caller, assistant_id: str) -> JSONResponse:
    return as_json(await caller.assistants.delete(assistant_id))
