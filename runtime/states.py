"""The one table of allowed run transitions (CONTRACT §4), over `store.statuses`' vocabulary.

Every module that changes a status asks this table for the statuses it may change from, and the
store turns that into a compare-and-set `UPDATE ... WHERE status IN (...)`: zero rows means the
move was not allowed (someone else moved the run first), never a silent overwrite.
"""

from __future__ import annotations

from typing import Final

from store.statuses import ACTIVE_RUN, POLL_STOP, TERMINAL_RUN, RunStatus, StepStatus

__all__ = [
    "ACTIVE",
    "POLL_STOP",
    "TERMINAL",
    "TRANSITIONS",
    "RunStatus",
    "StepStatus",
    "can_transition",
    "is_terminal",
    "sources",
]

R = RunStatus

TERMINAL: Final = TERMINAL_RUN
ACTIVE: Final = ACTIVE_RUN

TRANSITIONS: Final[frozenset[tuple[RunStatus, RunStatus]]] = frozenset(
    {
        # A worker claims a queued run (sets started_at the first time).
        (R.QUEUED, R.IN_PROGRESS),
        # The model asked for function calls: the run pauses and its claim is released.
        (R.IN_PROGRESS, R.REQUIRES_ACTION),
        # Valid tool outputs were submitted: any worker may resume the run.
        (R.REQUIRES_ACTION, R.QUEUED),
        # A worker stopping gracefully, or the sweeper after a lapsed lease, hands the run back.
        (R.IN_PROGRESS, R.QUEUED),
        # The model finished with a message.
        (R.IN_PROGRESS, R.COMPLETED),
        # max_completion_tokens or max_prompt_tokens ran out.
        (R.IN_PROGRESS, R.INCOMPLETE),
        # A model or server error, or the attempt budget ran out after lost leases.
        (R.IN_PROGRESS, R.FAILED),
        # The sweeper fails a queued run whose attempt budget is spent, or whose assistant or
        # model can no longer be resolved at claim time.
        (R.QUEUED, R.FAILED),
        # Cancel requested while a worker holds the run: it stops at its next check.
        (R.IN_PROGRESS, R.CANCELLING),
        # Cancel of a queued run no worker holds: it ends at once.
        (R.QUEUED, R.CANCELLING),
        # Cancel of a paused run: nobody holds it, it ends at once.
        (R.REQUIRES_ACTION, R.CANCELLING),
        # The cancel took effect (by the worker, by the canceller for unheld runs, or by the
        # sweeper when the holding worker vanished).
        (R.CANCELLING, R.CANCELLED),
        # "Cancellation is attempted but not guaranteed": the model finished first.
        (R.CANCELLING, R.COMPLETED),
        # The run failed before the cancel took effect.
        (R.CANCELLING, R.FAILED),
        # expires_at passed while waiting for a worker.
        (R.QUEUED, R.EXPIRED),
        # expires_at passed while running.
        (R.IN_PROGRESS, R.EXPIRED),
        # expires_at passed while waiting for tool outputs.
        (R.REQUIRES_ACTION, R.EXPIRED),
        # expires_at passed before the cancel took effect.
        (R.CANCELLING, R.EXPIRED),
    }
)


def can_transition(source: RunStatus | str, target: RunStatus | str) -> bool:
    """Whether a run may move from `source` to `target`."""
    return (RunStatus(source), RunStatus(target)) in TRANSITIONS


def sources(target: RunStatus | str) -> tuple[RunStatus, ...]:
    """The statuses a run may move to `target` from, sorted: the store's `status IN (...)`."""
    goal = RunStatus(target)
    return tuple(sorted(s for s, t in TRANSITIONS if t is goal))


def is_terminal(status: RunStatus | str) -> bool:
    return RunStatus(status) in TERMINAL
