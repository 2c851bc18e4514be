"""A run executed by a worker process, followed from another: polling and streaming, no loss."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import anyio
import pytest

from assistants import AsyncClient
from runtime.streams import run_events

CLI = [sys.executable, "-m", "assistants.cli", "--log-json"]


async def test_worker_process__client_elsewhere_streams_and_polls(database_url: str) -> None:
    """Events of a run a worker process executes reach this process's stream, in order, once."""
    if database_url.endswith(":memory:"):
        return  # an in-memory database cannot be shared between processes
    async with AsyncClient(database_url=database_url, worker=False, poll_seconds=0.05) as client:
        await client.store()  # creates the schema before the worker checks it
        assistant = await client.assistants.create(model="test")
        process = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the worker runs beside)
            [*CLI, "worker", "--database-url", database_url, "--worker-id", "remote-1"],
            env={**os.environ, "ASSISTANTS_POLL_SECONDS": "0.05"},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for i in range(3):
                thread = await client.threads.create(
                    messages=[{"role": "user", "content": f"message number {i} " * 30}]
                )
                with anyio.fail_after(30):
                    stream = await client.threads.runs.create(
                        thread.id, assistant_id=assistant.id, stream=True
                    )
                    events = [event async for event in stream]
                assert [e.seq for e in events] == list(range(1, len(events) + 1))
                assert events[-1].event == "thread.run.completed"
                deltas = [e for e in events if e.event == "thread.message.delta"]
                completed = next(e for e in events if e.event == "thread.message.completed")
                text = "".join(d.data.delta.content[0].text.value for d in deltas)  # type: ignore[union-attr,index,misc]
                assert completed.data.content[0].text.value == text  # type: ignore[union-attr]
                with anyio.fail_after(30):
                    polled = await client.threads.runs.create_and_poll(
                        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
                    )
                assert polled.status == "completed"
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr


async def test_run_ending_between_log_read_and_status_check__stream_still_reaches_its_end(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream read the log, then the run ran to its end elsewhere, then the stream looked at
    the run's status: it must read the rest of the log, not end at the last event it had."""
    if database_url.endswith(":memory:"):
        return  # the two clients must share the database
    async with AsyncClient(database_url=database_url, worker=False, poll_seconds=0.05) as reader:
        store = await reader.store()
        assistant = await reader.assistants.create(model="test")
        thread = await reader.threads.create(messages=[{"role": "user", "content": "hello there"}])
        run = await reader.threads.runs.create(thread.id, assistant_id=assistant.id)
        real_status = store.runs.status
        executed = False

        async def run_status(run_id: str) -> str | None:
            nonlocal executed
            if not executed:
                executed = True
                async with AsyncClient(database_url=database_url, poll_seconds=0.05) as elsewhere:
                    ended = await elsewhere.threads.runs.poll(run.id, thread_id=thread.id)
                    assert ended.status == "completed"
            return await real_status(run_id)

        monkeypatch.setattr(store.runs, "status", run_status)
        with anyio.fail_after(30):
            events = [event async for event in run_events(store, run.id, poll=0.05)]
        assert executed
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[-1].event == "thread.run.completed"
        assert "thread.message.completed" in [e.event for e in events]
