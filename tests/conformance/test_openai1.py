"""The openai 1.x line against a real server: `openai1/run_openai1.py` in its own interpreter.

The 1.x SDK cannot share the project's virtualenv (which pins 3.x), so it lives in a separate
one named by `ASSISTANTS_OPENAI1_PYTHON` (see the README of CI):

    python3 -m venv .venv-openai1
    .venv-openai1/bin/pip install 'openai<2' httpx
    ASSISTANTS_OPENAI1_PYTHON=.venv-openai1/bin/python pytest tests/conformance/test_openai1.py
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conformance.conftest import LiveServer

SCRIPT = Path(__file__).parent / "openai1" / "run_openai1.py"
SCRIPT_TIMEOUT = 60


def _interpreter() -> str:
    python = os.environ.get("ASSISTANTS_OPENAI1_PYTHON")
    if not python:
        pytest.skip(
            "ASSISTANTS_OPENAI1_PYTHON is not set (a Python with openai<2 installed, e.g. "
            "python3 -m venv .venv-openai1 && .venv-openai1/bin/pip install 'openai<2' httpx)"
        )
    if not Path(python).is_file():
        pytest.skip(f"ASSISTANTS_OPENAI1_PYTHON={python} does not exist")
    return python


@pytest.mark.timeout(SCRIPT_TIMEOUT + 30)
def test_openai_1x_sdk(live_server: LiveServer) -> None:
    """openai 1.x: create_and_poll with a tool, a handler stream, pagination and a 400."""
    python = _interpreter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [python, str(SCRIPT), live_server.base_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    first = done.stdout.splitlines()[0] if done.stdout else ""
    assert first.startswith("openai 1."), f"not the 1.x SDK: {first!r}\n{output}"
    assert done.returncode == 0, output
    assert "all checks passed" in done.stdout
