"""Workers proven dead on this host give their runs back at once; anything unproven keeps its lease.

Real processes stand in for workers: a child that is killed (gone), one still running (alive),
one killed but not reaped (a zombie), and the live one again under a start time it does not have
(its pid reused by a newer process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from assistants import AsyncClient
from store.statuses import RunStatus as R
from store.store import Store
from store.workers import ProcessIdentity, process_gone, process_identity, this_process

pytestmark = pytest.mark.skipif(this_process() is None, reason="needs /proc (Linux)")


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for child in started:
            if child.poll() is None:
                child.kill()
            child.wait(10)


def _child(
    children: list[subprocess.Popen[bytes]],
) -> tuple[subprocess.Popen[bytes], ProcessIdentity]:
    child = subprocess.Popen(
        [sys.executable, "-c", "import signal; signal.pause()"], stdin=subprocess.DEVNULL
    )
    children.append(child)
    identity = process_identity(child.pid)
    assert identity is not None
    return child, identity


async def _claimed(client: AsyncClient, store: Store, assistant_id: str, worker_id: str) -> str:
    thread = await client.threads.create(messages=[{"role": "user", "content": worker_id}])
    run = await client.threads.runs.create(thread.id, assistant_id=assistant_id)
    (row,) = await store.claims.claim(worker_id, limit=1, lease_seconds=600)
    assert row.id == run.id
    return run.id


async def test_dead_worker_of_this_host__its_leases_end_at_once(
    client: AsyncClient, children: list[subprocess.Popen[bytes]]
) -> None:
    """Only the worker whose process is gone from this host loses its leases (600 s long);
    a live one and one registered from another host keep theirs; the dead one is forgotten."""
    store = await client.store()
    me = this_process()
    assert me is not None
    assistant = await client.assistants.create(model="test")
    dead_child, dead = _child(children)
    _, live = _child(children)
    elsewhere = ProcessIdentity("another-host/boot/1", dead.pid, dead.started)
    held: dict[str, str] = {}
    for worker_id, identity in (("dead", dead), ("live", live), ("elsewhere", elsewhere)):
        await store.workers.register(worker_id, identity)
        held[worker_id] = await _claimed(client, store, assistant.id, worker_id)
    assert await store.workers.end_dead_leases(me) == []  # every process still runs
    assert await store.claims.lapsed_runs() == []

    dead_child.kill()
    dead_child.wait(10)
    assert await store.workers.end_dead_leases(me) == ["dead"]
    assert [r.id for r in await store.claims.lapsed_runs()] == [held["dead"]]
    assert await store.workers.end_dead_leases(me) == []  # forgotten once handled
    assert await store.claims.requeue_lapsed(held["dead"], to=R.QUEUED, allowed=(R.IN_PROGRESS,))
    assert not await store.claims.requeue_lapsed(
        held["dead"], to=R.QUEUED, allowed=(R.IN_PROGRESS,)
    )
    row = await store.runs.row(held["dead"])
    assert row is not None
    assert (row["status"], row["worker_id"], row["attempts"]) == ("queued", None, 1)
    for worker_id in ("live", "elsewhere"):
        row = await store.runs.row(held[worker_id])
        assert row is not None
        assert (row["status"], row["worker_id"]) == ("in_progress", worker_id)


async def test_a_worker_unregistered_on_stop__is_never_judged(client: AsyncClient) -> None:
    """A worker that stopped cleanly leaves no row: nothing is judged about its process."""
    store = await client.store()
    me = this_process()
    assert me is not None
    gone = ProcessIdentity(me.host, me.pid, "not-my-start")
    await store.workers.register("stopped", gone)
    await store.workers.unregister("stopped")
    assert await store.workers.end_dead_leases(me) == []


def test_process_gone__reused_pid_and_zombie(children: list[subprocess.Popen[bytes]]) -> None:
    """A live process is not gone; the same pid with another start time is (the pid was reused);
    a killed child not yet reaped (a zombie) is gone."""
    child, identity = _child(children)
    assert not process_gone(identity.pid, identity.started)
    assert process_gone(identity.pid, str(int(identity.started) + 1))
    os.kill(child.pid, signal.SIGKILL)
    # Wait for the exit without reaping it: the child stays a zombie until `wait()`.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert process_gone(identity.pid, identity.started)
    child.wait(10)
    assert process_gone(identity.pid, identity.started)
