"""When the claim loop asks the database for work: after a run was queued (here or announced by
another process), on the poll, after a claim that filled what it asked for, and after a run ends
under project limits; not merely because a slot freed while the queue was empty."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from assistants import AsyncClient
from assistants.testing import FunctionModel, ModelRequest
from runtime.providers.base import TextDelta
from store.records import RunRecord

SLOW_POLL: dict[str, Any] = {"poll_seconds": 60.0, "sweep_seconds": 60.0}
RUNS = 6


def _count_claims(
    monkeypatch: pytest.MonkeyPatch, claims: Any
) -> tuple[list[int], Callable[..., Awaitable[list[RunRecord]]]]:
    """Record how many runs each claim took (the store's claims part, wrapped on the instance)."""
    taken: list[int] = []
    original = claims.claim

    async def claim(*args: Any, **kwargs: Any) -> list[RunRecord]:
        rows: list[RunRecord] = await original(*args, **kwargs)
        taken.append(len(rows))
        return rows

    monkeypatch.setattr(claims, "claim", claim)
    return taken, original


async def test_claim_loop__a_run_ending_with_the_queue_empty_asks_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs one after another: one claim each, none that finds the queue empty."""
    async with AsyncClient(database_url=database_url, **SLOW_POLL) as client:
        assistant = await client.assistants.create(model="test")
        threads = [
            (await client.threads.create(messages=[{"role": "user", "content": "hi"}])).id
            for _ in range(RUNS)
        ]
        taken, _ = _count_claims(monkeypatch, (await client.store()).claims)
        with anyio.fail_after(20):
            for thread_id in threads:
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread_id, assistant_id=assistant.id, poll_interval_ms=5
                )
                assert run.status == "completed"
    assert taken == [1] * RUNS


async def test_claim_loop__a_run_ending_under_a_project_limit_lets_the_next_start(
    database_url: str,
) -> None:
    """Three runs of a project limited to one: each starts when the last ends, not at the poll
    (a minute away here), although no run was queued since the first claim."""
    gate = anyio.Event()

    async def gated(request: ModelRequest) -> Any:
        await gate.wait()
        yield TextDelta("done")

    async with AsyncClient(
        database_url=database_url,
        max_runs_per_project=1,
        providers={"gated": FunctionModel(gated)},
        **SLOW_POLL,
    ) as client:
        assistant = await client.assistants.create(model="gated")
        runs = [
            await client.threads.create_and_run(
                assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "x"}]}
            )
            for _ in range(3)
        ]
        gate.set()
        with anyio.fail_after(20):
            for run in runs:
                done = await client.threads.runs.poll(run.id, run.thread_id)
                assert done.status == "completed"
