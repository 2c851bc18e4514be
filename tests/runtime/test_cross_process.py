"""A run executed by a worker process, followed from another: polling and streaming, no loss."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import anyio

from assistants import AsyncClient

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
