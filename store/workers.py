"""Running workers and their processes: taking back the runs of a worker proven dead.

A run's lease says how long its worker may go silent before the run is given to another; after a
`kill -9` the run waits out that lease (15 s by default). A worker on the same host can do
better: each worker records the process it runs in (`workers` table), and a process that is
gone is a fact, not a guess. The identity is the host (its name, its boot id and the process's
pid namespace: one list of processes) plus the pid plus the process's start time (from
`/proc/<pid>/stat`), so a pid the kernel gave to a newer process is not taken for the old one.
When a worker finds a registered worker of its own host whose process no longer exists (or is a
zombie: it can write nothing more), it ends that worker's leases at once and the usual sweep
re-queues its runs (each once: the re-queue is a guarded update, as for any lapsed lease).

Workers on other hosts cannot be proven gone from here: their runs stay lease-based. Where
`/proc` is missing (not Linux) nothing is registered and leases are the only rule.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from store.base import now
from store.db import Database

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessIdentity:
    """A process on a host, unmistakable while the host runs: a reused pid has another start."""

    host: str
    pid: int
    started: str


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of `/proc/<pid>/stat` after the command name (which may hold spaces)."""
    stat = _read(_PROC / str(pid) / "stat")
    if stat is None:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def host_identity() -> str | None:
    """This host's name, boot id and pid namespace; `None` where `/proc` cannot tell them."""
    boot = _read(_PROC / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.stat(_PROC / "self" / "ns" / "pid").st_ino
    except OSError:
        return None
    if boot is None:
        return None
    return f"{socket.gethostname()}/{boot.strip()}/{namespace}"


def process_identity(pid: int) -> ProcessIdentity | None:
    """The identity of process `pid` of this host; `None` where it cannot be proven (no `/proc`,
    or no such process)."""
    host = host_identity()
    fields = _stat_fields(pid)
    if host is None or fields is None:
        return None
    # Field 22 of stat is the start time; `fields` begins at field 3 (the state).
    return ProcessIdentity(host, pid, fields[19])


def this_process() -> ProcessIdentity | None:
    """The identity of the calling process (see `process_identity`)."""
    return process_identity(os.getpid())


def process_gone(pid: int, started: str) -> bool:
    """Whether the process `pid` that started at `started` (on this host) no longer runs: no such
    pid, a pid reused by a process that started at another time, or a zombie."""
    fields = _stat_fields(pid)
    if fields is None:
        return True
    return fields[19] != started or fields[0] in ("Z", "X")


class WorkerPart:
    """The `workers` table: registration, and taking back the leases of dead workers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, worker_id: str, process: ProcessIdentity) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO workers (id, host, pid, started, registered_at) "
                "VALUES (:id, :host, :pid, :started, :at)",
                {
                    "id": worker_id,
                    "host": process.host,
                    "pid": process.pid,
                    "started": process.started,
                    "at": now(),
                },
            )

    async def unregister(self, worker_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM workers WHERE id = :id", {"id": worker_id})

    async def end_dead_leases(self, me: ProcessIdentity) -> list[str]:
        """End the leases of this host's workers whose process is gone, and forget them; returns
        their ids. Their runs are then lapsed, for the sweep to re-queue (or fail, or finish
        their cancel) as it does any lapsed run."""
        rows = await self.db.fetch(
            "SELECT id, pid, started FROM workers WHERE host = :host", {"host": me.host}
        )
        dead = [
            str(r["id"])
            for r in rows
            if (int(r["pid"]), str(r["started"])) != (me.pid, me.started)
            and process_gone(int(r["pid"]), str(r["started"]))
        ]
        for worker_id in dead:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "UPDATE runs SET lease_expires_at = 0 WHERE worker_id = :id", {"id": worker_id}
                )
                await tx.execute("DELETE FROM workers WHERE id = :id", {"id": worker_id})
        return dead
