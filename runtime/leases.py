"""How a run's claim ends when its execution does not end it: given back by the worker that
held it (a stop, a lost lease, a crash, an interruption by the database), or swept once its
lease lapsed or its `expires_at` passed. The worker (`runtime/worker.py`) calls these.
"""

from __future__ import annotations

from runtime import states
from runtime.settings import Settings
from runtime.states import RunStatus
from store.errors import DatabaseUnavailableError, LostClaim
from store.log import get_logger
from store.store import Store
from store.workers import ProcessIdentity

log = get_logger("assistants.worker")


async def release(
    store: Store, settings: Settings, worker_id: str, run_id: str, *, interrupted: bool = False
) -> None:
    """Give a run back (a stop, a lost lease, or `interrupted` by the database): re-queue it
    (an interruption spends an attempt; the last one fails the run), or finish its cancel."""
    held = await store.claims.held_attempts(run_id, worker_id)
    if held is None:
        return
    status, attempts = held
    try:
        if status == RunStatus.CANCELLING:
            await store.transitions.end(
                run_id, to=RunStatus.CANCELLED, allowed=(RunStatus.CANCELLING,), worker_id=worker_id
            )
        elif status != RunStatus.IN_PROGRESS:
            return
        elif interrupted and attempts + 1 >= settings.max_attempts:
            await store.transitions.end(
                run_id,
                to=RunStatus.FAILED,
                allowed=(RunStatus.IN_PROGRESS,),
                worker_id=worker_id,
                last_error={
                    "code": "server_error",
                    "message": f"The run was interrupted {attempts + 1} times (the database "
                    "was unavailable); giving up.",
                },
            )
        else:
            await store.claims.release(
                run_id,
                worker_id,
                to=RunStatus.QUEUED,
                allowed=(RunStatus.IN_PROGRESS,),
                interrupted=interrupted,
            )
            log.info("run_released", run_id=run_id, interrupted=interrupted)
    except LostClaim:
        pass


async def requeue_interrupted(
    store: Store, settings: Settings, worker_id: str, run_id: str
) -> None:
    """Re-queue a run whose execution the database interrupted, spending an attempt. If the
    database is still away this fails too: the run's lease then lapses (only executing runs
    are renewed) and the sweeper re-queues it."""
    try:
        await release(store, settings, worker_id, run_id, interrupted=True)
    except DatabaseUnavailableError:
        log.warning("run_requeue_deferred", run_id=run_id)


async def fail_crashed(store: Store, worker_id: str, run_id: str, exc: Exception) -> None:
    """Fail a run whose execution raised inside the runtime, naming the exception's type."""
    try:
        await store.transitions.end(
            run_id,
            to=RunStatus.FAILED,
            allowed=states.sources(RunStatus.FAILED),
            worker_id=worker_id,
            last_error={
                "code": "server_error",
                "message": f"The run failed inside the runtime: {type(exc).__name__}.",
            },
        )
    except Exception:
        log.exception("run_fail_failed", run_id=run_id)


async def sweep(store: Store, settings: Settings, process: ProcessIdentity | None) -> None:
    """One pass: lapsed leases (re-queue, fail, or finish a cancel) and overdue runs. The
    leases of this host's workers whose process is gone end first: their runs come back now.
    """
    if process is not None:
        for dead in await store.workers.end_dead_leases(process):
            log.warning("worker_gone", lost_worker=dead)
    for row in await store.claims.lapsed_runs():
        run_id, status = row.id, row.status
        if status == RunStatus.CANCELLING:
            await store.transitions.end(
                run_id, to=RunStatus.CANCELLED, allowed=(RunStatus.CANCELLING,), lapsed_only=True
            )
        elif row.attempts + 1 >= settings.max_attempts:
            # `attempts` counts interruptions (lapsed leases), not claims: tool rounds
            # re-claim a run without spending its budget.
            await store.transitions.end(
                run_id,
                to=RunStatus.FAILED,
                allowed=(RunStatus.IN_PROGRESS,),
                lapsed_only=True,
                last_error={
                    "code": "server_error",
                    "message": f"The run was interrupted {row.attempts + 1} times (the "
                    "worker running it stopped responding); giving up.",
                },
            )
            log.warning("run_attempts_exhausted", run_id=run_id)
        elif await store.claims.requeue_lapsed(
            run_id, to=RunStatus.QUEUED, allowed=(RunStatus.IN_PROGRESS,)
        ):
            log.warning("run_requeued", run_id=run_id, lost_worker=row.worker_id)
    for run_id in await store.claims.overdue_runs():
        ended = await store.transitions.end(
            run_id, to=RunStatus.EXPIRED, allowed=states.sources(RunStatus.EXPIRED)
        )
        if ended is not None:
            log.info("run_expired", run_id=run_id)
