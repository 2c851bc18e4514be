"""The OpenAI-compatible HTTP server: the `/v1` Assistants routes on the in-process client.

Every route is a thin translation: path, query and JSON body in; the client's method (which
validates with OpenAI's wording) called in the caller's project; the object's JSON out, or an
SSE stream when the body says `"stream": true`. Errors leave in OpenAI's shape with the status
the SDKs map to the matching exception, never 409 for a state conflict (the SDKs retry 409).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistants._client import AsyncClient
from assistants.server import (
    completions_routes,
    files_routes,
    inspection,
    prompts_routes,
    tracing_routes,
    vector_stores_routes,
)
from assistants.server.access_log import AccessLog
from assistants.server.auth import KeyRing
from assistants.server.guard import (
    LOOPBACK_HOSTS,
    MAX_BODY_BYTES,
    Guard,
    error_response,
    read_json_body,
    request_id_of,
)
from assistants.server.models_routes import add_model_routes
from assistants.server.openapi import openapi_schema
from assistants.streaming.manager import AsyncEventStream
from runtime import states
from runtime.control import wait_until_stopped
from store.errors import APIError, BadRequestError, InternalServerError, RequestTooLargeError
from store.log import get_logger
from store.rows import dumps_logged

log = get_logger("assistants.server")

_EVENT_SEQ = re.compile(r"-?[0-9]{1,18}")
"""An event sequence number in `?after=`: ASCII digits that fit a 64-bit integer."""

POLL_AFTER_MS = 25
"""`openai-poll-after-ms`: the SDK pollers' interval (ours hold poll GETs open besides)."""


class Settings:
    """What the server needs beyond the client's settings."""

    def __init__(
        self,
        *,
        keys: KeyRing,
        max_body_bytes: int = MAX_BODY_BYTES,
        long_poll_seconds: float = 10.0,
        cors_origins: Collection[str] = (),
        allowed_hosts: Collection[str] = LOOPBACK_HOSTS,
        body_types: dict[str, Iterable[str]] | None = None,
        inspector: bool = True,
    ) -> None:
        self.keys = keys
        self.max_body_bytes = max_body_bytes
        self.long_poll_seconds = long_poll_seconds
        self.cors_origins = tuple(cors_origins)
        """Web origins whose pages may call the server (CORS); any other `Origin` is a 403."""
        self.allowed_hosts = tuple(allowed_hosts)
        """`Host` names answered without API keys (loopback only by default)."""
        self.body_types = body_types
        """Path prefix -> media types its request bodies may have (default: JSON only)."""
        self.inspector = inspector
        """Serve the inspector page at `/inspector` (see `assistants.server.inspection`)."""


class BodyLimit:
    """Refuse request bodies over `limit` bytes with a 413 in OpenAI's shape."""

    def __init__(self, app: ASGIApp, limit: int, paths: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = limit
        self.paths = dict(paths or {})
        """Exact paths with their own limit (uploads)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLargeError:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        exc = RequestTooLargeError(
            f"The request body is larger than this server accepts ({limit} bytes).",
            code="request_too_large",
        )
        await error_response(exc, request_id_of(scope))(scope, receive, send)


class _TooLargeError(Exception):
    pass


class RequestContext:
    """Give each request an id (`x-request-id` on its response) and its caller's project.

    A plain ASGI middleware: no per-request task or stream, and SSE responses pass through
    untouched (client disconnects reach the stream at once).
    """

    def __init__(self, app: ASGIApp, keys: KeyRing) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        state = scope["state"]
        if scope["path"].startswith("/v1/"):
            authorization = dict(scope["headers"]).get(b"authorization")
            try:
                state["project"] = self.keys.project_for(
                    authorization.decode("latin-1") if authorization is not None else None
                )
            except APIError as exc:
                await error_response(exc, request_id)(scope, receive, send)
                return
        header = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message["headers"] = [*headers, header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here, not re-raised: the server would otherwise drop the connection
            # after the 500, and a keep-alive client's next request would fail.
            log.exception("request_failed", path=scope["path"])
            if not started:
                error = InternalServerError("The server had an error processing your request.")
                await error_response(error, request_id)(scope, receive, send)


def create_app(client: AsyncClient, settings: Settings, *, manage_client: bool = True) -> FastAPI:
    """The ASGI app serving `client` (started and stopped with the app if `manage_client`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_client:
            async with client:
                await adopt_legacy_projects(client, settings.keys)
                log.debug("app_started", worker=client.worker is not None)  # the CLI logs
                # `server_started` once its socket serves
                yield
            log.info("server_stopped")
        else:
            await adopt_legacy_projects(client, settings.keys)
            yield

    app = FastAPI(
        title="Assistants API (self-hosted)",
        version="2",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    upload_limit = client.settings.max_file_bytes + files_routes.MULTIPART_OVERHEAD
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, paths={"/v1/files": upload_limit})
    app.add_middleware(RequestContext, keys=settings.keys)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["*"],
        expose_headers=["x-request-id", "openai-poll-after-ms"],
        max_age=600,
    )
    app.add_middleware(
        Guard,
        keyless=not settings.keys.enabled,
        cors_origins=settings.cors_origins,
        allowed_hosts=settings.allowed_hosts,
        body_types={"/v1/files": (files_routes.MULTIPART,), **(settings.body_types or {})},
        same_origin=settings.inspector,
    )
    app.add_middleware(AccessLog)  # outermost: sees the final status and request id
    app.state.client = client
    if settings.inspector:
        app.include_router(inspection.router)
        inspection.mount_page(app)
    views: dict[str, AsyncClient] = {}

    def view(request: Request) -> AsyncClient:
        project = request.state.project
        found = views.get(project)
        if found is None:
            found = views[project] = client.for_project(project)
        return found

    @app.exception_handler(APIError)
    async def api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc, request.state.request_id)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        rid = getattr(request.state, "request_id", f"req_{uuid.uuid4().hex}")
        if exc.status_code == 404:
            body = APIError(
                f"Invalid URL ({request.method} {request.url.path})", code="unknown_url"
            ).to_body()
            body["error"]["type"] = "invalid_request_error"
            return JSONResponse(body, status_code=404, headers={"x-request-id": rid})
        if exc.status_code == 405:
            body = APIError(
                f"Method {request.method} is not allowed on {request.url.path}.",
                code="method_not_allowed",
            ).to_body()
            body["error"]["type"] = "invalid_request_error"
            return JSONResponse(body, status_code=405, headers={"x-request-id": rid})
        return JSONResponse(
            {
                "error": {
                    "message": str(exc.detail),
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
            status_code=exc.status_code,
            headers={"x-request-id": rid},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request_failed", path=request.url.path)
        rid = getattr(request.state, "request_id", f"req_{uuid.uuid4().hex}")
        return error_response(
            InternalServerError("The server had an error processing your request."), rid
        )

    def list_query(request: Request, *names: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("limit", "order", "after", "before", *names):
            value = request.query_params.get(name)
            if value is None:
                continue
            if name == "limit":
                try:
                    out[name] = int(value)
                except ValueError:
                    raise BadRequestError(
                        f"Invalid 'limit': expected an integer, but got '{value}' instead.",
                        param="limit",
                        code="invalid_type",
                    ) from None
            else:
                out[name] = value
        return out

    def include(request: Request) -> dict[str, Any]:
        values = request.query_params.getlist("include[]") or request.query_params.getlist(
            "include"
        )
        return {"include": values} if values else {}

    def page(result: Any) -> JSONResponse:
        return JSONResponse(result.to_dict())

    def obj(result: Any) -> JSONResponse:
        return JSONResponse(result.to_dict())

    def sse(stream: AsyncEventStream, *, ids: bool = False) -> StreamingResponse:
        return StreamingResponse(
            _sse_events(stream, ids=ids),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    def split(body: Mapping[str, Any], *names: str) -> tuple[dict[str, Any], dict[str, Any]]:
        named = {n: body[n] for n in names if n in body}
        rest = {k: v for k, v in body.items() if k not in names}
        return named, rest

    # --- health -------------------------------------------------------------------------------

    @app.get("/health")
    async def health() -> dict[str, Any]:
        store = await client.store()
        await store.queued_count()
        return {"status": "ok", "worker": client.worker is not None}

    # --- assistants ---------------------------------------------------------------------------

    @app.post("/v1/assistants")
    async def create_assistant(request: Request) -> JSONResponse:
        body = await read_json_body(request)
        named, rest = split(body, "model")
        return obj(await view(request).assistants.create(model=named.get("model"), extra_body=rest))  # type: ignore[arg-type]

    @app.get("/v1/assistants")
    async def list_assistants(request: Request) -> JSONResponse:
        return page(await view(request).assistants.list(**list_query(request)))

    @app.get("/v1/assistants/{assistant_id}")
    async def get_assistant(request: Request, assistant_id: str) -> JSONResponse:
        return obj(await view(request).assistants.retrieve(assistant_id))

    @app.post("/v1/assistants/{assistant_id}")
    async def update_assistant(request: Request, assistant_id: str) -> JSONResponse:
        body = await read_json_body(request)
        return obj(await view(request).assistants.update(assistant_id, extra_body=body))

    @app.delete("/v1/assistants/{assistant_id}")
    async def delete_assistant(request: Request, assistant_id: str) -> JSONResponse:
        return obj(await view(request).assistants.delete(assistant_id))

    # --- threads ------------------------------------------------------------------------------

    @app.post("/v1/threads")
    async def create_thread(request: Request) -> JSONResponse:
        body = await read_json_body(request)
        return obj(await view(request).threads.create(extra_body=body))

    @app.post("/v1/threads/runs", response_model=None)
    async def create_thread_and_run(request: Request) -> Response:
        body = await read_json_body(request)
        named, rest = split(body, "assistant_id")
        result = await view(request).threads.create_and_run(
            assistant_id=named.get("assistant_id"),  # type: ignore[arg-type]
            extra_body=rest,
        )
        return sse(result) if isinstance(result, AsyncEventStream) else obj(result)

    @app.get("/v1/threads/{thread_id}")
    async def get_thread(request: Request, thread_id: str) -> JSONResponse:
        return obj(await view(request).threads.retrieve(thread_id))

    @app.post("/v1/threads/{thread_id}")
    async def update_thread(request: Request, thread_id: str) -> JSONResponse:
        body = await read_json_body(request)
        _check_keys(body, {"metadata", "tool_resources"})
        return obj(await view(request).threads.update(thread_id, **body))

    @app.delete("/v1/threads/{thread_id}")
    async def delete_thread(request: Request, thread_id: str) -> JSONResponse:
        return obj(await view(request).threads.delete(thread_id))

    # --- messages -----------------------------------------------------------------------------

    @app.post("/v1/threads/{thread_id}/messages")
    async def create_message(request: Request, thread_id: str) -> JSONResponse:
        body = await read_json_body(request)
        _check_keys(body, {"role", "content", "attachments", "metadata"})
        return obj(
            await view(request).threads.messages.create(
                thread_id,
                role=body.get("role"),  # type: ignore[arg-type]
                content=body.get("content"),  # type: ignore[arg-type]
                attachments=body.get("attachments"),
                metadata=body.get("metadata"),
            )
        )

    @app.get("/v1/threads/{thread_id}/messages")
    async def list_messages(request: Request, thread_id: str) -> JSONResponse:
        query = list_query(request, "run_id")
        return page(await view(request).threads.messages.list(thread_id, **query))

    @app.get("/v1/threads/{thread_id}/messages/{message_id}")
    async def get_message(request: Request, thread_id: str, message_id: str) -> JSONResponse:
        return obj(await view(request).threads.messages.retrieve(message_id, thread_id=thread_id))

    @app.post("/v1/threads/{thread_id}/messages/{message_id}")
    async def update_message(request: Request, thread_id: str, message_id: str) -> JSONResponse:
        body = await read_json_body(request)
        _check_keys(body, {"metadata"})
        return obj(
            await view(request).threads.messages.update(
                message_id, thread_id=thread_id, metadata=body.get("metadata")
            )
        )

    @app.delete("/v1/threads/{thread_id}/messages/{message_id}")
    async def delete_message(request: Request, thread_id: str, message_id: str) -> JSONResponse:
        return obj(await view(request).threads.messages.delete(message_id, thread_id=thread_id))

    # --- runs ---------------------------------------------------------------------------------

    @app.post("/v1/threads/{thread_id}/runs", response_model=None)
    async def create_run(request: Request, thread_id: str) -> Response:
        body = await read_json_body(request)
        named, rest = split(body, "assistant_id")
        rest.update(include(request))
        result = await view(request).threads.runs.create(
            thread_id,
            assistant_id=named.get("assistant_id"),  # type: ignore[arg-type]
            extra_body=rest,
        )
        return sse(result) if isinstance(result, AsyncEventStream) else obj(result)

    @app.get("/v1/threads/{thread_id}/runs")
    async def list_runs(request: Request, thread_id: str) -> JSONResponse:
        return page(await view(request).threads.runs.list(thread_id, **list_query(request)))

    @app.get("/v1/threads/{thread_id}/runs/{run_id}")
    async def get_run(request: Request, thread_id: str, run_id: str) -> JSONResponse:
        runs = view(request).threads.runs
        run = await runs.retrieve(run_id, thread_id=thread_id)
        if (
            request.headers.get("x-stainless-poll-helper") == "true"
            and run.status not in states.POLL_STOP
        ):
            # Hold the SDK poller's GET until the run stops (or the bound passes), so
            # create_and_poll returns as soon as the run does instead of on its next tick.
            with anyio.move_on_after(settings.long_poll_seconds):
                await wait_until_stopped(await client.store(), run_id)
            run = await runs.retrieve(run_id, thread_id=thread_id)
        return JSONResponse(run.to_dict(), headers={"openai-poll-after-ms": str(POLL_AFTER_MS)})

    @app.post("/v1/threads/{thread_id}/runs/{run_id}")
    async def update_run(request: Request, thread_id: str, run_id: str) -> JSONResponse:
        body = await read_json_body(request)
        _check_keys(body, {"metadata"})
        return obj(
            await view(request).threads.runs.update(
                run_id, thread_id=thread_id, metadata=body.get("metadata")
            )
        )

    @app.post("/v1/threads/{thread_id}/runs/{run_id}/cancel")
    async def cancel_run(request: Request, thread_id: str, run_id: str) -> JSONResponse:
        return obj(await view(request).threads.runs.cancel(run_id, thread_id=thread_id))

    @app.post("/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", response_model=None)
    async def submit_tool_outputs(request: Request, thread_id: str, run_id: str) -> Response:
        body = await read_json_body(request)
        _check_keys(body, {"tool_outputs", "stream"})
        result = await view(request).threads.runs.submit_tool_outputs(
            run_id,
            thread_id=thread_id,
            tool_outputs=body.get("tool_outputs"),  # type: ignore[arg-type]
            stream=cast(Any, body.get("stream")),
        )
        return sse(result) if isinstance(result, AsyncEventStream) else obj(result)

    @app.get("/v1/threads/{thread_id}/runs/{run_id}/events", response_model=None)
    async def run_events(request: Request, thread_id: str, run_id: str) -> Response:
        """Re-attach to a run's event stream (an extension): `?after=SEQ`."""
        after_raw = request.query_params.get("after", "0")
        if not _EVENT_SEQ.fullmatch(after_raw):
            raise BadRequestError(
                f"Invalid 'after': expected an integer, but got '{after_raw}' instead.",
                param="after",
                code="invalid_type",
            )
        stream = await view(request).threads.runs.stream_events(
            thread_id, run_id, after=int(after_raw)
        )
        return sse(stream, ids=True)

    # --- run steps ----------------------------------------------------------------------------

    @app.get("/v1/threads/{thread_id}/runs/{run_id}/steps")
    async def list_steps(request: Request, thread_id: str, run_id: str) -> JSONResponse:
        query = {**list_query(request), **include(request)}
        return page(
            await view(request).threads.runs.steps.list(run_id, thread_id=thread_id, **query)
        )

    @app.get("/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
    async def get_step(request: Request, thread_id: str, run_id: str, step_id: str) -> JSONResponse:
        return obj(
            await view(request).threads.runs.steps.retrieve(
                step_id, thread_id=thread_id, run_id=run_id, **include(request)
            )
        )

    add_model_routes(app, view)
    app.state.caller = view
    app.include_router(prompts_routes.router)
    app.include_router(completions_routes.router)
    app.include_router(tracing_routes.router)
    app.include_router(files_routes.router)
    app.include_router(vector_stores_routes.router)
    return app


async def adopt_legacy_projects(client: AsyncClient, keys: KeyRing) -> None:
    """Hand the objects of each key's old (unkeyed-hash) project to its keyed project id: one
    transaction, and nothing to do on later starts."""
    if keys.legacy_moves:
        store = await client.store()
        moved = await store.move_projects(dict(keys.legacy_moves))
        if moved:
            log.info("projects_rekeyed", rows=moved, keys=len(keys.legacy_moves))


def _check_keys(body: Mapping[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )


async def _sse_events(stream: AsyncEventStream, *, ids: bool = False) -> AsyncIterator[bytes]:
    """The stream as SSE: `event:` and one-line `data:` per event, then `done` / `[DONE]`;
    with `ids` (re-attached streams), each event's sequence number as its `id:` too.

    An error mid-stream is sent in the wrapped form (`{"error": {...}}`, which every SDK path
    raises) before the stream closes. If the client goes away, the generator is cancelled and
    the subscription closed; the run goes on.
    """
    try:
        async for event in stream.raw():
            # The logged payload as it is: deltas carry only what they add (no nulls).
            data = dumps_logged(event.data)
            seq = f"id: {event.seq}\n" if ids and event.seq is not None else ""
            yield f"{seq}event: {event.event}\ndata: {data}\n\n".encode()
        yield b"event: done\ndata: [DONE]\n\n"
    except Exception as exc:
        log.exception("stream_failed")
        error = (
            exc
            if isinstance(exc, APIError)
            else InternalServerError("The server had an error while streaming this run.")
        )
        yield f"event: error\ndata: {json.dumps(error.to_body())}\n\n".encode()
    finally:
        with anyio.CancelScope(shield=True):
            await stream.close()
