"""The `Store`: every persistent operation of the runtime, over one `Database`."""

from __future__ import annotations

import anyio
from anyio.abc import TaskStatus

from store.base import RUNS_CHANNEL, WORK_CHANNEL
from store.db import Database, open_database
from store.errors import ConfigurationError
from store.execution import ExecutionMixin
from store.files import FilePart
from store.inspection import InspectionPart
from store.log import get_logger
from store.migrate import current_version, latest_version, pending, upgrade
from store.notify import Notifier
from store.postgres import PostgresDatabase
from store.prompts import PromptPart
from store.spans import SpanPart
from store.vector_stores import VectorStorePart
from store.workers import WorkerPart

log = get_logger("assistants.store")

SCHEMA_VERSION = latest_version()


class Store(ExecutionMixin):
    """Assistants, threads, messages, runs, steps and events, on SQLite or Postgres."""

    def __init__(self, db: Database, notifier: Notifier | None = None) -> None:
        super().__init__(db, notifier)
        self.spans = SpanPart(db)
        self.workers = WorkerPart(db)
        self.inspection = InspectionPart(db)
        self._listening = False
        self.prompts = PromptPart(db)
        self.files = FilePart(db)
        self.vector_stores = VectorStorePart(db)

    @classmethod
    async def open(
        cls, url: str, *, create: bool = True, notifier: Notifier | None = None
    ) -> Store:
        """Connect to `url` and make sure the schema is there (creating it if `create`)."""
        db = open_database(url)
        await db.connect()
        store = cls(db, notifier)
        try:
            await store.ensure_schema(create=create)
        except BaseException:
            await db.close()
            raise
        return store

    async def ensure_schema(self, *, create: bool = True) -> None:
        """Check the schema is current; with `create`, apply the pending migrations first.

        Pending means not recorded, wherever its version falls: a database may hold a later
        migration and still lack an earlier one.
        """
        version = await current_version(self.db)
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"The database {self.db.url!r} has schema version {version}, newer than this "
                f"release knows ({SCHEMA_VERSION}): upgrade the assistants-runtime package."
            )
        missing = await pending(self.db)
        if not missing:
            return
        if not create:
            if version == 0:
                state = "has no assistants schema"
            elif version < SCHEMA_VERSION:
                state = f"has schema version {version}, this release needs {SCHEMA_VERSION}"
            else:
                names = ", ".join(m.name for m in missing)
                state = f"lacks migration(s) {names}"
            raise ConfigurationError(
                f"The database {self.db.url!r} {state}: run 'assistants db upgrade'."
            )
        await upgrade(self.db)

    async def listen(
        self, *, runs: bool = True, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Follow other processes' changes until cancelled (Postgres LISTEN; nothing on SQLite).

        `runs=False` follows only work (runs queued, cancels requested): what a process that
        only runs a worker needs. The first call of a store decides; later calls return at once.
        Notifications are hints: if the connection drops (a database restart), it reconnects
        with backoff, and polling covers the gap.
        """
        channel = RUNS_CHANNEL if runs else WORK_CHANNEL
        if not isinstance(self.db, PostgresDatabase) or self._listening:
            task_status.started()
            return
        self._listening = True
        started = False
        delay = 0.1
        try:
            while True:
                try:
                    async with self.db.listening(channel, self.on_remote) as lost:
                        if not started:
                            started = True
                            task_status.started()
                        delay = 0.1
                        await lost.wait()
                    log.warning("notify_listener_lost")
                except Exception as exc:  # noqa: BLE001  (the database may be restarting)
                    log.warning("notify_listener_failed", error=str(exc))
                if not started:
                    started = True
                    task_status.started()
                await anyio.sleep(delay)
                delay = min(delay * 2, 5.0)
        finally:
            self._listening = False

    async def close(self) -> None:
        await self.db.close()
