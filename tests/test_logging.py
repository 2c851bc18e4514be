"""Library code writes no output unless the app configures logging; secrets are redacted, counts not."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from assistants.logs import redact_secrets

CLIENT_RUN = """
from assistants import Client

client = Client(database_url="sqlite+aiosqlite:///:memory:")
assistant = client.beta.assistants.create(model="test")
thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
assert run.status == "completed", run.status
client.close()
"""


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_client_run__prints_nothing_when_the_app_configures_no_logging(tmp_path: Path) -> None:
    """An in-process Client run writes nothing on stdout or stderr."""
    result = _run(CLIENT_RUN, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")


def test_client_run__logs_to_stderr_once_the_app_configures_logging(tmp_path: Path) -> None:
    """With configure_logging("info") the run's events appear on stderr, stdout stays clean."""
    code = "from assistants.logs import configure_logging\nconfigure_logging('info')\n" + CLIENT_RUN
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "run_finished" in result.stderr
    assert "prompt_tokens=" in result.stderr
    assert "prompt_tokens='***'" not in result.stderr


def test_client_run__reaches_an_apps_stdlib_logging(tmp_path: Path) -> None:
    """An app that configures only stdlib logging receives the library's events there."""
    code = (
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(name)s|%(message)s')\n"
        + CLIENT_RUN
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "assistants.worker|" in result.stdout
    assert "run_finished" in result.stdout


FAILING = """
from store.log import get_logger

log = get_logger("assistants.server")


def handler():
    marker = "local-value-7f3a"
    return 1 / 0 if marker else 0


try:
    handler()
except ZeroDivisionError:
    log.exception("request_failed", path="/v1/x")
"""


@pytest.mark.parametrize(
    ("setup", "stream"),
    [
        (
            "import logging, sys\nlogging.basicConfig(stream=sys.stdout, format='%(message)s')\n",
            "stdout",
        ),
        ("from assistants.logs import configure_logging\nconfigure_logging('info')\n", "stderr"),
    ],
    ids=["stdlib-logging", "configure_logging"],
)
def test_logged_exception__plain_traceback_without_locals(
    tmp_path: Path, setup: str, stream: str
) -> None:
    """A logged exception is the plain traceback: the frames and the error, never the frames'
    local variables (structlog's default renders those with rich, at a second or more of event
    loop time per exception)."""
    result = _run(setup + FAILING, tmp_path)
    assert result.returncode == 0, result.stderr
    out = getattr(result, stream)
    assert "request_failed" in out
    assert "Traceback (most recent call last):" in out
    assert "ZeroDivisionError: division by zero" in out
    assert "local-value-7f3a" not in out
    assert "in handler" in out


@pytest.mark.parametrize(
    "key", ["api_key", "authorization", "access_token", "token", "client_secret", "password"]
)
def test_redact_secrets__hides_secret_values(key: str) -> None:
    """Keys that name a secret have their string value replaced with '***'."""
    event = redact_secrets(None, "info", {"event": "x", key: "sk-live-123"})
    assert event[key] == "***"


@pytest.mark.parametrize(
    "key", ["prompt_tokens", "completion_tokens", "total_tokens", "max_tokens", "token_count"]
)
def test_redact_secrets__keeps_token_counts(key: str) -> None:
    """Token counts are not secrets: their values are kept."""
    event = redact_secrets(None, "info", {"event": "x", key: 42})
    assert event[key] == 42


def test_redact_secrets__keeps_a_numeric_value_under_a_secret_looking_key() -> None:
    """A number under `*_token` (e.g. a position) is no secret; a string under it is."""
    event = redact_secrets(None, "info", {"first_token": 3, "refresh_token": "r-1"})
    assert event == {"first_token": 3, "refresh_token": "***"}


async def test_run_finished__carries_duration_tokens_and_cost(
    anyio_backend: str, tmp_cwd: Path
) -> None:
    """The `run_finished` event has the execution's duration, the run's token counts and cost."""
    import structlog.testing

    from assistants import AsyncClient

    prices = {label: {"prompt": 1.0, "completion": 2.0} for label in ("test", "test/test")}
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", prices=prices) as client:
        assistant = await client.assistants.create(model="test")
        thread = await client.threads.create(messages=[{"role": "user", "content": "a b c d"}])
        configured = structlog.get_config()
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        try:
            with structlog.testing.capture_logs(
                processors=[structlog.contextvars.merge_contextvars]
            ) as events:
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=10
                )
        finally:
            structlog.configure(**configured)
    assert run.status == "completed"
    assert run.usage is not None
    finished = [e for e in events if e["event"] == "run_finished"]
    assert len(finished) == 1
    event = finished[0]
    assert event["run_id"] == run.id
    assert isinstance(event["duration_ms"], float)
    assert event["duration_ms"] >= 0
    assert event["prompt_tokens"] == run.usage.prompt_tokens
    assert event["completion_tokens"] == run.usage.completion_tokens
    expected = (run.usage.prompt_tokens * 1.0 + run.usage.completion_tokens * 2.0) / 1_000_000
    assert event["cost"] == pytest.approx(expected)
