"""Ending open event streams cleanly when the server stops.

On a graceful stop the server waits for open connections before it stops the worker; an SSE
stream of a run still in flight would keep its connection open until the server's own timeout
cancels it mid-response ("Exception in ASGI application", a cut connection). `EndStreams`
wraps the app: once `stop(after=...)` is called, streams still open after that grace period end
as a normal end of the response body (the SDK's iterator simply ends), and their subscriptions
close. Plain requests are untouched; no task is started per request.
"""

from __future__ import annotations

import asyncio

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.log import get_logger

log = get_logger("assistants.server")


class EndStreams:
    """ASGI wrapper: ends open `text/event-stream` responses a grace period after `stop()`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._streams: set[anyio.CancelScope] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def stop(self, *, after: float) -> None:
        """End open streams `after` seconds from now (callable from a signal handler)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.call_later, after, self._end_all)

    def _end_all(self) -> None:
        if self._streams:
            log.info("streams_ended", streams=len(self._streams), reason="server stopping")
        for scope in list(self._streams):
            scope.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False
        cancel = anyio.CancelScope()

        async def watch(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    self._streams.add(cancel)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            with cancel:
                await self.app(scope, receive, watch)
        finally:
            self._streams.discard(cancel)
        if cancel.cancelled_caught and started and not finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
