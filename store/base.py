"""Shared pieces of the store: the clock, the active statuses, and the notification channels."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from store.statuses import ACTIVE_SQL, POLL_STOP

ACTIVE = ACTIVE_SQL  # `status IN ACTIVE`: the statuses one thread may have one run in
PROCESS_TOKEN = f"{os.getpid()}-{secrets.token_hex(4)}"
"""Identifies this process's own notifications, which it ignores when they come back."""
# Postgres NOTIFY channels: changes of runs (for pollers and streams in other processes), and
# the subset that is work (a run queued, a cancel requested) for worker-only processes, which
# would otherwise wake for every event of every run.
RUNS_CHANNEL = "assistants"
WORK_CHANNEL = "assistants_work"
POLLER_EVENTS = frozenset(f"thread.run.{status.value}" for status in POLL_STOP)
"""A run's stops: what pollers wait for (`POLL_STOP`), always announced. Other
appends are announced only while a stream in another process follows the run (`followers`):
each NOTIFY costs every listening backend a wake-up, and Postgres serialises notifying commits."""


@dataclass(frozen=True)
class Logged:
    """An event a Postgres statement appends (`EventLog.fused`): a payload built in Python,
    or (`data` None) the snapshot of the row that the statement's CTE `row` changed."""

    name: str
    data: dict[str, Any] | None = None
    row: str | None = None


def notify_sql(flags: str, *, followed: str | None = None) -> str:
    """The `pg_notify` calls (a select list, `:payload` their text) for a change with `flags`;
    with `followed` (a SQL condition), the runs-channel one is sent only if it holds."""
    sql = f"pg_notify('{RUNS_CHANNEL}', CAST(:payload AS text))"
    if followed is not None:
        sql = f"CASE WHEN {followed} THEN {sql} END"
    if flags:
        sql += f", pg_notify('{WORK_CHANNEL}', CAST(:payload AS text))"
    return sql


def now() -> int:
    """The API's clock: integer Unix seconds."""
    return int(time.time())
