"""A worker whose write for a run fails because the SQLite database is locked by another
process: the run is neither lost nor stuck. Its execution stops, it goes back to the queue (at
once, or when its lease lapses if the database still refuses the re-queue), and it completes
once the lock is gone, with one answer."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import anyio
import structlog

from assistants import AsyncClient
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.router import ProviderRouter
from runtime.worker import Worker
from tests.store.test_database_errors import locked


async def test_worker__write_refused_by_a_locked_database__run_requeued_and_completed(
    tmp_path: Path, anyio_backend: str
) -> None:
    """The run's write fails while another process holds the lock past the wait; the run is
    re-queued, not failed, and completes after the lock goes, with a single message."""
    path = tmp_path / "db.sqlite"
    called, answer, deferred = anyio.Event(), anyio.Event(), anyio.Event()

    async def held(request: ModelRequest) -> str:
        if not called.is_set():
            called.set()
            await answer.wait()
        return "done"

    def watch(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if event["event"] == "run_requeue_deferred":
            deferred.set()
        return event

    async with AsyncClient(
        database_url=f"sqlite+aiosqlite:///{path}?timeout=0.1",
        worker=False,
        poll_seconds=0.02,
        sweep_seconds=0.02,
        lease_seconds=0.5,
    ) as client:
        assistant = await client.assistants.create(model="test")
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
        store = await client.store()
        model = FunctionModel(held)
        worker = Worker(
            store, client.settings, router=ProviderRouter(client.settings, extra={"test": model})
        )
        with structlog.testing.capture_logs(processors=[watch]) as logs:
            async with anyio.create_task_group() as tg:
                await tg.start(worker.run)
                with anyio.fail_after(20):
                    await called.wait()
                    async with locked(path):
                        answer.set()
                        await deferred.wait()
                        assert (await client.threads.runs.retrieve(run.id, thread_id=thread.id)
                                ).status == "in_progress"  # fmt: skip
                    done = await client.threads.runs.poll(run.id, thread.id)
                await worker.stop()
        events = [e["event"] for e in logs]
        assert "run_interrupted" in events
        assert "run_crashed" not in events
        assert done.status == "completed"
        messages = (await client.threads.messages.list(thread.id, run_id=run.id)).data
        assert [m.content[0].text.value for m in messages] == ["done"]  # type: ignore[union-attr]
        assert len(model.requests) == 2
        assert done.last_error is None
