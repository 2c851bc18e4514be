"""`assistants serve` / `worker` as a person meets them: start-up, errors, access log, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from store.migrate import latest_version
from tests.faults.fakemodel import FakeModel

CLI = [sys.executable, "-m", "assistants.cli"]
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANTS_")}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


class Process:
    """A CLI process whose stderr is collected line by line; `wait_for` blocks on a line."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [*CLI, *args], cwd=cwd, env=env, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")  # end of output
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> str:
        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or "" in self.lines, timeout)
            line = found()
        assert line is not None, f"{text!r} never logged:\n{self.output}"
        return line

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.finish(timeout)

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in started:
            process.kill()


def _serve(
    processes: list[Process], cwd: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[Process, str]:
    port = _free_port()
    process = Process(["serve", "--port", str(port), *args], cwd, env or _env())
    processes.append(process)
    process.wait_for("server_started")
    return process, f"http://127.0.0.1:{port}"


def _cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a person reads: exit 2, one `assistants:` line, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("assistants: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- start-up -------------------------------------------------------------------------------


def test_serve__says_where_data_lives_what_it_serves_and_how_to_stop(
    tmp_path: Path, processes: list[Process]
) -> None:
    """The start-up line names the absolute SQLite path, aliases, keyed providers, URL, Ctrl-C."""
    env = _env(OPENAI_API_KEY="sk-secret-value-1", ANTHROPIC_API_KEY="")
    process, base = _serve(processes, tmp_path, "--model-alias", "gpt-4o=test", env=env)
    line = process.wait_for("server_started")
    assert str(tmp_path / "assistants.db") in line
    assert f"{base}/v1" in line
    assert "gpt-4o" in line
    assert "'openai'" in line
    assert "anthropic" not in line
    assert "Ctrl-C to stop" in line
    assert process.stop() == 0
    assert "sk-secret-value-1" not in process.output


def test_serve__logs_one_access_line_per_request_without_the_key(
    tmp_path: Path, processes: list[Process]
) -> None:
    """Each request logs method, path, status, duration, request id and project; never the key."""
    process, base = _serve(processes, tmp_path, "--api-key", "sk-team-a=team-a")
    response = httpx.get(
        f"{base}/v1/assistants?limit=2", headers={"Authorization": "Bearer sk-team-a"}
    )
    assert response.status_code == 200
    line = process.wait_for("path=/v1/assistants")
    assert "method=GET" in line
    assert "status=200" in line
    assert "duration_ms=" in line
    assert f"request_id={response.headers['x-request-id']}" in line
    assert "project=team-a" in line
    assert "limit" not in line  # no query string
    assert process.stop() == 0
    assert "sk-team-a" not in process.output.replace("sk-team-a=team-a", "")


def test_serve_and_worker__freeze_the_start_up_heap_once_started(
    tmp_path: Path, processes: list[Process]
) -> None:
    """Both long-running commands take start-up's objects out of the collector's full passes."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'frozen.db'}"
    server, _ = _serve(processes, tmp_path, "--log-level", "debug", "--database-url", url)
    worker = Process(["worker", "--log-level", "debug", "--database-url", url], tmp_path, _env())
    processes.append(worker)
    for process, ready in ((server, "server_started"), (worker, "worker_ready")):
        process.wait_for(ready)
        frozen = re.search(r"startup_heap_frozen.*objects=(\d+)", process.output)
        assert frozen is not None, process.output
        assert int(frozen.group(1)) > 10_000  # every imported library's objects
        assert process.output.index("startup_heap_frozen") < process.output.index(ready)
        assert process.stop() == 0


def test_version__prints_the_package_version(tmp_path: Path) -> None:
    """`assistants --version` prints the installed version."""
    from importlib.metadata import version

    result = _cli(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"assistants {version('assistants-runtime')}"


def test_serve_help__shows_host_and_port_defaults(tmp_path: Path) -> None:
    """`serve --help` shows what --host and --port default to."""
    result = _cli(["serve", "--help"], tmp_path)
    assert result.returncode == 0
    assert "(default: 127.0.0.1)" in result.stdout
    assert "(default: 8000)" in result.stdout


def test_log_level__is_accepted_after_the_subcommand(tmp_path: Path) -> None:
    """`assistants db upgrade --log-level warning` works as well as before the subcommand."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    result = _cli(["db", "upgrade", "--log-level", "warning", "--database-url", url], tmp_path)
    assert result.returncode == 0, result.stderr


# --- start-up errors ------------------------------------------------------------------------


def test_serve__port_in_use_is_one_line(tmp_path: Path) -> None:
    """A busy port: one line naming the port and --port, exit 2."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _one_line_error(_cli(["serve", "--port", str(port)], tmp_path))
    assert f"Port {port} on 127.0.0.1 is already in use" in line
    assert "--port" in line


def test_serve__without_the_server_extra_is_one_line(tmp_path: Path) -> None:
    """uvicorn not importable (the `server` extra missing): one line naming the extra."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "uvicorn.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'uvicorn'\", name='uvicorn')\n"
    )
    env = _env(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    line = _one_line_error(_cli(["serve", "--port", str(_free_port())], tmp_path, env))
    assert "needs the 'server' extra (uvicorn is not installed)" in line
    assert "pip install 'assistants-runtime[server]'" in line


def test_serve__postgres_without_asyncpg_is_one_line(tmp_path: Path) -> None:
    """A Postgres URL with asyncpg not importable: one line naming the `postgres` extra."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "asyncpg.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'asyncpg'\", name='asyncpg')\n"
    )
    env = _env(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    url = "postgresql+asyncpg://postgres@127.0.0.1/test"
    line = _one_line_error(
        _cli(["serve", "--port", str(_free_port()), "--database-url", url], tmp_path, env)
    )
    assert "pip install 'assistants-runtime[postgres]'" in line


def test_serve__unsupported_database_url_names_its_source(tmp_path: Path) -> None:
    """A bad URL from the environment: one line naming the variable and the accepted forms."""
    env = _env(ASSISTANTS_DATABASE_URL="mysql://db/app")
    line = _one_line_error(_cli(["serve", "--port", str(_free_port())], tmp_path, env))
    assert "Unsupported database URL 'mysql://db/app'" in line
    assert "(from ASSISTANTS_DATABASE_URL)" in line


def test_serve__unreachable_postgres_is_one_line_without_the_password(tmp_path: Path) -> None:
    """Nothing listening at the Postgres address: one line, the password not shown."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        url = f"postgresql+asyncpg://app:hunter2@127.0.0.1:{port}/app"
        result = _cli(["serve", "--port", str(_free_port()), "--database-url", url], tmp_path)
    line = _one_line_error(result)
    assert f"Cannot reach the database postgresql+asyncpg://app:***@127.0.0.1:{port}/app" in line
    assert "hunter2" not in result.stderr


def test_serve__unwritable_sqlite_path_is_one_line(tmp_path: Path) -> None:
    """A SQLite path under a regular file: one line naming the path and the fix."""
    (tmp_path / "file").write_text("not a directory")
    url = f"sqlite+aiosqlite:///{tmp_path / 'file' / 'a.db'}"
    line = _one_line_error(
        _cli(["serve", "--port", str(_free_port()), "--database-url", url], tmp_path)
    )
    assert f"Cannot open the SQLite database {tmp_path / 'file' / 'a.db'}" in line
    assert "writable path" in line


def _newer_schema(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    assert _cli(["db", "upgrade", "--database-url", url], path.parent).returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, 0)",
            (latest_version() + 1,),
        )
    return url


def test_serve__schema_too_new_is_one_line(tmp_path: Path) -> None:
    """A database from a newer release: one line saying to upgrade the package."""
    url = _newer_schema(tmp_path / "a.db")
    line = _one_line_error(
        _cli(["serve", "--port", str(_free_port()), "--database-url", url], tmp_path)
    )
    assert "newer than this release" in line
    assert "upgrade the assistants-runtime package" in line


def test_serve__traceback_flag_adds_the_traceback(tmp_path: Path) -> None:
    """With --traceback the same error comes with its traceback (still exit 2)."""
    url = _newer_schema(tmp_path / "a.db")
    result = _cli(
        ["serve", "--traceback", "--port", str(_free_port()), "--database-url", url], tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "newer than this release" in result.stderr.splitlines()[-1]


def test_worker__settings_file_error_names_the_file(tmp_path: Path) -> None:
    """An invalid value in the settings file: the error names the file and the field."""
    config = tmp_path / "conf.toml"
    config.write_text('poll_seconds = "often"\n')
    line = _one_line_error(_cli(["worker", "--config", str(config)], tmp_path))
    assert f"poll_seconds (from {config})" in line


def test_worker__settings_env_error_names_the_variable(tmp_path: Path) -> None:
    """An invalid value in the environment: the error names the variable."""
    env = _env(ASSISTANTS_LEASE_SECONDS="-1")
    line = _one_line_error(_cli(["worker"], tmp_path, env))
    assert "lease_seconds (from ASSISTANTS_LEASE_SECONDS)" in line


# --- serve + worker -------------------------------------------------------------------------


def test_serve_no_worker_and_a_worker__share_model_aliases_by_flags(
    tmp_path: Path, processes: list[Process]
) -> None:
    """`serve --no-worker --model-alias gpt-4o=test` + `worker` with it: a gpt-4o run completes."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    _, base = _serve(
        processes, tmp_path, "--no-worker", "--model-alias", "gpt-4o=test", "--database-url", url
    )
    worker = Process(
        ["worker", "--model-alias", "gpt-4o=test", "--database-url", url],
        tmp_path,
        _env(ASSISTANTS_POLL_SECONDS="0.05"),
    )
    processes.append(worker)
    worker.wait_for("worker_ready")
    with httpx.Client(base_url=f"{base}/v1", timeout=30) as http:
        assistant = http.post("/assistants", json={"model": "gpt-4o"}).json()
        thread = http.post(
            "/threads", json={"messages": [{"role": "user", "content": "aliased"}]}
        ).json()
        run = http.post(f"/threads/{thread['id']}/runs", json={"assistant_id": assistant["id"]})
        run_id = run.json()["id"]
        worker.wait_for(f"run_id={run_id} status=completed")
        done = http.get(f"/threads/{thread['id']}/runs/{run_id}").json()
    assert done["status"] == "completed"
    assert done["model"] == "gpt-4o"
    assert worker.stop() == 0


def test_serve_and_worker__embedding_model_flags_make_search_find_by_meaning(
    tmp_path: Path, processes: list[Process]
) -> None:
    """`--embedding-model` with `--endpoint` on `serve --no-worker` and on `worker`: the worker
    embeds the file, the server embeds the query, and a query sharing no word with the file
    finds it over HTTP."""
    from tests.files.embedserver import EmbeddingServer

    embeddings = EmbeddingServer()
    try:
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        flags = ["--embedding-model", "emb/hash-64", "--endpoint", f"emb={embeddings.base_url}/v1"]
        server, base = _serve(processes, tmp_path, "--no-worker", *flags, "--database-url", url)
        assert "lexical + vector: emb/hash-64" in server.wait_for("server_started")
        worker = Process(
            ["worker", *flags, "--database-url", url],
            tmp_path,
            _env(ASSISTANTS_POLL_SECONDS="0.05"),
        )
        processes.append(worker)
        assert "lexical + vector: emb/hash-64" in worker.wait_for("worker_ready")
        with httpx.Client(base_url=f"{base}/v1", timeout=30) as http:
            text = b"Fixing a car engine takes a mechanic."
            uploaded = http.post(
                "/files", files={"file": ("cars.txt", text)}, data={"purpose": "assistants"}
            ).json()
            store = http.post("/vector_stores", json={"file_ids": [uploaded["id"]]}).json()
            worker.wait_for(f"chunks=1 file_id={uploaded['id']}")
            found = http.post(
                f"/vector_stores/{store['id']}/search", json={"query": "automobile mend"}
            ).json()
        assert [r["file_id"] for r in found["data"]] == [uploaded["id"]]
        assert [p for p, _ in embeddings.requests] == ["/v1/embeddings", "/v1/embeddings"]
        assert worker.stop() == 0
    finally:
        embeddings.close()


# --- Ctrl-C ---------------------------------------------------------------------------------


def _stream_held_run(
    processes: list[Process], tmp_path: Path, fake: FakeModel, key: str, grace: int
) -> tuple[Process, threading.Thread, list[str]]:
    """A server streaming a run whose model call is held after two chunks."""
    env = _env(OLLAMA_BASE_URL=fake.base_url, ASSISTANTS_STOP_GRACE_SECONDS=str(grace))
    process, base = _serve(processes, tmp_path, env=env)
    http = httpx.Client(base_url=f"{base}/v1", timeout=60)
    assistant = http.post("/assistants", json={"model": "ollama/fake"}).json()
    thread = http.post("/threads", json={"messages": [{"role": "user", "content": key}]}).json()
    received: list[str] = []

    def stream() -> None:
        body = {"assistant_id": assistant["id"], "stream": True}
        try:
            with http.stream("POST", f"/threads/{thread['id']}/runs", json=body) as response:
                for line in response.iter_lines():
                    received.append(line)
        except httpx.RemoteProtocolError as exc:  # the connection was cut mid-response
            received.append(f"CUT: {exc}")
        finally:
            http.close()

    reader = threading.Thread(target=stream)
    reader.start()
    return process, reader, received


def test_ctrl_c__waits_for_the_run_and_ends_the_open_stream_cleanly(
    tmp_path: Path, processes: list[Process]
) -> None:
    """Ctrl-C with a streamed run in flight: says what it waits for; the stream ends; exit 0."""
    fake = FakeModel(chunks=4)
    try:
        hold = fake.hold("held stream", after_chunks=2)
        process, reader, received = _stream_held_run(
            processes, tmp_path, fake, "held stream", grace=1
        )
        assert hold.reached.wait(30)
        process.proc.send_signal(signal.SIGINT)
        process.wait_for("waiting up to 1s for 1 run to finish; Ctrl-C again to force")
        code = process.finish()  # never released: the grace period ends the stream
        reader.join(30)
    finally:
        fake.close()
    assert code == 0, process.output
    assert not reader.is_alive()
    assert any("thread.message.delta" in line for line in received)
    assert not any(line.startswith("CUT") for line in received), received
    assert "Exception in ASGI application" not in process.output
    assert "Traceback" not in process.output
    assert "streams_ended" in process.output


def test_ctrl_c_twice__exits_at_once_saying_so(tmp_path: Path, processes: list[Process]) -> None:
    """A second Ctrl-C during the grace period exits at once (130) with one line saying so."""
    fake = FakeModel(chunks=4)
    try:
        hold = fake.hold("forced stop", after_chunks=2)
        process, reader, _ = _stream_held_run(processes, tmp_path, fake, "forced stop", grace=60)
        assert hold.reached.wait(30)
        process.proc.send_signal(signal.SIGINT)
        process.wait_for("waiting up to 60s for 1 run to finish; Ctrl-C again to force")
        process.proc.send_signal(signal.SIGINT)  # well within the 60 s grace period
        code = process.finish()
    finally:
        fake.close()
    reader.join(30)
    assert code == 130
    assert "assistants: forced stop; 1 unfinished run will be retried" in process.output
