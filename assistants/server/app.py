"""The OpenAI-compatible HTTP server: the `/v1` Assistants routes on the in-process client.

Every route is a thin translation: path, query and JSON body in; the client's method (which
validates with OpenAI's wording) called in the caller's project; the object's JSON out, or an
SSE stream when the body says `"stream": true`. Errors leave in OpenAI's shape with the status
the SDKs map to the matching exception, never 409 for a state conflict (the SDKs retry 409).

The routes live in modules by resource (`*_routes.py`, each a `router = APIRouter()` taking the
caller's client and body as dependencies from `deps`), included in the order of `ROUTERS`; this
module holds the middleware and the error handlers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistants._client import AsyncClient
from assistants.server import (
    assistants_routes,
    completions_routes,
    files_routes,
    health_routes,
    inspection,
    messages_routes,
    models_routes,
    prompts_routes,
    runs_routes,
    steps_routes,
    threads_routes,
    tracing_routes,
    vector_stores_routes,
)
from assistants.server.access_log import AccessLog
from assistants.server.auth import KeyRing
from assistants.server.deps import serve
from assistants.server.guard import Guard, error_response, request_id_of
from assistants.server.openapi import openapi_schema
from assistants.server.settings import Settings
from store.errors import APIError, InternalServerError, RequestTooLargeError
from store.log import get_logger

log = get_logger("assistants.server")

ROUTERS: tuple[APIRouter, ...] = (
    health_routes.router,
    completions_routes.router,
    runs_routes.router,
    messages_routes.router,
    steps_routes.router,
    threads_routes.router,  # `/v1/threads/runs` before `/v1/threads/{thread_id}`: in there
    assistants_routes.router,
    models_routes.router,
    files_routes.router,
    vector_stores_routes.router,
    prompts_routes.router,
    tracing_routes.router,
)
"""Every route module's router, whose routes `create_app` adds in this order (the first route
that matches a path answers it); the inspector's come after them when it is on. No two routers
serve the same path, so the order only says how soon a request finds its route (about 1 us a
route passed): the calls made most often come first (a chat completion; a run's polling, its
messages), the management calls after."""

__all__ = ["ROUTERS", "Settings", "create_app"]


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
            # after the 500, and a keep-alive client's next request would fail. Answered
            # before the traceback is logged: the caller does not wait for its rendering.
            if not started:
                error = InternalServerError("The server had an error processing your request.")
                await error_response(error, request_id)(scope, receive, send)
            log.exception("request_failed", path=scope["path"])


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
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    _add_middleware(app, client, settings)
    serve(app, client, settings)
    for router in (*ROUTERS, inspection.router) if settings.inspector else ROUTERS:
        _add_routes(app, router)
    if settings.inspector:
        inspection.mount_page(app)
    app.router.lifespan_context = lifespan
    app.exception_handler(APIError)(_api_error)
    app.exception_handler(StarletteHTTPException)(_http_error)
    app.exception_handler(Exception)(_unexpected)
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """`router`'s routes, added to the app's own list as they are.

    `include_router` (FastAPI 0.137 and later) keeps each router as one node that a request
    searches route by route, with FastAPI's per-route bookkeeping, twice (to pick the router,
    then the route), and without looking at the path's prefix first: 80 us to reach
    `/v1/chat/completions` past the 40 routes before it, on every request. Routes in the app's
    own list are matched once, each by its path's pattern. The routers here have no prefix,
    dependencies, lifespan or dependency overrides of their own to carry over.
    """
    app.router.routes.extend(router.routes)


def _add_middleware(app: FastAPI, client: AsyncClient, settings: Settings) -> None:
    """The middleware stack, innermost first: body limit, request id and project, CORS, the
    guard, the access log."""
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


async def adopt_legacy_projects(client: AsyncClient, keys: KeyRing) -> None:
    """Hand the objects of each key's old (unkeyed-hash) project to its keyed project id: one
    transaction, and nothing to do on later starts."""
    if keys.legacy_moves:
        store = await client.store()
        moved = await store.move_projects(dict(keys.legacy_moves))
        if moved:
            log.info("projects_rekeyed", rows=moved, keys=len(keys.legacy_moves))


async def _api_error(request: Request, exc: APIError) -> JSONResponse:
    return error_response(exc, request.state.request_id)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    rid = request_id_of(request.scope)
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


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request_failed", path=request.url.path)
    rid = request_id_of(request.scope)
    return error_response(
        InternalServerError("The server had an error processing your request."), rid
    )
