"""`/v1/threads/{thread_id}/runs`: create, list, retrieve (held open for the SDK's pollers),
modify, cancel, submit tool outputs, and re-attach to a run's events (an extension)."""

from __future__ import annotations

import re
from typing import Any, cast

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from assistants.server.deps import Caller, Config, JsonBody
from assistants.server.openapi import LIST_QUERY, SSE, operation
from assistants.server.wire import (
    as_json,
    check_keys,
    include_query,
    list_query,
    object_or_stream,
    split,
    sse,
)
from runtime import states
from runtime.control import wait_until_stopped
from store.errors import BadRequestError

router = APIRouter()

_EVENT_SEQ = re.compile(r"-?[0-9]{1,18}")
"""An event sequence number in `?after=`: ASCII digits that fit a 64-bit integer."""

POLL_AFTER_MS = 25
"""`openai-poll-after-ms`: the SDK pollers' interval (ours hold poll GETs open besides)."""


@router.post(
    "/v1/threads/{thread_id}/runs",
    response_model=None,
    **operation(
        "createRun",
        "Create a run",
        "Runs",
        "Run",
        body="CreateRunRequest",
        body_required=True,
        query=("include[]",),
        streams=True,
    ),
)
async def create_run(caller: Caller, body: JsonBody, request: Request, thread_id: str) -> Response:
    named, rest = split(body, "assistant_id")
    rest.update(include_query(request))
    result = await caller.threads.runs.create(
        thread_id,
        assistant_id=named.get("assistant_id"),  # type: ignore[arg-type]
        extra_body=rest,
    )
    return object_or_stream(result)


@router.get(
    "/v1/threads/{thread_id}/runs",
    **operation("listRuns", "List runs", "Runs", "Run", query=LIST_QUERY, is_list=True),
)
async def list_runs(caller: Caller, request: Request, thread_id: str) -> JSONResponse:
    return as_json(await caller.threads.runs.list(thread_id, **list_query(request)))


@router.get(
    "/v1/threads/{thread_id}/runs/{run_id}", **operation("getRun", "Retrieve a run", "Runs", "Run")
)
async def get_run(
    caller: Caller, config: Config, request: Request, thread_id: str, run_id: str
) -> JSONResponse:
    runs = caller.threads.runs
    run = await runs.retrieve(run_id, thread_id=thread_id)
    if (
        request.headers.get("x-stainless-poll-helper") == "true"
        and run.status not in states.POLL_STOP
    ):
        # Hold the SDK poller's GET until the run stops (or the bound passes), so
        # create_and_poll returns as soon as the run does instead of on its next tick.
        with anyio.move_on_after(config.long_poll_seconds):
            await wait_until_stopped(await caller.store(), run_id)
        run = await runs.retrieve(run_id, thread_id=thread_id)
    return JSONResponse(run.to_dict(), headers={"openai-poll-after-ms": str(POLL_AFTER_MS)})


@router.post(
    "/v1/threads/{thread_id}/runs/{run_id}",
    **operation("modifyRun", "Modify a run", "Runs", "Run", body="ModifyMetadataRequest"),
)
async def update_run(caller: Caller, body: JsonBody, thread_id: str, run_id: str) -> JSONResponse:
    check_keys(body, {"metadata"})
    return as_json(
        await caller.threads.runs.update(run_id, thread_id=thread_id, metadata=body.get("metadata"))
    )


@router.post(
    "/v1/threads/{thread_id}/runs/{run_id}/cancel",
    **operation("cancelRun", "Cancel a run", "Runs", "Run"),
)
async def cancel_run(caller: Caller, thread_id: str, run_id: str) -> JSONResponse:
    return as_json(await caller.threads.runs.cancel(run_id, thread_id=thread_id))


@router.post(
    "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
    response_model=None,
    **operation(
        "submitToolOuputsToRun",
        "Submit tool outputs to a run",
        "Runs",
        "Run",
        body="SubmitToolOutputsRequest",
        body_required=True,
        streams=True,
    ),
)
async def submit_tool_outputs(
    caller: Caller, body: JsonBody, thread_id: str, run_id: str
) -> Response:
    check_keys(body, {"tool_outputs", "stream"})
    result = await caller.threads.runs.submit_tool_outputs(
        run_id,
        thread_id=thread_id,
        tool_outputs=body.get("tool_outputs"),  # type: ignore[arg-type]
        stream=cast(Any, body.get("stream")),
    )
    return object_or_stream(result)


@router.get(
    "/v1/threads/{thread_id}/runs/{run_id}/events",
    response_model=None,
    **operation(
        "streamRunEvents",
        "Re-attach to a run's events",
        "Runs",
        "AssistantStreamEvent",
        query=("after:seq",),
        media=SSE,
    ),
)
async def run_events(caller: Caller, request: Request, thread_id: str, run_id: str) -> Response:
    """Re-attach to a run's event stream (an extension): `?after=SEQ`."""
    after_raw = request.query_params.get("after", "0")
    if not _EVENT_SEQ.fullmatch(after_raw):
        raise BadRequestError(
            f"Invalid 'after': expected an integer, but got '{after_raw}' instead.",
            param="after",
            code="invalid_type",
        )
    stream = await caller.threads.runs.stream_events(thread_id, run_id, after=int(after_raw))
    return sse(stream, ids=True)
