"""`AsyncClient`: the one implementation of the client surface."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
from types import TracebackType
from typing import Any

import anyio
import sniffio
from anyio.abc import TaskGroup, TaskStatus

from assistants.resources._base import ClientContext
from assistants.resources.assistants import AsyncAssistants
from assistants.resources.chat import AsyncChat
from assistants.resources.files import AsyncFiles
from assistants.resources.models import AsyncModels
from assistants.resources.prompts import AsyncPrompts
from assistants.resources.spans import AsyncSpans, AsyncTraces
from assistants.resources.threads import AsyncThreads
from assistants.resources.vector_stores import AsyncVectorStores
from runtime.completions import Completions, FinishedCall
from runtime.providers.base import Provider
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from runtime.tracing import Tracer
from runtime.worker import Worker
from store.errors import ConfigurationError
from store.store import Store


class _Context(ClientContext):
    """The store, opened on first use, and the embedded worker that runs beside it."""

    def __init__(
        self,
        settings: Settings,
        *,
        project: str,
        start_worker: bool,
        providers: Mapping[str, Provider] | None = None,
    ) -> None:
        self.settings = settings
        self.router = ProviderRouter(settings, extra=dict(providers or {}))
        self.completions = Completions(self.router, settings)
        if settings.tracing:
            self.completions.add_sink(self._record_completion)
        self.project = project
        self.start_worker = start_worker
        self._store: Store | None = None
        self._lock: anyio.Lock | None = None
        self.worker: Worker | None = None
        self._tracer: Tracer | None = None
        self._started = False
        self._background: asyncio.Task[None] | None = None

    async def store(self) -> Store:
        if self._store is not None:
            return self._store
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._store is None:
                self._store = await Store.open(self.settings.database_url)
                self._tracer = Tracer(self._store, self.settings)
                self._store.files.use_directory(self.settings.files_dir)
                await self._store.files.remove_partial_uploads()
                if self.start_worker and not self._started:
                    self._start_in_background()
        return self._store

    async def tracer(self) -> Tracer:
        await self.store()
        assert self._tracer is not None
        return self._tracer

    def _record_completion(self, call: FinishedCall) -> Awaitable[None] | None:
        """A `completion` span per chat completion: queued at once once the tracer exists; the
        first call of a client whose store is not open yet opens it first."""
        if self._tracer is not None:
            self._tracer.record_completion(call)
            return None
        return self._record_completion_later(call)

    async def _record_completion_later(self, call: FinishedCall) -> None:
        (await self.tracer()).record_completion(call)

    def _start_in_background(self) -> None:
        """Used without `async with`: run the worker in a background task (asyncio only)."""
        try:
            library = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            library = None
        if library != "asyncio":
            raise ConfigurationError(
                "Use `async with AsyncClient() as client:` to run the embedded worker under "
                f"{library or 'this event loop'} (or pass worker=False and run "
                "`assistants worker`)."
            )
        self._started = True

        async def background() -> None:
            async with anyio.create_task_group() as tg:
                await self.start(tg)
                await anyio.sleep_forever()

        self._background = asyncio.get_running_loop().create_task(background())

    async def start(self, tg: TaskGroup | None) -> None:
        self._started = True
        store = await self.store()
        if tg is not None:
            await tg.start(store.listen)  # other processes' changes (Postgres)
            await tg.start(self._tracer_run)
        if self.start_worker and self.worker is None:
            if tg is None:
                raise ConfigurationError(
                    "The embedded worker needs a running task group: use `async with "
                    "AsyncClient() as client:` (or pass worker=False and run `assistants worker`)."
                )
            self.worker = Worker(
                store, self.settings, router=self.router, tracer=await self.tracer()
            )
            await tg.start(self.worker.run)

    async def _tracer_run(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        await (await self.tracer()).run(task_status=task_status)

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None
        if self._background is not None:
            task, self._background = self._background, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._tracer is not None:
            await self._tracer.close()  # what the runs recorded, before the store closes
            self._tracer = None
        if self._store is not None:
            await self._store.close()
            self._store = None
        await self.router.aclose()


class _ProjectContext(ClientContext):
    """Another project's view of a client's context: same store, router and settings."""

    def __init__(self, base: _Context, project: str) -> None:
        self._base = base
        self.project = project
        self.settings = base.settings
        self.router = base.router
        self.completions = base.completions

    async def store(self) -> Store:
        return await self._base.store()

    async def tracer(self) -> Tracer:
        return await self._base.tracer()


class AsyncClient:
    """The Assistants API in-process, with openai-python's `client.beta` resources and methods.

    `client.beta` is the client itself, so `client.beta.threads.runs.create_and_poll(...)` ported
    from openai-python works unchanged. Use it as an async context manager: entering opens the
    store and starts the embedded worker (unless `worker=False`); leaving stops the worker
    gracefully and closes the store.
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
        """Settings come from the arguments, then `ASSISTANTS_*` env, then `assistants.toml`.

        `providers` registers extra model providers by name (see `assistants.testing`).
        """
        if settings is None:
            settings = Settings.load(database_url=database_url, **options)
        elif database_url is not None or options:
            settings = settings.model_copy(
                update={"database_url": database_url or settings.database_url, **options}
            )
        self.settings = settings
        self._ctx = _Context(settings, project=project, start_worker=worker, providers=providers)
        self.assistants = AsyncAssistants(self._ctx)
        self.threads = AsyncThreads(self._ctx)
        self.models = AsyncModels(self._ctx)
        self.chat = AsyncChat(self._ctx)
        self.spans = AsyncSpans(self._ctx)
        self.traces = AsyncTraces(self._ctx)
        self.prompts = AsyncPrompts(self._ctx)
        self.files = AsyncFiles(self._ctx)
        self.vector_stores = AsyncVectorStores(self._ctx)
        self._tg: TaskGroup | None = None
        self._tg_cm: Any = None

    @property
    def beta(self) -> AsyncClient:
        """The client itself: openai-python's `client.beta.*` paths work unchanged."""
        return self

    @property
    def project(self) -> str:
        """The project this client's objects belong to (one per API key on the server)."""
        return self.assistants._project

    def for_project(self, project: str) -> AsyncClient:
        """A view of this client scoped to another project (same store, same worker)."""
        view = object.__new__(AsyncClient)
        ctx = _ProjectContext(self._ctx, project)
        view.settings = self.settings
        view._ctx = self._ctx  # the view shares the store and worker; closing is the owner's
        view.assistants = AsyncAssistants(ctx)
        view.threads = AsyncThreads(ctx)
        view.models = AsyncModels(ctx)
        view.chat = AsyncChat(ctx)
        view.spans = AsyncSpans(ctx)
        view.traces = AsyncTraces(ctx)
        view.prompts = AsyncPrompts(ctx)
        view.files = AsyncFiles(ctx)
        view.vector_stores = AsyncVectorStores(ctx)
        view._tg = None
        view._tg_cm = None
        return view

    @property
    def worker(self) -> Worker | None:
        """The embedded worker, once started."""
        return self._ctx.worker

    async def store(self) -> Store:
        """The underlying store (opened on first use)."""
        return await self._ctx.store()

    async def __aenter__(self) -> AsyncClient:
        self._tg_cm = anyio.create_task_group()
        self._tg = await self._tg_cm.__aenter__()
        try:
            await self._ctx.start(self._tg)
        except BaseException as exc:
            await self._ctx.stop()
            await self._tg_cm.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
        if self._tg_cm is not None:
            cm, self._tg_cm, tg, self._tg = self._tg_cm, None, self._tg, None
            if tg is not None:
                tg.cancel_scope.cancel()  # background tasks (the notification listener)
            await cm.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Stop the embedded worker gracefully and close the store."""
        await self._ctx.stop()
