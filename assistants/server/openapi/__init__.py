"""The server's OpenAPI 3.1 document, served at `/openapi.json`.

The routes parse their JSON bodies by hand (so that errors carry OpenAI's wording), which leaves
FastAPI's generated document without request bodies or response shapes. A route is documented
by what its decorator says, through `operation(...)`:

    @router.post("/v1/threads/{thread_id}/runs", response_model=None, **operation(
        "createRun", "Create a run", "Runs", "Run",
        body="CreateRunRequest", body_required=True, query=("include[]",), streams=True,
    ))

and `build_schema` turns every route that has one into an operation: path parameters from the
path (ids with their prefix), the query parameters named, the `200` answer (an object, a list
page, or also SSE), `400` / `401` / `403` / `404` / `413` / `415` in OpenAI's error shape, and
the request body. A route without `operation(...)` is left out: `/health` and the inspector's
reads (`/v1/inspector/...`, the inspector page's own API), and nothing else under `/v1`
(tests/conformance/test_fuzz.py holds every other `/v1` route to being documented).

The components come from:

- `responses`: generated from the wire models (`store.types` and the extensions' types);
- `requests` and `bodies`: the Assistants API's request bodies, written from the contract's
  request shapes and limits; `extension_bodies`: those of chat completions, prompts, files
  and vector stores, written from their validation;
- `streams`: the stream events (CONTRACT §8).

A new route's objects go in as models in `responses` (a pydantic model from `store.types`) or
schemas in `requests`; `operation` names them.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from assistants.server.openapi.bodies import request_schemas
from assistants.server.openapi.common import JSON, SSE
from assistants.server.openapi.operations import (
    LIST_QUERY,
    described,
    operation,
    operation_spec,
)
from assistants.server.openapi.responses import FILE_CONTENT, MODEL_LIST, response_schemas
from assistants.server.openapi.streams import stream_schemas

__all__ = ["JSON", "LIST_QUERY", "SSE", "build_schema", "openapi_schema", "operation"]


def _components() -> dict[str, Any]:
    parts = (
        response_schemas(),
        request_schemas(),
        stream_schemas(),
        {"ModelList": copy.deepcopy(MODEL_LIST), "FileContent": copy.deepcopy(FILE_CONTENT)},
    )
    merged: dict[str, Any] = {}
    for part in parts:
        clash = merged.keys() & part.keys()
        if clash:
            raise RuntimeError(f"OpenAPI component names used twice: {sorted(clash)}")
        merged.update(part)
    return merged


def build_schema(app: FastAPI) -> dict[str, Any]:
    """The document for `app`'s described routes (not cached; see `openapi_schema`)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in iter_route_contexts(app.routes):  # through included routers too
        original = route.original_route
        operation_ = described(original) if isinstance(original, APIRoute) else None
        path = route.path_format  # `{model:path}` documented as `{model}`
        if operation_ is None or not path:
            continue
        for method in sorted(route.methods or ()):
            paths.setdefault(path, {})[method.lower()] = operation_spec(path, operation_)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": app.title,
            "version": app.version,
            "description": "OpenAI Assistants API v2, self-hosted. Request bodies are JSON; "
            "list endpoints page with `after` / `before` cursors.",
        },
        "paths": paths,
        "components": {
            "schemas": _components(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`, built once and cached on `app.openapi_schema`."""
    if app.openapi_schema is None:
        app.openapi_schema = build_schema(app)
    return app.openapi_schema
