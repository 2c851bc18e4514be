"""`GET /v1/spans`, `GET /v1/spans/{span_id}` and `GET /v1/traces/{trace_id}`: the spans of
runs, model calls, tool calls and completions (`client.spans`, `client.traces`), scoped by API
key like every other object (another key's span or trace is a 404).

`GET /v1/spans` pages newest first: `{"object": "list", "data": [span, ...], "first_id",
"last_id", "has_more"}`, filtered by the query parameters `trace_id`, `session_id`, `user_id`,
`tag`, `kind` (`run`, `model`, `tool`, `completion`), `run_id`, `since` and `until` (Unix
seconds, `since` inclusive), with `limit` (1 to 100, default 20) and `after` (a span id).

A span (`GET /v1/spans/{span_id}`, `sp_` + 16 hex digits):

    {"id": "sp_...", "object": "span", "trace_id": "tr_...", "parent_span_id": "sp_..." | null,
     "kind": "run" | "model" | "tool" | "completion", "name": "chat openai/gpt-4o",
     "status": "completed" | "failed" | "cancelled" | "in_progress" | a run's status,
     "error": {"code", "message"} | null,
     "started_at": 1733443200.123, "ended_at": 1733443201.456 | null, "duration_ms": 1333.0,
     "time_to_first_token_ms": 210.5 | null,
     "requested_model": "gpt-4o", "model": "openai/gpt-4o", "provider": "openai",
     "usage": {"prompt_tokens", "completion_tokens", "total_tokens"} | null,
     "cost": 0.0012 | null, "retries": 0, "fallbacks": [{"model", "code", "error"}, ...],
     "tags": ["..."], "user_id", "session_id", "metadata": {}, "group_id",
     "run_id", "thread_id", "assistant_id",
     "input": [prompt messages] | {"arguments"} | null, "output": {...} | null}

A trace (`GET /v1/traces/{trace_id}`, `tr_` + 32 hex digits) is its spans as a tree:

    {"id": "tr_...", "object": "trace", "started_at", "ended_at", "duration_ms",
     "usage": {"prompt_tokens", "completion_tokens", "total_tokens"},  # model and completion
     "cost": 0.0031 | null, "span_count": 4, "truncated": false,       # spans, summed
     "spans": [root span + {"children": [span + {"children": [...]}, ...]}, ...]}

A run's trace has one root (`kind: "run"`, its status, usage and cost the run's own) whose
children are its model calls and tool calls in start order. A span whose parent is not in the
trace (it lives in another system) is shown as a root. `ended_at` is null while a span is open.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistants._client import AsyncClient
from assistants.server.deps import caller_client
from assistants.server.openapi import operation
from assistants.server.wire import query_integer
from store.errors import BadRequestError

router = APIRouter()
_FILTERS = ("trace_id", "session_id", "user_id", "tag", "kind", "run_id")


def _number(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise BadRequestError(
            f"Invalid '{name}': expected Unix seconds (a number), but got '{raw}' instead.",
            param=name,
            code="invalid_type",
        ) from None


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    return None if raw is None else query_integer(raw, "limit")


def _caller(request: Request) -> AsyncClient:
    """The served client scoped to the caller's project."""
    client: AsyncClient = caller_client(request)
    return client


@router.get(
    "/v1/spans",
    **operation(
        "listSpans",
        "List spans",
        "Tracing",
        "Span",
        query=("limit", "after:span", *_FILTERS, "since", "until"),
        is_list=True,
    ),
)
async def list_spans(request: Request) -> JSONResponse:
    query: dict[str, Any] = {
        name: request.query_params[name] for name in _FILTERS if name in request.query_params
    }
    for name in ("since", "until"):
        value = _number(request, name)
        if value is not None:
            query[name] = value
    limit = _limit(request)
    if limit is not None:
        query["limit"] = limit
    if "after" in request.query_params:
        query["after"] = request.query_params["after"]
    page = await _caller(request).spans.list(**query)
    return JSONResponse(page.to_dict())


@router.get(
    "/v1/spans/{span_id}", **operation("retrieveSpan", "Retrieve a span", "Tracing", "Span")
)
async def get_span(request: Request, span_id: str) -> JSONResponse:
    return JSONResponse((await _caller(request).spans.retrieve(span_id)).to_dict())


@router.get(
    "/v1/traces/{trace_id}", **operation("retrieveTrace", "Retrieve a trace", "Tracing", "Trace")
)
async def get_trace(request: Request, trace_id: str) -> JSONResponse:
    return JSONResponse((await _caller(request).traces.retrieve(trace_id)).to_dict())
