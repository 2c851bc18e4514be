"""The sync `Client` is as precisely typed as `AsyncClient`, from one generated module."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

USER_CODE = """\
from assistants import AssistantEventHandler, AsyncAssistantEventHandler, AsyncClient, Client


class Printer(AssistantEventHandler):
    def on_text_delta(self, delta: object, snapshot: object) -> None:
        print(delta)


def sync_app(client: Client) -> str:
    with client.beta.threads.runs.stream(
        thread_id="thread_x", assistant_id="asst_x", event_handler=Printer()
    ) as stream:
        stream.until_done()
    client.beta.threads.runs.create("thread_x", assistant_id="asst_x")  # KEYWORD
    run = client.beta.threads.runs.create_and_poll(thread_id="thread_x", assistant_id="asst_x")
    page = client.beta.threads.messages.list("thread_x")
    for message in page:
        print(message.role)
    return run.status  # ATTRIBUTE


async def async_app(client: AsyncClient) -> str:
    async with client.beta.threads.runs.stream(
        thread_id="thread_x", assistant_id="asst_x", event_handler=AsyncAssistantEventHandler()
    ) as stream:
        await stream.until_done()
    await client.beta.threads.runs.create("thread_x", assistant_id="asst_x")  # KEYWORD
    run = await client.beta.threads.runs.retrieve("run_x", thread_id="thread_x")
    return run.status  # ATTRIBUTE


def sync_completion(client: Client) -> object:
    return client.chat.completions.create(
        model="test", messages=[{"role": "user", "content": "x"}], tags=["a"], user_id="u",
        session_id="s", trace_id="tr_x", span_id="sp_x", parent_span_id="sp_y",
        metadata={"k": "v"}, send_trace=True, store_content=False, group_id="g",
    ).span_id


async def async_completion(client: AsyncClient) -> object:
    answer = await client.chat.completions.create(
        model="test", messages=[{"role": "user", "content": "x"}], tags=["a"], user_id="u",
        session_id="s", trace_id="tr_x", span_id="sp_x", parent_span_id="sp_y",
        metadata={"k": "v"}, send_trace=True, store_content=False, group_id="g",
    )
    return answer.span_id
"""


def _gen_sync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_sync", ROOT / "scripts" / "gen_sync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mypy(tmp_path: Path, source: str) -> tuple[int, str]:
    (tmp_path / "app.py").write_text(source)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "app.py",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=550,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _lines(source: str, marker: str) -> set[int]:
    return {n for n, line in enumerate(source.splitlines(), 1) if line.endswith(f"# {marker}")}


def _misspelt(source: str) -> str:
    """The same code with `assistant_idd=` on the marked calls and `.statuss` on marked reads."""
    lines = []
    for line in source.splitlines(keepends=True):
        if line.endswith("# KEYWORD\n"):
            lines.append(line.replace("assistant_id=", "assistant_idd="))
        elif line.endswith("# ATTRIBUTE\n"):
            lines.append(line.replace(".status ", ".statuss "))
        else:
            lines.append(line)
    return "".join(lines)


def test_generated_sync_module__matches_the_async_resources() -> None:
    """Regenerating `assistants/_sync_generated.py` from the async resources changes nothing."""
    expected = _gen_sync().generate()
    checked_in = (ROOT / "assistants" / "_sync_generated.py").read_text()
    assert checked_in == expected, "out of date: run `python scripts/gen_sync.py`"


@pytest.mark.timeout(600)
def test_mypy__reports_a_misspelt_keyword_and_attribute_on_both_clients(tmp_path: Path) -> None:
    """mypy --strict on user code flags `assistant_idd=` and `run.statuss` on Client and AsyncClient,
    and passes the same code spelt right (chat completions' trace fields included)."""
    bad = _misspelt(USER_CODE)
    status, output = _mypy(tmp_path, USER_CODE)
    assert (status, output) == (0, "")
    assert bad != USER_CODE

    status, output = _mypy(tmp_path, bad)
    errors: dict[int, list[str]] = {}
    for reported in output.splitlines():
        match = re.match(r"app\.py:(\d+): error: (.*)", reported)
        if match:
            errors.setdefault(int(match[1]), []).append(match[2])
    assert status == 1, output
    keyword_lines = _lines(bad, "KEYWORD")
    attribute_lines = _lines(bad, "ATTRIBUTE")
    assert keyword_lines
    assert attribute_lines
    assert set(errors) == keyword_lines | attribute_lines, output
    for line in keyword_lines:
        assert any('No overload variant of "create"' in e for e in errors[line]), output
    for line in attribute_lines:
        assert '"Run" has no attribute "statuss"; maybe "status"?  [attr-defined]' in errors[line]
