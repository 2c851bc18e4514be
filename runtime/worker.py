"""The worker: claims queued runs and executes them, one anyio task group.

- claim loop: takes queued runs (bounded by `max_concurrent_runs`; fairly between projects, none
  past a project's `max_runs_per_project`), each executed in its own task;
  it sleeps until a wake-up (a run was queued in this process) or `poll_seconds` pass, so other
  processes' runs are found by polling, the guarantee; a freed slot asks the database again
  only if runs may have been queued since it was last seen empty (or a project limit applies);
- heartbeat: renews the leases of held runs on the database clock; a run missing from the answer
  was taken from this worker (its task is cancelled, nothing is written); a run now `cancelling`
  is told to stop;
- sweeper: re-queues runs whose worker vanished (lease lapsed, or at once when that worker ran
  on this host and its process is proven gone: see `store/workers.py`), fails them once their
  attempt budget is spent, finishes cancels nobody holds, expires runs past `expires_at`
  (`runtime/leases.py`, with the ways a held run is given back);
- graceful stop: stop claiming, let in-flight runs finish for `stop_grace_seconds`, then release
  the rest to the queue for another worker.

Nothing lives only in memory: any number of workers, in any processes, share one database.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from dataclasses import dataclass

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus

from runtime import leases
from runtime.embeddings import embedder
from runtime.executor import Executor, StopSignal
from runtime.ingest import Ingester
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from runtime.states import RunStatus
from runtime.tracing import Tracer
from store.errors import DatabaseUnavailableError
from store.log import get_logger
from store.notify import QUEUE
from store.picking import Claim
from store.records import RunRecord
from store.store import Store
from store.workers import this_process

log = get_logger("assistants.worker")
# A run in one of these states, missing from a heartbeat's answer, was given to another worker.
CLAIM_BATCH = 8
"""Runs one claim statement takes at most. A claim decodes and logs every run it takes in one
uninterrupted step (inline on SQLite): fifty at once held the event loop for ~10 ms, sixteen
for ~3 ms. When slots remain the loop claims again at once, after letting other tasks run."""

_HELD_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.CANCELLING})


@dataclass
class _Held:
    """A run this worker executes: its task's scope, its stop signal, when it expires."""

    scope: anyio.CancelScope
    stop: StopSignal
    expires_at: int | None


class Worker:
    """Executes runs from one store. `run()` until `stop()`; see the module docstring."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        worker_id: str | None = None,
        router: ProviderRouter | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        # The id in the database is unique to this process even when two processes are given
        # the same name: leases and guarded writes are keyed by it.
        self.name = worker_id or socket.gethostname()
        self.worker_id = f"{self.name}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.process = this_process()
        self.router = router or ProviderRouter(settings)
        # The spans' background writer: the embedding client's, else this worker's own.
        self._own_tracer = tracer is None
        self.tracer = tracer or Tracer(store, settings)
        self.executor = Executor(store, self.router, settings, self.worker_id, self.tracer)
        self._active: dict[str, _Held] = {}
        self.ingester = Ingester(store, settings.poll_seconds, embedder(self.router, settings))
        # Set when the claim loop may have something to do: a slot freed, a run queued in this
        # process (or announced by another), a stop requested. Re-armed before each look.
        self._wake: anyio.Event | None = None
        # Whether the queue may hold runs the last look did not see: a run queued since (here or
        # announced by another process), the poll, a claim that filled what it asked for, a run
        # ending under project limits (its project may take another). A slot that frees while
        # nothing of that happened is no reason to ask the database again.
        self._look = True
        self._stopping: anyio.Event | None = None
        self._stopped: anyio.Event | None = None
        self._tg: TaskGroup | None = None
        self.runs_executed = 0

    @property
    def active_runs(self) -> list[str]:
        return list(self._active)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Work until `stop()` is called (or the task is cancelled: then runs are released)."""
        self._stopping = anyio.Event()
        self._stopped = anyio.Event()
        self._wake = anyio.Event()
        unsubscribe = self.store.notifier.subscribe(self._on_notify)
        registered = await self._register()
        log.info("worker_started", worker=self.name, worker_id=self.worker_id)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._heartbeat_loop)
                tg.start_soon(self._sweeper_loop)
                tg.start_soon(self.ingester.run)  # files into vector stores
                if self._own_tracer:
                    await tg.start(self.tracer.run)
                # Work notifications only, unless the process listens to every change already
                # (a client or server beside this worker).
                await tg.start(functools.partial(self.store.listen, runs=False))
                task_status.started()
                await self._claim_loop(tg)
                await self._drain()
                tg.cancel_scope.cancel()
        finally:
            unsubscribe()
            with anyio.CancelScope(shield=True):
                await self.router.aclose()
                if self._own_tracer:
                    await self.tracer.close()
                if registered:
                    await self._unregister()
            self._stopped.set()
            log.info("worker_stopped", worker_id=self.worker_id)

    async def _register(self) -> bool:
        """Record this worker's process, so that once it is gone a worker of this host takes
        its runs back at once; without it (no `/proc`, or the write failed) leases still do."""
        if self.process is None:
            return False
        try:
            await self.store.workers.register(self.worker_id, self.process)
        except Exception:
            log.exception("worker_register_failed", worker_id=self.worker_id)
            return False
        return True

    async def _unregister(self) -> None:
        try:
            await self.store.workers.unregister(self.worker_id)
        except Exception:
            log.exception("worker_unregister_failed", worker_id=self.worker_id)

    async def stop(self) -> None:
        """Stop claiming, let in-flight runs finish within the grace period, release the rest."""
        if self._stopping is None or self._stopped is None:
            return
        self._stopping.set()
        self._poke()
        await self._stopped.wait()

    def _on_notify(self, key: str) -> None:
        if key == QUEUE:
            self._look = True
            self._poke()
        elif key.startswith("cancel:"):
            held = self._active.get(key[7:])
            if held is not None:
                held.stop.set("cancel")

    # --- claiming -----------------------------------------------------------------------------

    async def _claim_loop(self, tg: TaskGroup) -> None:
        assert self._stopping is not None
        limit = self.settings.max_concurrent_runs
        while not self._stopping.is_set():
            wake = self._arm()
            free = limit - len(self._active)
            if free <= 0:
                await wake.wait()
                continue
            if not self._look:  # nothing was queued since the queue was seen empty
                if not await self._sleep(wake, self.settings.poll_seconds):
                    self._look = True  # the poll: runs other processes queued are found so
                continue
            self._look = False  # before the look: a run queued meanwhile sets it again
            want = min(free, CLAIM_BATCH)
            try:
                rows = await self.store.claims.claim(
                    self.worker_id,
                    limit=want,
                    lease_seconds=self.settings.lease_seconds,
                    project_limit=self.settings.max_runs_per_project,
                    project_limits=self.settings.project_run_limits,
                )
            except Exception:  # the database may be restarting: log, wait, retry
                log.exception("claim_failed")
                self._look = True
                await self._sleep(self._arm(), self.settings.poll_seconds)
                continue
            for row in rows:
                self._hold(row)
                tg.start_soon(self._execute, row)
            if len(rows) == want:
                self._look = True  # there may be more
                await anyio.lowlevel.checkpoint()  # the runs just started, then the next batch
            # else the queue is drained: the loop's top waits for a wake-up or the poll.

    def _arm(self) -> anyio.Event:
        """The wake-up event to wait on after looking at the state (a fresh one unless a wake-up
        is pending): whatever changes after the look sets it."""
        if self._wake is None or self._wake.is_set():
            self._wake = anyio.Event()
        return self._wake

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    @staticmethod
    async def _sleep(wake: anyio.Event, timeout: float) -> bool:
        """Wait for `wake` at most `timeout` seconds: whether it came."""
        with anyio.move_on_after(timeout):
            await wake.wait()
            return True
        return False

    async def _execute(self, row: RunRecord) -> None:
        """Execute `row` in this slot, then each run the write that ended the last one claimed
        for the slot (on Postgres the completing or pausing statement claims the next queued
        run itself, sparing the slot a claim of its own)."""
        current: RunRecord | None = row
        while current is not None:
            successor = await self._execute_one(current)
            current = None
            if successor is not None and successor.runs:
                (current,) = successor.runs
                self._hold(current)
                if self._stopping is not None and self._stopping.is_set():
                    await self._give_back(current)  # claimed as the stop began
                    current = None
        if self.settings.max_runs_per_project is not None or self.settings.project_run_limits:
            self._look = True  # its project is below its limit again: its queued runs count
        self._poke()

    def _hold(self, row: RunRecord) -> _Held:
        held = self._active[row.id] = _Held(anyio.CancelScope(), StopSignal(), row.expires_at)
        return held

    async def _release(self, run_id: str) -> None:
        await leases.release(self.store, self.settings, self.worker_id, run_id)

    async def _give_back(self, row: RunRecord) -> None:
        """Release a run claimed for this slot that it will not execute, for another worker (if
        the database is away, its lease lapses: it is no longer renewed)."""
        with anyio.CancelScope(shield=True):
            try:
                await self._release(row.id)
            except DatabaseUnavailableError as exc:
                log.warning("run_release_deferred", run_id=row.id, error=str(exc))
            finally:
                self._active.pop(row.id, None)

    async def _execute_one(self, row: RunRecord) -> Claim | None:
        """Execute one held run; the claim its last write made for this slot, if any."""
        run_id = row.id
        held = self._active[run_id]
        stopping = self._stopping is not None and self._stopping.is_set()
        successor = (
            None
            if stopping
            else Claim(
                self.worker_id,
                self.settings.lease_seconds,
                project_limit=self.settings.max_runs_per_project,
                project_limits=self.settings.project_run_limits,
            )
        )
        try:
            with held.scope:
                try:
                    await self.executor.execute(row, held.stop, successor)
                except DatabaseUnavailableError as exc:
                    # Not the run's failure: nothing it did was lost, it goes back to the queue.
                    log.warning("run_interrupted", run_id=run_id, error=str(exc))
                    with anyio.CancelScope(shield=True):
                        await leases.requeue_interrupted(
                            self.store, self.settings, self.worker_id, run_id
                        )
                except Exception as exc:
                    log.exception("run_crashed", run_id=run_id)
                    with anyio.CancelScope(shield=True):
                        await leases.fail_crashed(self.store, self.worker_id, run_id, exc)
            if held.scope.cancelled_caught:
                with anyio.CancelScope(shield=True):
                    await self._release(run_id)
                if successor is not None:
                    for taken in successor.runs:  # the slot is given up: so are they
                        self._hold(taken)
                        await self._give_back(taken)
                    successor.rows, successor.runs = [], []
        finally:
            self._active.pop(run_id, None)
            self.runs_executed += 1
        return successor

    async def _drain(self) -> None:
        """Let in-flight runs finish within the grace period, then cancel (release) the rest."""
        with anyio.move_on_after(self.settings.stop_grace_seconds):
            while self._active:
                await self._arm().wait()
        for held in list(self._active.values()):
            held.scope.cancel()
        while self._active:
            await self._arm().wait()

    # --- leases and the sweeper ----------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            await anyio.sleep(self.settings.heartbeat_interval)
            # Only the runs held before the heartbeat left: one claimed while it was in flight
            # is not in its answer, and must not be taken for lost.
            executing = dict(self._active)
            if not executing:
                continue
            try:
                held = await self.store.claims.heartbeat(
                    self.worker_id, list(executing), lease_seconds=self.settings.lease_seconds
                )
            except Exception:
                log.exception("heartbeat_failed")
                continue
            for run_id, run in executing.items():
                row = held.get(run_id)
                if row is None:
                    if run_id in self._active and await self._lost(run_id):
                        log.warning("run_lease_lost", run_id=run_id)
                        run.scope.cancel()
                elif row.status == RunStatus.CANCELLING:
                    run.stop.set("cancel")
                elif row.overdue:
                    run.stop.set("expire")

    async def _lost(self, run_id: str) -> bool:
        """Whether a run missing from the heartbeat's answer was taken from this worker.

        An execution that just paused or ended its run released it in that same write, and may
        not have returned yet: that run is not lost, and cancelling its task now would cut off
        what follows the write (its log line, its wake-ups). Any other state (re-queued, held by
        another worker, deleted) means the lease lapsed and the run was given away.
        """
        try:
            status = await self.store.runs.status(run_id)
        except Exception:
            log.exception("heartbeat_failed")
            return False
        return status is None or status in _HELD_STATUSES

    async def _sweeper_loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep_failed")
            await anyio.sleep(self.settings.sweep_seconds)

    async def sweep(self) -> None:
        """One pass of the sweeper: see `runtime.leases.sweep`."""
        await leases.sweep(self.store, self.settings, self.process)
