"""One `request` log line per HTTP request: method, path, status, duration, request id, project.

A plain ASGI middleware, outermost, so it sees the final status and the `x-request-id` the inner
middleware set; streamed (SSE) responses pass through untouched and are logged when they end.
Never logs headers, query strings or bodies (keys travel in headers).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.log import get_logger

log = get_logger("assistants.server.access")


class AccessLog:
    """Logs `request` at info once each HTTP response is finished (or the app gave up)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        request_id = ""

        async def observe(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name == b"x-request-id":
                        request_id = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            state = scope.get("state", {})
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status or None,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id or state.get("request_id"),
                project=state.get("project"),
            )
