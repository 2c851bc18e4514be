"""How a route is described: `operation(...)` on its decorator, and the operation object built
from it (path and query parameters, the answer, OpenAI's error answers, the request body)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi.routing import APIRoute

from assistants import validation as v
from assistants.server.openapi.common import JSON, SPAN_PATTERN, SSE, TRACE_PATTERN, ref
from assistants.server.openapi.responses import list_schema
from assistants.validation import prompts as pv
from assistants.validation import vector_stores as vv

LIST_QUERY: Final = ("limit", "order", "after", "before")
"""The list query parameters of every list route."""
_ID_PREFIX: Final = {
    "assistant_id": "asst",
    "thread_id": "thread",
    "message_id": "msg",
    "run_id": "run",
    "step_id": "step",
    "file_id": "file",
    "vector_store_id": "vs",
    "batch_id": "vsfb",
}
_SLUG: Final = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
PATH_PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "model": {
        "description": "A model id, as `GET /v1/models` lists it.",
        "schema": {"type": "string", "maxLength": v.MODEL_NAME_MAX},
    },
    "name": {
        "description": "A prompt's name: a letter or digit, then letters, digits, '_', '.', '-'.",
        "schema": {"type": "string", "pattern": _SLUG, "maxLength": pv.PROMPT_NAME_MAX},
    },
    "label": {
        "description": "A release label: a letter or digit, then letters, digits, '_', '.', '-'.",
        "schema": {"type": "string", "pattern": _SLUG, "maxLength": pv.LABEL_MAX},
    },
    "span_id": {
        "description": "A span id: 'sp_' and 16 lowercase hex digits.",
        "schema": {"type": "string", "pattern": SPAN_PATTERN},
    },
    "trace_id": {
        "description": "A trace id: 'tr_' and 32 lowercase hex digits.",
        "schema": {"type": "string", "pattern": TRACE_PATTERN},
    },
}


@dataclass(frozen=True)
class Operation:
    """What the document says of one route beyond its path: kept on the route by `operation`."""

    operation_id: str
    summary: str
    tag: str
    response: str
    body: str | None = None
    body_required: bool = False
    query: tuple[str, ...] = ()
    streams: bool | str = False
    is_list: bool = False
    media: str = JSON
    body_media: str = JSON


QUERY_PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "limit": {
        "description": "How many objects to return, 1 to 100 (default 20).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    "order": {
        "description": "Sort by `created_at`: `asc` or `desc` (default).",
        "schema": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    },
    "after": {
        "description": "A cursor: the id of the object the page starts after.",
        "schema": {"type": "string"},
    },
    "before": {
        "description": "A cursor: the id of the object the page ends before.",
        "schema": {"type": "string"},
    },
    "run_id": {
        "description": "Only the objects of this run (messages it produced, its spans).",
        "schema": {"type": "string"},
    },
    "purpose": {
        "description": "Only the files uploaded for this purpose.",
        "schema": {"type": "string"},
    },
    "filter": {
        "description": "Only the files in this ingestion status.",
        "schema": {"type": "string", "enum": list(vv.FILE_STATUSES)},
    },
    "version": {
        "description": "The version number to retrieve (exclusive with `label`).",
        "schema": {"type": "integer", "minimum": 1},
    },
    "label": {
        "description": "The release label whose version to retrieve (exclusive with `version`).",
        "schema": {"type": "string", "pattern": _SLUG, "maxLength": pv.LABEL_MAX},
    },
    "trace_id": {
        "description": "Only the spans of this trace.",
        "schema": {"type": "string", "pattern": TRACE_PATTERN},
    },
    "after:span": {
        "description": "A cursor: the id of the span the page starts after.",
        "schema": {"type": "string", "pattern": SPAN_PATTERN},
    },
    "session_id": {"description": "Only the spans of this session.", "schema": {"type": "string"}},
    "user_id": {"description": "Only the spans of this user.", "schema": {"type": "string"}},
    "tag": {"description": "Only the spans carrying this tag.", "schema": {"type": "string"}},
    "kind": {
        "description": "Only the spans of this kind.",
        "schema": {"type": "string", "enum": ["run", "model", "tool", "completion"]},
    },
    "since": {
        "description": "Only the spans started at or after this time (Unix seconds).",
        "schema": {"type": "number"},
    },
    "until": {
        "description": "Only the spans started before this time (Unix seconds).",
        "schema": {"type": "number"},
    },
    "after:seq": {
        "description": "Replay only the events after this sequence number (default 0: all).",
        "schema": {"type": "integer", "minimum": 0, "maximum": v.INTEGER_MAX},
    },
    "include[]": {
        "description": "Extra fields to include in run steps.",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "enum": [v.ALLOWED_INCLUDE]}},
    },
}

_ERRORS: Final = {
    "400": "Invalid request: a malformed id, a field failing validation, or a state conflict.",
    "401": "Missing or unknown API key.",
    "403": "A web page's Origin that is not in the server's CORS origins.",
    "404": "No such object (for this API key), or no such URL.",
    "413": "The request body is larger than the server accepts.",
    "415": "A request body that is not sent as application/json.",
}


def _parameters(path: str, operation: Operation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for segment in path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            if name in PATH_PARAMETERS:
                out.append({"name": name, "in": "path", "required": True, **PATH_PARAMETERS[name]})
                continue
            prefix = _ID_PREFIX[name]
            out.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "description": f"An id beginning with '{prefix}'.",
                    "schema": {"type": "string", "pattern": f"^{prefix}", "maxLength": 128},
                }
            )
    for key in operation.query:  # `name:variant` when one name means different things
        name = key.split(":")[0]
        out.append({"name": name, "in": "query", "required": False, **QUERY_PARAMETERS[key]})
    return out


def operation_spec(path: str, operation: Operation) -> dict[str, Any]:
    result = list_schema(operation.response) if operation.is_list else ref(operation.response)
    content: dict[str, Any] = {operation.media: {"schema": result}}
    if operation.streams:
        events = "AssistantStreamEvent" if operation.streams is True else operation.streams
        content[SSE] = {"schema": ref(str(events))}
    responses: dict[str, Any] = {"200": {"description": "OK", "content": content}}
    for status, description in _ERRORS.items():
        responses[status] = {
            "description": description,
            "content": {JSON: {"schema": ref("ErrorResponse")}},
        }
    spec: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _parameters(path, operation),
        "responses": responses,
    }
    if operation.body is not None:
        spec["requestBody"] = {
            "required": operation.body_required,
            "content": {operation.body_media: {"schema": ref(operation.body)}},
        }
    return spec


_KEY: Final = "x-assistants-operation"


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    response: str,
    *,
    body: str | None = None,
    body_required: bool = False,
    query: tuple[str, ...] = (),
    streams: bool | str = False,
    is_list: bool = False,
    media: str = JSON,
    body_media: str = JSON,
) -> dict[str, Any]:
    """Keyword arguments for a route decorator that put the route in the document.

    `response` and `body` name component schemas (`Run`, `CreateRunRequest`); `query` names
    parameters of `QUERY_PARAMETERS`; `streams` adds the SSE answer (`True`: a run's events,
    or the name of the event schema), `is_list` a list page. `media` is the answer's media
    type, `body_media` the request body's (a file upload's `multipart/form-data`).
    """
    described = Operation(
        operation_id,
        summary,
        tag,
        response,
        body,
        body_required,
        query,
        streams,
        is_list,
        media,
        body_media,
    )
    return {
        "operation_id": operation_id,
        "summary": summary,
        "tags": [tag],
        "openapi_extra": {_KEY: described},
    }


def described(route: APIRoute) -> Operation | None:
    """The route's `operation(...)`, if it was given one."""
    found = (route.openapi_extra or {}).get(_KEY)
    return found if isinstance(found, Operation) else None
