"""API keys: project ids keyed with a server secret kept outside the database, the move of data
written under the old unkeyed ids, where the secret comes from, and keys from a file or the
environment rather than the command line.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from assistants import AsyncClient
from assistants.server.auth import KeyRing, legacy_project_of, load_secret, project_of
from store.errors import ConfigurationError
from store.store import Store
from tests.conformance.conftest import TEST_SECRET, LiveServer

CLI = [sys.executable, "-m", "assistants.cli"]
SECRET = "s" * 40


def test_project_id__keyed_by_the_secret_not_the_key_alone() -> None:
    """A key's project id is not the unsalted hash of the key, and changes with the secret."""
    ring = KeyRing(["sk-weak"], secret=b"a" * 40)
    project = ring.project_for("Bearer sk-weak")
    assert project == project_of("sk-weak", b"a" * 40)
    assert project != legacy_project_of("sk-weak")
    assert project != project_of("sk-weak", b"b" * 40)
    assert ring.legacy_moves == {legacy_project_of("sk-weak"): project}


def test_key_without_project__needs_a_secret() -> None:
    """A key whose project is derived cannot be configured without a secret; KEY=PROJECT can."""
    with pytest.raises(ConfigurationError, match="secret"):
        KeyRing(["sk-a"])
    ring = KeyRing(["sk-a=team-a"])
    assert ring.project_for("Bearer sk-a") == "team-a"
    assert ring.legacy_moves == {}


# --- data written under the old ids ----------------------------------------------------------


def test_database_of_the_old_scheme__each_key_still_sees_its_objects(
    any_database_url: str,
) -> None:
    """Objects stored under a key's old project id are its own after a restart, on both backends;
    the move runs once (a second start moves nothing) and leaves other projects alone."""
    old = legacy_project_of("sk-old")

    def client() -> AsyncClient:
        return AsyncClient(database_url=any_database_url, poll_seconds=0.05, sweep_seconds=0.05)

    # The old scheme, reproduced: the project id was the unsalted hash of the key.
    with LiveServer(client(), keys=[f"sk-old={old}", "sk-b=b"]) as before:
        sdk = before.sdk("sk-old")
        assistant = sdk.beta.assistants.create(model="test", name="mine")
        run = sdk.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "hello"}]},
            poll_interval_ms=20,
        )
        assert run.status == "completed"
        other = before.sdk("sk-b").beta.assistants.create(model="test", name="theirs")
    for _ in range(2):
        with LiveServer(client(), keys=["sk-old", "sk-b=b"]) as after:
            sdk = after.sdk("sk-old")
            assert [a.id for a in sdk.beta.assistants.list().data] == [assistant.id]
            assert sdk.beta.threads.retrieve(run.thread_id).id == run.thread_id
            messages = sdk.beta.threads.messages.list(run.thread_id).data
            assert len(messages) == 2
            assert sdk.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id).id == run.id
            steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id).data
            assert len(steps) == 1
            assert [a.id for a in after.sdk("sk-b").beta.assistants.list().data] == [other.id]

    async def moved_again() -> int:
        store = await Store.open(any_database_url)
        try:
            return await store.move_projects({old: project_of("sk-old", TEST_SECRET)})
        finally:
            await store.close()

    assert anyio.run(moved_again) == 0


# --- where the secret comes from ---------------------------------------------------------------


def test_sqlite_secret__created_0600_next_to_the_database_and_reused(tmp_path: Path) -> None:
    """On a SQLite file, a random secret is made once beside the database, readable by its owner
    only, and read back on the next start."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    first = load_secret(url, env={})
    path = tmp_path / "a.db.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(url, env={}) == first
    assert len(first) >= 32


def test_secret_from_the_environment__wins(tmp_path: Path) -> None:
    """ASSISTANTS_SECRET is used as given, on SQLite and Postgres, and no file is made."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    assert load_secret(url, env={"ASSISTANTS_SECRET": SECRET}) == SECRET.encode()
    assert not (tmp_path / "a.db.secret").exists()
    pg = "postgresql+asyncpg://u@db/x"
    assert load_secret(pg, env={"ASSISTANTS_SECRET": SECRET}) == SECRET.encode()


def test_short_secret__refused(tmp_path: Path) -> None:
    """A secret shorter than 32 characters is a configuration error, from either source."""
    with pytest.raises(ConfigurationError, match="too short"):
        load_secret("sqlite+aiosqlite:///:memory:", env={"ASSISTANTS_SECRET": "short"})
    short = tmp_path / "short.secret"
    short.write_text("short\n")
    with pytest.raises(ConfigurationError, match="too short"):
        load_secret("sqlite+aiosqlite:///:memory:", secret_file=short, env={})


def test_postgres_without_secret__refused_naming_the_options(tmp_path: Path) -> None:
    """Postgres servers share one secret: none configured, or a missing file, fails start-up."""
    pg = "postgresql+asyncpg://u@db/x"
    with pytest.raises(ConfigurationError, match="ASSISTANTS_SECRET"):
        load_secret(pg, env={})
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_secret(pg, secret_file=tmp_path / "missing", env={})
    given = tmp_path / "given"
    given.write_text(SECRET + "\n")
    assert load_secret(pg, secret_file=given, env={}) == SECRET.encode()


def test_memory_database__fresh_secret_per_process() -> None:
    """In-memory SQLite keeps nothing: a random secret, different each time, no file."""
    url = "sqlite+aiosqlite:///:memory:"
    assert load_secret(url, env={}) != load_secret(url, env={})


# --- the command line ------------------------------------------------------------------------


def test_cli__postgres_keys_without_secret_exit_2(tmp_path: Path) -> None:
    """`assistants serve` with keys on Postgres and no secret exits 2 before listening."""
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANTS_SECRET"}
    env["ASSISTANTS_API_KEYS"] = "sk-env"
    result = subprocess.run(
        [*CLI, "serve", "--database-url", "postgresql+asyncpg://u@127.0.0.1:1/x"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "ASSISTANTS_SECRET" in result.stderr
    assert "sk-env" not in result.stderr


def test_cli__unreadable_keys_file_exit_2(tmp_path: Path) -> None:
    """A keys file that cannot be read is a clear start-up error."""
    result = subprocess.run(
        [*CLI, "serve", "--api-keys-file", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Cannot read the API keys file" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli__keys_from_file_env_and_argv__warns_for_argv_only(tmp_path: Path) -> None:
    """Keys come from --api-keys-file, ASSISTANTS_API_KEYS and --api-key; only the last logs a
    warning (the process list shows it), no key is ever logged, and the SQLite secret file is
    created 0600 beside the database."""
    keys_file = tmp_path / "keys"
    keys_file.write_text("# team keys\nsk-file\n\nsk-named=team\n")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANTS_SECRET"}
    env["ASSISTANTS_API_KEYS"] = "sk-env"
    database = tmp_path / "served.db"
    process = subprocess.Popen(
        [
            *CLI,
            "--log-json",
            "serve",
            "--port",
            str(port),
            "--no-worker",
            "--database-url",
            f"sqlite+aiosqlite:///{database}",
            "--api-keys-file",
            str(keys_file),
            "--api-key",
            "sk-argv",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if '"server_started"' in line:
                break
        base = f"http://127.0.0.1:{port}/v1"
        threads = []
        for key in ("sk-file", "sk-named", "sk-env", "sk-argv"):
            auth = {"authorization": f"Bearer {key}"}
            created = httpx.post(f"{base}/threads", json={}, headers=auth)
            assert created.status_code == 200, created.text
            threads.append(created.json()["id"])
            for thread in threads[:-1]:  # each key is a project of its own
                assert httpx.get(f"{base}/threads/{thread}", headers=auth).status_code == 404
        assert httpx.get(f"{base}/assistants", headers={"authorization": "Bearer x"}).is_error
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    log = "".join(lines) + rest
    assert process.returncode == 0, log
    assert '"api_keys_on_command_line"' in log
    for key in ("sk-file", "sk-named", "sk-env", "sk-argv"):
        assert key not in log
    secret = Path(f"{database}.secret")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
