"""Fixtures for the local_llm tier: a real llama-server, built from source, on a generated model.

The binary is `$ASSISTANTS_LLAMA_SERVER`, else the one `scripts/build_llama_server.sh` leaves in
its cache (`${ASSISTANTS_LLAMA_CACHE:-~/.cache/assistants-llama}/<version>/llama-server`). Without
either, every test here skips and says how to build it. One server serves the whole session: it
loads `tiny_model.write_tiny_model`'s output, listens on a free port on 127.0.0.1, and is stopped
at the end (terminate, then kill).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.local_llm.tiny_model import write_tiny_model

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build_llama_server.sh"
NOT_BUILT = "llama-server not built: run scripts/build_llama_server.sh"
START_TIMEOUT = 60.0  # seconds for the server to load the model and answer /health
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class LlamaServer:
    """A running llama-server: its OpenAI-compatible base URL and its log file."""

    base_url: str  # ends in /v1
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def pinned_version() -> str:
    """The llama-cpp-python version the build script pins (its cache directory's name)."""
    match = re.search(r'^LLAMA_CPP_PYTHON_VERSION="([^"]+)"', BUILD_SCRIPT.read_text(), re.M)
    assert match is not None, f"no LLAMA_CPP_PYTHON_VERSION in {BUILD_SCRIPT}"
    return match.group(1)


def find_llama_server() -> Path | None:
    """`$ASSISTANTS_LLAMA_SERVER`, else the build script's cached binary, if it is there."""
    explicit = os.environ.get("ASSISTANTS_LLAMA_SERVER")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("ASSISTANTS_LLAMA_CACHE") or str(
        Path.home() / ".cache" / "assistants-llama"
    )
    binary = Path(cache) / pinned_version() / "llama-server"
    return binary if os.access(binary, os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll `/health` until it answers 200 (it is 503 while the model loads), within a deadline."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"llama-server exited with {process.returncode} while starting:\n{tail}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"llama-server did not become healthy within {START_TIMEOUT:.0f} s:\n{tail}")


@pytest.fixture(scope="session")
def llama_server_binary() -> Path:
    binary = find_llama_server()
    if binary is None:
        pytest.skip(NOT_BUILT)
    if not os.access(binary, os.X_OK):  # named explicitly, so a mistake is an error, not a skip
        pytest.fail(f"ASSISTANTS_LLAMA_SERVER={binary} is not an executable file")
    return binary


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.gguf")


@pytest.fixture(scope="session")
def llama_server(
    llama_server_binary: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        str(llama_server_binary),
        "--model", str(tiny_model),
        "--alias", "tiny",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--ctx-size", "1024",
        "--parallel", "1",
        "--threads", "1",
        "--batch-size", "256",
        "--n-predict", "256",  # a forced call takes about 60 tokens; a runaway stops here
        "--jinja",
        "--no-warmup",
        "--seed", "0",
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(process, url, log)
        yield LlamaServer(base_url=f"{url}/v1", log=log)
    finally:
        _stop(process)
