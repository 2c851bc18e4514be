"""The run state machine: the literal transition table, pair by pair."""

from __future__ import annotations

import itertools

import pytest

from runtime import states
from runtime.states import RunStatus as R

ALLOWED = {
    (R.QUEUED, R.IN_PROGRESS),
    (R.QUEUED, R.CANCELLING),
    (R.QUEUED, R.EXPIRED),
    (R.QUEUED, R.FAILED),
    (R.IN_PROGRESS, R.REQUIRES_ACTION),
    (R.IN_PROGRESS, R.QUEUED),
    (R.IN_PROGRESS, R.COMPLETED),
    (R.IN_PROGRESS, R.INCOMPLETE),
    (R.IN_PROGRESS, R.FAILED),
    (R.IN_PROGRESS, R.CANCELLING),
    (R.IN_PROGRESS, R.EXPIRED),
    (R.REQUIRES_ACTION, R.QUEUED),
    (R.REQUIRES_ACTION, R.CANCELLING),
    (R.REQUIRES_ACTION, R.EXPIRED),
    (R.CANCELLING, R.CANCELLED),
    (R.CANCELLING, R.COMPLETED),
    (R.CANCELLING, R.FAILED),
    (R.CANCELLING, R.EXPIRED),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(R, R)))
def test_transition_table__every_pair(source: R, target: R) -> None:
    """Each (from, to) pair is allowed exactly when the contract's table lists it."""
    assert states.can_transition(source, target) is ((source, target) in ALLOWED)


@pytest.mark.parametrize("terminal", sorted(states.TERMINAL))
def test_terminal_statuses__have_no_way_out(terminal: R) -> None:
    """Nothing leaves a terminal status: a late worker can never overwrite one."""
    assert not any(states.can_transition(terminal, t) for t in R)


def test_sources__sorted_status_lists_for_the_stores_compare_and_set() -> None:
    """`sources(to)` lists exactly the statuses the store's `status IN (...)` may match."""
    assert states.sources(R.CANCELLING) == ("in_progress", "queued", "requires_action")
    assert states.sources(R.EXPIRED) == ("cancelling", "in_progress", "queued", "requires_action")
    assert states.sources(R.QUEUED) == ("in_progress", "requires_action")
    assert states.sources(R.CANCELLED) == ("cancelling",)


def test_poll_stop_set__matches_the_sdk_pollers() -> None:
    """Pollers stop on requires_action and every terminal status (CONTRACT §5)."""
    assert {s.value for s in states.POLL_STOP} == {
        "requires_action",
        "cancelled",
        "completed",
        "failed",
        "expired",
        "incomplete",
    }


def test_every_transition_has_a_comment() -> None:
    """The table in runtime/states.py documents each edge with a comment line above it."""
    import inspect

    source = inspect.getsource(states)
    body = source[source.index("TRANSITIONS") : source.index("def can_transition")]
    lines = [ln.strip() for ln in body.splitlines()]
    edges = [i for i, ln in enumerate(lines) if ln.startswith("(R.")]
    assert len(edges) == len(ALLOWED)
    for i in edges:
        j = i - 1
        while lines[j].startswith("(R."):
            j -= 1
        assert lines[j].startswith("#"), lines[i]
