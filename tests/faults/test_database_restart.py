"""Postgres restarts, goes away, or drops a connection under a running worker process.

Restarts and outages run on a private, throwaway Postgres server (`initdb` in a temporary
directory, run as the `postgres` OS user, on a free port), so they disturb nobody; they skip
where that cannot be done (not root, no server binaries). The `slow` case restarts the shared
server of `ASSISTANTS_TEST_POSTGRES_URL` itself with `pg_ctlcluster ... restart`, which cuts
every other connection to it: run it alone. The dropped connection is one worker backend on the
shared server, ended with `pg_terminate_backend`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import anyio
import asyncpg
import pytest

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel
from tests.faults.harness import (
    LEASE_SECONDS,
    Workers,
    make_assistant,
    now,
    queue_run,
    until,
    wait_status,
)

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


class PrivatePostgres:
    """A Postgres server of its own in a temporary directory (trust auth, no fsync)."""

    def __init__(self) -> None:
        self.bin = Path(PG_BIN[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="assistants-pg-"))
        shutil.chown(self.dir, "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres("initdb", "-D", "data", "-A", "trust", "-U", "postgres", "--no-sync")

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            cwd=self.dir,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def _ctl(self, action: str, *args: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        self._as_postgres("pg_ctl", "-D", "data", "-l", log, "-w", "-o", options, action, *args)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if os.geteuid() != 0 or not PG_BIN or not _postgres_user():
        pytest.skip("a private Postgres server needs root, the server binaries and a postgres user")
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
async def private_client(
    private_postgres: PrivatePostgres, anyio_backend: str
) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(database_url=private_postgres.url, worker=False) as client:
        await client.store()
        yield client


async def _restart_under_a_worker(
    url: str,
    restart: Callable[[], None],
    client: AsyncClient,
    fake: FakeModel,
    workers: Workers,
) -> None:
    """A run before, one held at the model across the restart, and one queued after it."""
    assistant_id = await make_assistant(client, tools=False)
    worker = workers.start(url, fake)
    before = await queue_run(client, assistant_id, "before the restart")
    await wait_status(client, before.run_id, ("completed",))
    hold = fake.hold("across the restart")  # armed before the run is queued
    across = await queue_run(client, assistant_id, "across the restart")
    await hold.wait()

    await anyio.to_thread.run_sync(restart)
    restarted_at = now()
    hold.release()
    after = await queue_run(client, assistant_id, "after the restart")
    await wait_status(client, after.run_id, ("completed",), timeout=30)
    reconnected_in = now() - restarted_at
    # The run in flight: its next write found the connection gone; it must not be lost.
    await wait_status(client, across.run_id, ("completed",), timeout=LEASE_SECONDS + 10)
    assert fake.calls(after.key) == 1
    assert worker.alive()
    assert worker.terminate() == 0, worker.log_tail()
    print(f"queued run completed {reconnected_in:.2f} s after the restart")


async def test_postgres_restart__worker_reconnects_and_completes_runs(
    private_postgres: PrivatePostgres,
    private_client: AsyncClient,
    fake_model: FakeModel,
    workers: Workers,
) -> None:
    await _restart_under_a_worker(
        private_postgres.url, private_postgres.restart, private_client, fake_model, workers
    )


@pytest.mark.slow
async def test_shared_postgres_restart__worker_reconnects_and_completes_runs(
    postgres_url: str, fake_model: FakeModel, workers: Workers
) -> None:
    """The same on the shared server, restarted with `pg_ctlcluster` (cuts every connection)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]

    def restart() -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=True,
            capture_output=True,
            timeout=120,
        )

    async with AsyncClient(database_url=postgres_url, worker=False) as client:
        await client.store()
        await _restart_under_a_worker(postgres_url, restart, client, fake_model, workers)


async def test_database_down_during_a_write__the_run_is_resumed(
    private_postgres: PrivatePostgres,
    private_client: AsyncClient,
    fake_model: FakeModel,
    workers: Workers,
) -> None:
    """The server is down when a run's answer arrives, so neither the answer nor the failure
    can be written. Like a worker crash, that must end in the run being resumed once the
    database is back (its lease lapses, it is re-queued), even while the worker stays busy: a
    heartbeat that renewed every run with the worker's id would keep the orphan's lease alive
    for as long as the worker has other runs."""
    client = private_client
    assistant_id = await make_assistant(client, tools=False)
    worker = workers.start(private_postgres.url, fake_model)
    key = "keeps the worker busy"  # hold armed before the run is queued
    busy_hold = fake_model.hold(key)
    busy = await queue_run(client, assistant_id, key)
    key = "answered while the database is down"  # hold armed before the run is queued
    hit_hold = fake_model.hold(key)
    hit = await queue_run(client, assistant_id, key)
    await busy_hold.wait()
    await hit_hold.wait()

    await anyio.to_thread.run_sync(private_postgres.stop)
    hit_hold.release()
    await worker.logged("run_interrupted", timeout=10)  # it tried to write the answer, and failed
    await anyio.to_thread.run_sync(private_postgres.start)

    store = await client.store()
    try:
        final = await wait_status(
            client, hit.run_id, ("completed", "failed"), timeout=LEASE_SECONDS + 3
        )
    except TimeoutError:
        row = await store.db.fetchrow(
            "SELECT status, worker_id, lease_expires_at, attempts FROM runs WHERE id = :id",
            {"id": hit.run_id},
        )
        events = [e["event"] for e in worker.events()]
        raise AssertionError(f"{dict(row or {})} {events}") from None
    row = await store.runs.row(hit.run_id)
    assert row is not None
    busy_hold.release()
    await wait_status(client, busy.run_id, ("completed",))
    assert final == "completed", row["last_error"]
    assert worker.terminate() == 0


async def test_worker_connection_cut_during_a_write__the_run_is_not_failed(
    postgres_url: str, fake_model: FakeModel, workers: Workers
) -> None:
    """The worker's connection is ended (a failover, a pooler restart, an administrator's
    `pg_terminate_backend`) while it writes a run's answer; the database itself stays up, so
    the run must go on (be retried or resumed), not fail.

    The cut is placed exactly: this test holds the run's row lock, so the worker's write waits
    on it; the backend that waits is the one terminated, then the lock is let go."""
    async with AsyncClient(database_url=postgres_url, worker=False) as client:
        store = await client.store()
        assistant_id = await make_assistant(client, tools=False)
        worker = workers.start(postgres_url, fake_model)
        key = "answered while the connection is cut"  # hold armed before the run is queued
        hold = fake_model.hold(key)
        run = await queue_run(client, assistant_id, key)
        await hold.wait()
        async with _row_locked(postgres_url, run.run_id) as locker:
            hold.release()  # the answer streams; opening the message waits on the lock

            async def blocked() -> list[int]:
                rows = await locker.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                    locker.get_server_pid(),
                )
                return [r["pid"] for r in rows]

            await until(lambda: _nonempty(blocked()))
            for pid in await blocked():
                await locker.execute("SELECT pg_terminate_backend($1)", pid)
        await worker.logged("run_interrupted", timeout=10)
        final = await wait_status(client, run.run_id, ("completed", "failed"), timeout=15)
        row = await store.runs.row(run.run_id)
        assert row is not None
        assert final == "completed", row["last_error"]
        assert worker.terminate() == 0


async def _nonempty(pids: Awaitable[list[int]]) -> bool:
    return bool(await pids)


@contextlib.asynccontextmanager
async def _row_locked(postgres_url: str, run_id: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold the run's row lock (another session's `FOR UPDATE`) until the block ends."""
    locker = await asyncpg.connect("postgresql://" + postgres_url.split("://", 1)[1])
    try:
        locking = locker.transaction()
        await locking.start()
        await locker.execute("SELECT 1 FROM runs WHERE id = $1 FOR UPDATE", run_id)
        yield locker
        await locking.rollback()
    finally:
        await locker.close()


async def test_statement_timeout_during_a_write__the_run_is_resumed(
    postgres_url: str, fake_model: FakeModel, workers: Workers
) -> None:
    """The worker's database has a `statement_timeout`; a run's write waits past it (here on a
    row lock this test holds) and is cancelled by the server. That is the database failing, not
    the run: it is re-queued (or, if that write times out too, its lease lapses) and completes,
    with its answer written once."""
    async with AsyncClient(database_url=postgres_url, worker=False) as client:
        store = await client.store()
        assistant_id = await make_assistant(client, tools=False)
        sep = "&" if "?" in postgres_url else "?"
        worker = workers.start(f"{postgres_url}{sep}statement_timeout=500", fake_model)
        key = "answered while its row is locked"  # hold armed before the run is queued
        hold = fake_model.hold(key)
        run = await queue_run(client, assistant_id, key)
        await hold.wait()
        async with _row_locked(postgres_url, run.run_id):
            hold.release()  # the answer streams; its write waits on the lock, then times out
            await worker.logged("run_interrupted", timeout=15)
        final = await wait_status(client, run.run_id, ("completed", "failed"), timeout=15)
        row = await store.runs.row(run.run_id)
        assert row is not None
        assert final == "completed", row["last_error"]
        messages = await client.threads.messages.list(run.thread_id, run_id=run.run_id)
        assert [m.role for m in messages.data] == ["assistant"]
        assert "QueryCanceledError" in str(
            next(e for e in worker.events() if e.get("event") == "run_interrupted")
        )
        assert worker.terminate() == 0
