"""A fresh checkout behaves for a newcomer: no Postgres configured means skips, not errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pytest_without_postgres__reports_postgres_cases_as_skips() -> None:
    """Without ASSISTANTS_TEST_POSTGRES_URL, Postgres cases (even in task groups) are skips."""
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANTS_TEST_POSTGRES_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/faults/test_random_kills.py",
            "tests/faults/test_crash.py",
            "tests/store/test_migrations.py",
            "-k",
            "postgres",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "INTERNALERROR" not in output
    assert "error" not in output.splitlines()[-1], output
    assert "ASSISTANTS_TEST_POSTGRES_URL is not set" in output
