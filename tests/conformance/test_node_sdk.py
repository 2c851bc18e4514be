"""The unmodified openai Node SDK (7.x) against a real server: `node/conformance.mjs`.

Needs `node` on PATH and the pinned SDK installed: `cd tests/conformance/node && npm ci`.
Each section of the script runs as its own test, against one server for the module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistants import AsyncClient
from tests.conformance.conftest import LiveServer

NODE_DIR = Path(__file__).parent / "node"
SCRIPT_TIMEOUT = 60


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the Node SDK conformance run needs Node.js)")
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        pytest.skip(f"the Node SDK is not installed: run `npm ci` in {NODE_DIR}")
    return node


@pytest.fixture(scope="module")
def node_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _node()
    client = AsyncClient(
        database_url=f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('node') / 'server.db'}",
        poll_seconds=0.05,
        sweep_seconds=0.05,
    )
    with LiveServer(client) as server:
        yield server


@pytest.mark.timeout(SCRIPT_TIMEOUT + 30)
@pytest.mark.parametrize(
    "section",
    [
        "polling",
        "streaming",
        "pagination",
        "errors",
        "chat",
    ],
)
def test_node_sdk_conformance(node_server: LiveServer, section: str) -> None:
    """One section of conformance.mjs: polling, AssistantStream, auto-pagination, errors, chat
    completions."""
    env = {
        **os.environ,
        "OPENAI_BASE_URL": node_server.base_url,
        "OPENAI_API_KEY": "sk-local",
        "NODE_NO_WARNINGS": "1",
    }
    try:
        done = subprocess.run(
            [_node(), "conformance.mjs", section],
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"node conformance.mjs {section} did not finish in {SCRIPT_TIMEOUT} s\n"
            f"--- stdout ---\n{exc.stdout!r}\n--- stderr ---\n{exc.stderr!r}"
        )
    assert done.returncode == 0, (
        f"node conformance.mjs {section} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    )
    assert "all checks passed" in done.stdout, done.stdout
