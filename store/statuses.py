"""The status vocabulary of runs, run steps and messages: one definition each, at the bottom.

Everything else is built from these enums: the `Literal`s of `store.types`, the CHECK
constraints of the schema (`store.tables`, `schema.sql`, migration 0004), every status in the
store's SQL (through `sql_in` / `sql_is`), and the run transition table of `runtime.states`.
`tests/store/test_statuses.py` proves they agree, reading the constraints back from SQLite and
Postgres. The module imports nothing heavy: the schema and the runtime both start from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from typing import Final


class RunStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker to claim it
    IN_PROGRESS = "in_progress"  # held by one worker, which is calling the model
    REQUIRES_ACTION = "requires_action"  # paused for tool outputs; no worker holds it
    CANCELLING = "cancelling"  # cancel requested while a worker holds it
    CANCELLED = "cancelled"  # terminal: cancelled
    FAILED = "failed"  # terminal: model or server error, `last_error` says which
    COMPLETED = "completed"  # terminal: the model finished with a message
    INCOMPLETE = "incomplete"  # terminal: a token budget ran out
    EXPIRED = "expired"  # terminal: `expires_at` passed first


class StepStatus(StrEnum):
    IN_PROGRESS = "in_progress"  # the model call or the tool round trip is under way
    CANCELLED = "cancelled"  # the run was cancelled (or ran out of tokens) while it was open
    FAILED = "failed"  # the run failed while this step was open
    COMPLETED = "completed"  # the step finished (for tool calls: outputs submitted)
    EXPIRED = "expired"  # the run expired while this step was open


class MessageStatus(StrEnum):
    IN_PROGRESS = "in_progress"  # an assistant message the model is still writing
    INCOMPLETE = "incomplete"  # the run ended before the message did (`incomplete_details`)
    COMPLETED = "completed"  # finished; every user-created message is born completed


Status = RunStatus | StepStatus | MessageStatus

R = RunStatus

ACTIVE_RUN: Final = frozenset({R.QUEUED, R.IN_PROGRESS, R.REQUIRES_ACTION, R.CANCELLING})
"""The statuses one thread may have one run in (a partial unique index enforces it)."""
TERMINAL_RUN: Final = frozenset({R.CANCELLED, R.FAILED, R.COMPLETED, R.INCOMPLETE, R.EXPIRED})
"""The statuses a run never leaves."""
POLL_STOP: Final = frozenset(TERMINAL_RUN | {R.REQUIRES_ACTION})
"""The statuses at which both SDKs' pollers stop (CONTRACT §5)."""
HELD_RUN: Final = frozenset({R.IN_PROGRESS, R.CANCELLING})
"""The statuses of a run a worker may hold a claim on while it writes."""

STEP_END_FOR_RUN: Final[dict[RunStatus, StepStatus]] = {
    R.CANCELLED: StepStatus.CANCELLED,
    R.FAILED: StepStatus.FAILED,
    R.EXPIRED: StepStatus.EXPIRED,
    R.INCOMPLETE: StepStatus.CANCELLED,
    R.COMPLETED: StepStatus.COMPLETED,
}
"""What a run's open steps become when the run ends in each terminal status."""


_KINDS = (RunStatus, StepStatus, MessageStatus)


def sql_is(status: Status) -> str:
    """`'queued'`: one status as a SQL literal (statuses are constants, never input)."""
    if not isinstance(status, _KINDS):
        raise TypeError(f"{status!r} is not a status of store.statuses")
    return f"'{status.value}'"


def sql_in(statuses: Iterable[Status]) -> str:
    """`('queued', 'in_progress')`: statuses as a SQL `IN` list, in declaration order."""
    members = frozenset(statuses)
    for status in members:
        if not isinstance(status, _KINDS):
            raise TypeError(f"{status!r} is not a status of store.statuses")
    if not members:
        raise ValueError("an IN list needs at least one status")
    return _sql_in(members)


@cache
def _sql_in(statuses: frozenset[Status]) -> str:
    ordered = sorted(statuses, key=_position)
    return "(" + ", ".join(f"'{s.value}'" for s in ordered) + ")"


def _position(status: Status) -> int:
    members: list[Status] = list(type(status))
    return members.index(status)


def check_sql(kind: type[RunStatus] | type[StepStatus] | type[MessageStatus]) -> str:
    """The CHECK constraint's condition for a table whose `status` holds `kind`."""
    return f"status IN {sql_in(kind)}"


ACTIVE_SQL: Final = sql_in(ACTIVE_RUN)
"""`status IN ACTIVE_SQL`, as SQL text."""
