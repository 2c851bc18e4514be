"""`/v1/threads`: create (and create and run), retrieve, modify, delete.

`POST /v1/threads/runs` is declared before `POST /v1/threads/{thread_id}`, which would
otherwise take it as the thread `runs`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from assistants.server.deps import Caller, JsonBody
from assistants.server.openapi import operation
from assistants.server.wire import as_json, check_keys, object_or_stream, split
from runtime.trace_context import THREAD_TRACE_FIELDS

router = APIRouter()


@router.post(
    "/v1/threads",
    **operation("createThread", "Create a thread", "Threads", "Thread", body="CreateThreadRequest"),
)
async def create_thread(caller: Caller, body: JsonBody) -> JSONResponse:
    return as_json(await caller.threads.create(extra_body=body))


@router.post(
    "/v1/threads/runs",
    response_model=None,
    **operation(
        "createThreadAndRun",
        "Create a thread and run it",
        "Runs",
        "Run",
        body="CreateThreadAndRunRequest",
        body_required=True,
        streams=True,
    ),
)
async def create_thread_and_run(caller: Caller, body: JsonBody) -> Response:
    named, rest = split(body, "assistant_id")
    result = await caller.threads.create_and_run(
        assistant_id=named.get("assistant_id"),  # type: ignore[arg-type]
        extra_body=rest,
    )
    return object_or_stream(result)


@router.get(
    "/v1/threads/{thread_id}", **operation("getThread", "Retrieve a thread", "Threads", "Thread")
)
async def get_thread(caller: Caller, thread_id: str) -> JSONResponse:
    return as_json(await caller.threads.retrieve(thread_id))


@router.post(
    "/v1/threads/{thread_id}",
    **operation("modifyThread", "Modify a thread", "Threads", "Thread", body="ModifyThreadRequest"),
)
async def update_thread(caller: Caller, body: JsonBody, thread_id: str) -> JSONResponse:
    check_keys(body, {"metadata", "tool_resources", *THREAD_TRACE_FIELDS})
    return as_json(await caller.threads.update(thread_id, **body))


@router.delete(
    "/v1/threads/{thread_id}",
    **operation("deleteThread", "Delete a thread", "Threads", "ThreadDeleted"),
)
async def delete_thread(caller: Caller, thread_id: str) -> JSONResponse:
    return as_json(await caller.threads.delete(thread_id))
