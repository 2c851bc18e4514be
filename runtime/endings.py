"""The writes that end a run before its answer does: `failed`, `incomplete` (a budget spent
before the call), `cancelled` or `expired` (a stop), each recording the run's root span's end
first; and what a worker does when it finds its claim lost. The executor is a `RunEndings`.
"""

from __future__ import annotations

import time

from runtime import states
from runtime.states import RunStatus
from runtime.trace_context import RunTrace
from runtime.tracing import Tracer
from runtime.turns import Turn, partial_message
from store.log import get_logger
from store.span_types import SpanEnd
from store.store import Store
from store.work import Event

log = get_logger("assistants.executor")


class RunEndings:
    """Ends a run early, under the worker's claim (the executor's endings)."""

    store: Store
    worker_id: str
    tracer: Tracer | None
    _traces: dict[str, RunTrace]  # the runs being executed that are traced

    def _end_root(self, run_id: str, status: str) -> None:
        """Record when and how the run ended (called just before the write that ends it)."""
        trace = self._traces.get(run_id)
        if trace is not None and self.tracer is not None:
            self.tracer.record(SpanEnd(trace.span_id, time.time(), status, span=trace.root()))

    async def _after_lost_claim(self, run_id: str, turn: Turn | None = None) -> None:
        """The run's claim was lost: if the run is being cancelled it is still ours to end
        (with what `turn` had streamed), else someone else holds it now."""
        status = await self.store.claims.held_status(run_id, self.worker_id)
        if status == RunStatus.CANCELLING:
            await self._finish_cancel(run_id, turn.pending if turn is not None else None, turn)
        else:
            log.info("run_claim_lost", status=status)

    async def _finish_cancel(
        self,
        run_id: str,
        pending: list[Event] | None = None,
        turn: Turn | None = None,
        reason: str | None = "cancel",
    ) -> None:
        """End a run that was asked to stop: `cancelled`, or `expired` past its `expires_at`."""
        to = RunStatus.EXPIRED if reason == "expire" else RunStatus.CANCELLED
        self._end_root(run_id, to.value)
        await self.store.transitions.end(
            run_id,
            to=to,
            allowed=states.sources(to),
            worker_id=self.worker_id,
            pending=pending or (),
            partial=partial_message(turn),
        )
        log.info("run_stopped", status=to.value)

    async def _fail(
        self,
        run_id: str,
        code: str,
        message: str,
        usage: dict[str, int] | None,
        pending: list[Event] | None = None,
        turn: Turn | None = None,
    ) -> None:
        self._end_root(run_id, "failed")
        await self.store.transitions.end(
            run_id,
            to=RunStatus.FAILED,
            allowed=states.sources(RunStatus.FAILED),
            worker_id=self.worker_id,
            usage=usage,
            last_error={"code": code, "message": message},
            pending=pending or (),
            partial=partial_message(turn),
        )
        log.info("run_failed", code=code, error=message)

    async def _incomplete(self, run_id: str, reason: str, usage: dict[str, int]) -> None:
        self._end_root(run_id, "incomplete")
        await self.store.transitions.end(
            run_id,
            to=RunStatus.INCOMPLETE,
            allowed=states.sources(RunStatus.INCOMPLETE),
            worker_id=self.worker_id,
            usage=usage,
            incomplete_details={"reason": reason},
        )
