"""`Client`: the synchronous face of `AsyncClient`, through one anyio blocking portal.

No logic lives here. Each resource of the async client is driven by its generated, typed sync
twin (`assistants._sync_generated`, from `scripts/gen_sync.py`), whose methods have the async
methods' exact signatures and docstrings and run them on the portal's event loop thread;
`list()` pages become iterable `SyncCursorPage`s, run streams blocking `EventStream`s.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from assistants._client import AsyncClient
from assistants._sync_generated import (
    Assistants,
    Chat,
    Files,
    Models,
    Prompts,
    Spans,
    Threads,
    Traces,
    VectorStores,
)
from runtime.providers.base import Provider
from runtime.settings import Settings


class Client:
    """The Assistants API in-process, blocking: `client.threads.runs.create_and_poll(...)`.

    A thin facade over `AsyncClient` (the one implementation), run on an event loop in a
    background thread. Close it with `close()` or use it as a context manager; an unclosed
    client is closed at interpreter exit so the embedded worker releases its runs.
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        worker: bool = True,
        project: str = "default",
        settings: Settings | None = None,
        providers: Mapping[str, Provider] | None = None,
        **options: Any,
    ) -> None:
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()
        self._closed = False
        self._portal: BlockingPortal = self._stack.enter_context(
            start_blocking_portal(backend="asyncio")
        )
        try:
            self._async = AsyncClient(
                database_url=database_url,
                worker=worker,
                project=project,
                settings=settings,
                providers=providers,
                **options,
            )
            self._stack.enter_context(self._portal.wrap_async_context_manager(self._async))
        except BaseException:
            self._stack.close()
            raise
        self.settings = self._async.settings
        self.assistants = Assistants(self._async.assistants, self._portal)
        self.threads = Threads(self._async.threads, self._portal)
        self.models = Models(self._async.models, self._portal)
        self.chat = Chat(self._async.chat, self._portal)
        self.spans = Spans(self._async.spans, self._portal)
        self.traces = Traces(self._async.traces, self._portal)
        self.prompts = Prompts(self._async.prompts, self._portal)
        self.files = Files(self._async.files, self._portal)
        self.vector_stores = VectorStores(self._async.vector_stores, self._portal)
        ref = weakref.ref(self)

        def close_at_exit() -> None:
            client = ref()
            if client is not None:
                client.close()

        self._atexit = close_at_exit
        atexit.register(close_at_exit)

    @property
    def beta(self) -> Client:
        """The client itself: openai-python's `client.beta.*` paths work unchanged."""
        return self

    @property
    def async_client(self) -> AsyncClient:
        """The `AsyncClient` this facade drives."""
        return self._async

    @property
    def portal(self) -> BlockingPortal:
        """The portal running the async client (to call its coroutines from this thread)."""
        return self._portal

    def close(self) -> None:
        """Stop the embedded worker gracefully, close the store and the portal thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self._atexit)
        self._stack.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
