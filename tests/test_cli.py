"""The `assistants` command: schema upgrade, and a worker process sharing a database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio

from assistants import AsyncClient
from store.migrate import latest_version

CLI = [sys.executable, "-m", "assistants.cli"]


def test_db_upgrade__creates_the_schema_then_is_idempotent(tmp_path: Path) -> None:
    """`db upgrade` says it upgraded from 0 to N, then that it is already at version N."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    said = []
    for _ in range(2):
        result = subprocess.run(
            [*CLI, "db", "upgrade", "--database-url", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        said.append(result.stdout.strip())
    path = tmp_path / "a.db"
    assert said == [
        f"{path}: upgraded from schema version 0 to {latest_version()}",
        f"{path}: already at schema version {latest_version()}",
    ]


def test_worker__refuses_a_database_without_the_schema(tmp_path: Path) -> None:
    """A worker pointed at an empty database exits 2 and names `assistants db upgrade`."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = subprocess.run(
        [*CLI, "worker", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "assistants db upgrade" in result.stderr


async def test_worker_process__executes_runs_created_elsewhere_and_stops_on_sigterm(
    tmp_path: Path, anyio_backend: str
) -> None:
    """A run queued by a client with no worker is executed by a separate worker process."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    env = {**os.environ, "ASSISTANTS_POLL_SECONDS": "0.05"}
    async with AsyncClient(database_url=url, worker=False) as client:
        assistant = await client.assistants.create(model="test")
        thread = await client.threads.create(messages=[{"role": "user", "content": "from afar"}])
        process = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the worker runs beside)
            [*CLI, "--log-json", "worker", "--database-url", url, "--worker-id", "w-1"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            with anyio.fail_after(30):
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
                )
            assert run.status == "completed"
            message = (await client.threads.messages.list(thread.id, run_id=run.id)).data[0]
            assert "from afar" in message.content[0].text.value  # type: ignore[union-attr]
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert '"worker_stopped"' in stderr
        assert "w-1:" in stderr
