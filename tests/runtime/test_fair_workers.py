"""A worker shares its slots fairly between projects and keeps each project within its limit
(`max_runs_per_project`, `project_run_limits`); the settings that say so, and their bad values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from assistants import AsyncClient
from assistants.errors import ConfigurationError
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.base import Chunk, TextDelta
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings, parse_run_limits
from runtime.worker import CLAIM_BATCH, Worker
from store.store import Store

FAST: dict[str, Any] = {"poll_seconds": 0.02, "sweep_seconds": 0.02, "lease_seconds": 5.0}


async def _flood(client: AsyncClient, project: str, count: int) -> list[tuple[str, str, str]]:
    """Queue `count` runs of `project` (each user message names it); `(project, thread_id,
    run_id)`s."""
    scoped = client.for_project(project)
    assistant = await scoped.assistants.create(model="test")
    runs = []
    for i in range(count):
        run = await scoped.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": f"{project} {i}"}]},
        )
        runs.append((project, run.thread_id, run.id))
    return runs


async def _in_flight(store: Store) -> dict[str, int]:
    rows = await store.db.fetch(
        "SELECT project, count(*) AS n FROM runs WHERE worker_id IS NOT NULL GROUP BY project"
    )
    return {str(r["project"]): int(r["n"]) for r in rows}


class HeldModel:
    """A model whose calls wait for `release`; it notes each call's project (the first word
    of its user message) and the runs in flight by project when the call began."""

    def __init__(self, store: Store, started: int) -> None:
        self.store = store
        self.projects: list[str] = []
        self.seen: list[dict[str, int]] = []
        self.release = anyio.Event()
        self.started = anyio.Event()
        self._wanted = started
        self.model = FunctionModel(self._call)

    async def _call(self, request: ModelRequest) -> AsyncIterator[Chunk]:
        text = str(request.messages[-1].content)
        self.projects.append(text.split(maxsplit=1)[0])
        self.seen.append(await _in_flight(self.store))
        if len(self.projects) == self._wanted:
            self.started.set()
        await self.release.wait()
        yield TextDelta(f"done {text}")

    def worker(self, settings: Settings) -> Worker:
        router = ProviderRouter(settings, extra={"test": self.model})
        return Worker(self.store, settings, router=router)


async def test_worker__a_later_project_runs_in_the_first_slots(database_url: str) -> None:
    """With one project's 50 runs queued before another's one, a two-slot worker's first two
    model calls are one of each."""
    async with AsyncClient(
        database_url=database_url, worker=False, max_concurrent_runs=2, **FAST
    ) as client:
        await _flood(client, "a", 50)
        await _flood(client, "b", 1)
        store = await client.store()
        held = HeldModel(store, started=2)
        worker = held.worker(client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(20):
                await held.started.wait()
            assert sorted(held.projects) == ["a", "b"]
            held.release.set()
            await worker.stop()


async def test_worker__a_project_at_its_limit_leaves_the_slots_to_others(
    database_url: str,
) -> None:
    """Limit 2 for one project, 10 of its runs and 10 of another's queued, five slots: its runs
    in flight never pass 2 (checked as each model call begins), the other's fill the rest, and
    every run completes."""
    async with AsyncClient(
        database_url=database_url,
        worker=False,
        max_concurrent_runs=5,
        project_run_limits={"a": 2},
        **FAST,
    ) as client:
        runs = [*await _flood(client, "a", 10), *await _flood(client, "b", 10)]
        store = await client.store()
        held = HeldModel(store, started=5)
        worker = held.worker(client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(20):
                await held.started.wait()
            assert sorted(held.projects) == ["a", "a", "b", "b", "b"]
            assert await _in_flight(store) == {"a": 2, "b": 3}
            held.release.set()
            with anyio.fail_after(30):
                done = [
                    await client.for_project(project).threads.runs.poll(run_id, thread_id)
                    for project, thread_id, run_id in runs
                ]
            await worker.stop()
        assert [d.status for d in done] == ["completed"] * 20
        assert len(held.seen) == 20
        assert max(seen.get("a", 0) for seen in held.seen) == 2
        assert max(sum(seen.values()) for seen in held.seen) == 5


async def test_worker__fills_every_slot_past_one_claim_batch(database_url: str) -> None:
    """A claim takes at most CLAIM_BATCH runs (one short step of the event loop); with 2.5
    batches queued and as many slots, the worker claims again until every slot is busy, without
    waiting for a poll or a finished run, and every run completes once."""
    slots = CLAIM_BATCH * 2 + CLAIM_BATCH // 2
    async with AsyncClient(
        database_url=database_url,
        worker=False,
        max_concurrent_runs=slots,
        poll_seconds=60.0,  # a second claim must not wait for the poll
        sweep_seconds=0.02,
        lease_seconds=5.0,
    ) as client:
        runs = await _flood(client, "a", slots)
        store = await client.store()
        held = HeldModel(store, started=slots)
        worker = held.worker(client.settings)
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            with anyio.fail_after(20):
                await held.started.wait()
            assert await _in_flight(store) == {"a": slots}
            held.release.set()
            with anyio.fail_after(30):
                done = [
                    await client.for_project("a").threads.runs.poll(run_id, thread_id)
                    for _, thread_id, run_id in runs
                ]
            await worker.stop()
        assert [d.status for d in done] == ["completed"] * slots
        assert sorted(held.projects) == ["a"] * slots


def test_settings__limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASSISTANTS_MAX_RUNS_PER_PROJECT and ASSISTANTS_PROJECT_RUN_LIMITS='p=N,...' are read."""
    monkeypatch.setenv("ASSISTANTS_MAX_RUNS_PER_PROJECT", "4")
    monkeypatch.setenv("ASSISTANTS_PROJECT_RUN_LIMITS", "team-a=2, team-b=8")
    settings = Settings.load()
    assert settings.max_runs_per_project == 4
    assert settings.project_run_limits == {"team-a": 2, "team-b": 8}
    assert Settings.load(max_runs_per_project=None).max_runs_per_project == 4
    monkeypatch.delenv("ASSISTANTS_MAX_RUNS_PER_PROJECT")
    assert Settings.load().max_runs_per_project is None


def test_settings__limits_from_the_settings_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`max_runs_per_project` and a `project_run_limits` table in the TOML file are read."""
    config = tmp_path / "assistants.toml"
    config.write_text('max_runs_per_project = 3\nproject_run_limits = {"team-a" = 1}\n')
    monkeypatch.setenv("ASSISTANTS_CONFIG", str(config))
    settings = Settings.load()
    assert (settings.max_runs_per_project, settings.project_run_limits) == (3, {"team-a": 1})


@pytest.mark.parametrize("bad", ["team-a", "=2", "team-a=", " = "])
def test_run_limit_strings__malformed__clear_error(bad: str) -> None:
    """PROJECT=N strings missing `=` or a side are refused, quoting the entry."""
    with pytest.raises(ConfigurationError, match=f"Invalid project run limit '{bad.strip()}'"):
        parse_run_limits([bad])


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        (
            "MAX_RUNS_PER_PROJECT",
            "0",
            "max_runs_per_project \\(from ASSISTANTS_MAX_RUNS_PER_PROJECT\\): Input should be greater than or",
        ),
        (
            "MAX_RUNS_PER_PROJECT",
            "two",
            "max_runs_per_project \\(from ASSISTANTS_MAX_RUNS_PER_PROJECT\\): Input should be a valid integer",
        ),
        (
            "PROJECT_RUN_LIMITS",
            "a=0",
            "project_run_limits.a \\(from ASSISTANTS_PROJECT_RUN_LIMITS\\): Input should be greater than or",
        ),
        (
            "PROJECT_RUN_LIMITS",
            "a=x",
            "project_run_limits.a \\(from ASSISTANTS_PROJECT_RUN_LIMITS\\): Input should be a valid integer",
        ),
    ],
)
def test_settings__bad_limits__refused(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str
) -> None:
    """A limit below 1 or not a number stops the start with the setting named."""
    monkeypatch.setenv(f"ASSISTANTS_{env}", value)
    with pytest.raises(ConfigurationError, match=f"Invalid settings: {message}"):
        Settings.load()
