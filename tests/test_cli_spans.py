"""`assistants spans`, `assistants trace` and `assistants spans prune`, as a terminal shows them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from assistants import AsyncClient
from tests.helpers import tool_round_trip

CLI = [sys.executable, "-m", "assistants.cli"]
pytestmark = pytest.mark.timeout(120)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, check=False)


async def _traced_run(url: str) -> str:
    async with AsyncClient(
        database_url=url, poll_seconds=0.05, prices={"test": {"prompt": 1, "completion": 3}}
    ) as client:
        run = await tool_round_trip(client, "dry", prompt="Rain?", tags=["cli"])
        assert run.trace_id is not None
        return run.trace_id


def test_spans_and_trace__table_and_tree(tmp_path: Path) -> None:
    """`spans` lists the run's four spans; `trace` draws the tree with tokens and cost."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    trace_id = anyio.run(_traced_run, url)
    listed = _cli("spans", "--database-url", url, "--tag", "cli")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0].split()[:5] == ["STARTED", "SPAN", "KIND", "NAME", "STATUS"]
    assert sorted(line.split()[3] for line in lines[1:]) == ["model", "model", "run", "tool"]
    assert all(trace_id in line for line in lines[1:])
    tree = _cli("trace", trace_id, "--database-url", url)
    assert tree.returncode == 0, tree.stderr
    out = tree.stdout.splitlines()
    assert out[0].startswith(f"{trace_id}  4 spans")
    assert "cost $" in out[0]
    assert out[1].startswith("└─ run invoke_agent asst_")
    assert "completed" in out[1]
    assert [line.split()[1] for line in out[2:]] == ["model", "tool", "model"]
    assert out[-1].startswith("   └─ model chat test")
    assert "tokens " in out[-1]
    assert "cost $" in out[-1]


def test_prune__removes_old_spans_and_refuses_bad_ages(tmp_path: Path) -> None:
    """`spans prune --older-than` deletes what started earlier; a bad age or id is exit 2."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    trace_id = anyio.run(_traced_run, url)
    kept = _cli("spans", "prune", "--older-than", "1d", "--database-url", url)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("pruned 0 span(s)")
    gone = _cli("spans", "prune", "--older-than", "0s", "--database-url", url)
    assert gone.stdout.startswith("pruned 4 span(s)")
    assert _cli("spans", "--database-url", url).stdout.strip() == "no spans"
    bad = _cli("spans", "prune", "--older-than", "soon", "--database-url", url)
    assert bad.returncode == 2
    assert "--older-than 'soon' is not a duration" in bad.stderr
    missing = _cli("trace", trace_id, "--database-url", url)
    assert missing.returncode == 2
    assert f"No trace found with id '{trace_id}'" in missing.stderr
    malformed = _cli("trace", "tr_1", "--database-url", url)
    assert malformed.returncode == 2
    assert "Expected 'tr_' followed by 32" in malformed.stderr
