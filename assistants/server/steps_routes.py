"""`/v1/threads/{thread_id}/runs/{run_id}/steps`: list and retrieve, with `include[]`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistants.server.deps import Caller
from assistants.server.openapi import LIST_QUERY, operation
from assistants.server.wire import as_json, include_query, list_query

router = APIRouter()


@router.get(
    "/v1/threads/{thread_id}/runs/{run_id}/steps",
    **operation(
        "listRunSteps",
        "List run steps",
        "Run steps",
        "RunStep",
        query=(*LIST_QUERY, "include[]"),
        is_list=True,
    ),
)
async def list_steps(caller: Caller, request: Request, thread_id: str, run_id: str) -> JSONResponse:
    query = {**list_query(request), **include_query(request)}
    return as_json(await caller.threads.runs.steps.list(run_id, thread_id=thread_id, **query))


@router.get(
    "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}",
    **operation("getRunStep", "Retrieve a run step", "Run steps", "RunStep", query=("include[]",)),
)
async def get_step(
    caller: Caller, request: Request, thread_id: str, run_id: str, step_id: str
) -> JSONResponse:
    return as_json(
        await caller.threads.runs.steps.retrieve(
            step_id, thread_id=thread_id, run_id=run_id, **include_query(request)
        )
    )
