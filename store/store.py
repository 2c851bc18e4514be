"""The `Store`: every persistent operation of the runtime, over one `Database`."""

from __future__ import annotations

import anyio
from anyio.abc import TaskStatus

from store.assistants import AssistantPart
from store.base import RUNS_CHANNEL, WORK_CHANNEL
from store.claims import ClaimPart
from store.context import ContextPart
from store.db import Database, open_database
from store.errors import ConfigurationError
from store.eventlog import EventLog
from store.files import FilePart
from store.inspection import InspectionPart
from store.log import get_logger
from store.migrate import current_version, latest_version, pending, upgrade
from store.notify import Notifier
from store.pg import PgWrites
from store.postgres import PostgresDatabase
from store.prompts import PromptPart
from store.runs import RunPart
from store.spans import SpanPart
from store.threads import ThreadPart
from store.transitions import TransitionPart
from store.vector_stores import VectorStorePart
from store.work import WorkPart
from store.workers import WorkerPart

log = get_logger("assistants.store")

SCHEMA_VERSION = latest_version()


class Store:
    """Assistants, threads, messages, runs, steps and events, on SQLite or Postgres.

    Made of parts, each a small class over the one shared `Database`, named by what it owns:

    - `assistants`; `threads` (threads and their messages); `runs` (runs and steps: creation
      and lookups); `transitions` (cancel, tool outputs, the end of a run);
    - `log` (each run's event log, and the wake-ups after commits);
    - `claims` (claims, leases, heartbeats, the sweeper's reads and re-queues); `context` (a
      run's prompt reads); `work` (what a worker writes for a run it holds);
    - `pg`: the one-statement Postgres twins of the hot worker writes, which `claims` and `work`
      take on Postgres (tests/store/test_pg_twin.py holds them to the general path);
    - and each feature's own: `prompts`, `spans`, `workers`, `inspection`, `files`,
      `vector_stores`.

    A part owns its tables' SQL; parts that write a run's log share `log`, its one writer.
    """

    def __init__(self, db: Database, notifier: Notifier | None = None) -> None:
        self.db = db
        self.notifier = notifier or Notifier()
        self.log = EventLog(db, self.notifier)
        self.assistants = AssistantPart(db)
        self.threads = ThreadPart(db)
        self.runs = RunPart(db, self.log, self.threads)
        self.transitions = TransitionPart(db, self.log)
        self.pg = PgWrites(db, self.log)
        self.claims = ClaimPart(db, self.log, self.pg)
        self.context = ContextPart(db)
        twins = self.pg if db.dialect == "postgresql" else None
        self.work = WorkPart(db, self.log, self.transitions, twins)
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
                    async with self.db.listening(channel, self.log.on_remote) as lost:
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

    async def move_projects(self, moves: dict[str, str]) -> int:
        """Give every object of project `old` to project `new`, for each `old -> new` of `moves`,
        in one transaction; the rows moved (0 once done: running it again changes nothing)."""
        moved = 0
        async with self.db.transaction() as tx:
            for old, new in moves.items():
                for table in _PROJECT_TABLES:
                    moved += await tx.execute(
                        f"UPDATE {table} SET project = :new WHERE project = :old",
                        {"old": old, "new": new},
                    )
        return moved

    async def close(self) -> None:
        await self.db.close()


_PROJECT_TABLES = ("assistants", "threads", "messages", "runs", "run_steps", "prompts")
"""Every table with a `project` column."""
