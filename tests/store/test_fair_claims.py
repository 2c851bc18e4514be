"""Claims take turns between projects (API keys): the project with the fewest runs in flight
goes first, the oldest run first among equals, and a project at its limit is passed over (its
runs stay queued). The same holds for the claim a finishing or pausing write makes for the slot
it frees (Postgres)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistants import AsyncClient
from store.picking import Claim
from store.records import RunRecord
from store.statuses import RunStatus
from store.store import Store
from tests.helpers import TEST_WORKER, USAGE, finish_message, open_message


async def _flood(client: AsyncClient, project: str, count: int) -> list[str]:
    """Queue `count` runs of `project`, oldest first; their ids."""
    scoped = client.for_project(project)
    assistant = await scoped.assistants.create(model="test")
    runs = []
    for i in range(count):
        run = await scoped.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": f"{project} {i}"}]},
        )
        runs.append(run.id)
    return runs


async def _in_flight(store: Store) -> dict[str, int]:
    """Runs held by a worker, by project."""
    rows = await store.db.fetch(
        "SELECT project, count(*) AS n FROM runs WHERE worker_id IS NOT NULL GROUP BY project"
    )
    return {str(r["project"]): int(r["n"]) for r in rows}


async def _complete(store: Store, run: RunRecord, successor: Claim | None = None) -> None:
    """Do a worker's one-message turn for a claimed run, ending it (with `successor`'s claim)."""
    step_id, message_id = await open_message(store, run)
    await finish_message(store, run.id, step_id, message_id, successor=successor)


async def test_claim__a_later_project_goes_before_an_earlier_flood(client: AsyncClient) -> None:
    """A project that queues one run after another project's 50 has it taken by the second
    claim: the flooding project already has a run in flight, the other none."""
    flood = await _flood(client, "a", 50)
    (late,) = await _flood(client, "b", 1)
    store = await client.store()
    taken = [
        (await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60))[0].id for _ in range(4)
    ]
    assert taken == [flood[0], late, flood[1], flood[2]]


async def test_claim__a_batch_interleaves_projects(client: AsyncClient) -> None:
    """One claim of five runs takes turns: a, b, c's oldest first, then the next of each."""
    a = await _flood(client, "a", 20)
    b = await _flood(client, "b", 20)
    c = await _flood(client, "c", 1)
    store = await client.store()
    taken = await store.claims.claim(TEST_WORKER, limit=5, lease_seconds=60)
    assert sorted(r.id for r in taken) == sorted([a[0], b[0], c[0], a[1], b[1]])
    assert await _in_flight(store) == {"a": 2, "b": 2, "c": 1}


async def test_claim__the_project_with_fewer_runs_in_flight_goes_first(
    client: AsyncClient,
) -> None:
    """Runs already in flight count: a project holding three waits until another holding none
    has caught up, whatever the age of its queued runs."""
    a = await _flood(client, "a", 10)
    store = await client.store()
    await store.claims.claim(TEST_WORKER, limit=3, lease_seconds=60)
    b = await _flood(client, "b", 10)
    taken = await store.claims.claim(TEST_WORKER, limit=4, lease_seconds=60)
    assert sorted(r.id for r in taken) == sorted([*b[:3], a[3]])


async def test_claim__a_project_at_its_limit_is_passed_over(client: AsyncClient) -> None:
    """With a limit of 2 for one project, 10 of its runs and 10 of another's queued and five
    slots, it never has more than 2 in flight (checked after every claim) and the other fills
    the rest; its runs stay queued until its runs end."""
    a = await _flood(client, "a", 10)
    b = await _flood(client, "b", 10)
    store = await client.store()
    limits: dict[str, Any] = {"project_limits": {"a": 2}}
    held = await store.claims.claim(TEST_WORKER, limit=5, lease_seconds=60, **limits)
    assert await _in_flight(store) == {"a": 2, "b": 3}
    assert not await store.claims.claim(
        TEST_WORKER, limit=5, lease_seconds=60, project_limit=3, **limits
    )
    done = 0
    while held:
        run = held.pop(0)
        await _complete(store, run)
        done += 1
        held += await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60, **limits)
        flight = await _in_flight(store)
        assert flight.get("a", 0) <= 2, (done, flight)
        assert sum(flight.values()) == len(held) <= 5
    assert done == 20
    statuses = await store.db.fetch("SELECT DISTINCT status FROM runs")
    assert [r["status"] for r in statuses] == ["completed"]
    assert len(a) == len(b) == 10


async def test_claim__the_default_limit_applies_to_every_project(client: AsyncClient) -> None:
    """`project_limit` caps every project without a limit of its own; one of its own wins."""
    await _flood(client, "a", 5)
    await _flood(client, "b", 5)
    await _flood(client, "c", 5)
    store = await client.store()
    taken = await store.claims.claim(
        TEST_WORKER, limit=10, lease_seconds=60, project_limit=2, project_limits={"c": 3}
    )
    assert len(taken) == 7
    assert await _in_flight(store) == {"a": 2, "b": 2, "c": 3}


async def test_successor__takes_the_other_projects_run(client: AsyncClient) -> None:
    """The claim a finishing run makes for its slot (Postgres) goes to the project with the
    fewest runs in flight, not to the oldest queued run; on SQLite the worker's next claim
    does."""
    await _flood(client, "a", 10)
    store = await client.store()
    held = await store.claims.claim(TEST_WORKER, limit=3, lease_seconds=60)
    (late,) = await _flood(client, "b", 1)
    successor = Claim(TEST_WORKER, 60)
    await _complete(store, held[0], successor)
    if store.db.dialect == "postgresql":
        assert [r["id"] for r in successor.rows] == [late]
    else:
        assert successor.rows == []
        assert [r.id for r in await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)] == [
            late
        ]


async def test_successor__respects_the_limit_and_frees_its_own_place(client: AsyncClient) -> None:
    """A successor claim never takes a project past its limit; the run the statement ends no
    longer counts, so a project at its limit takes its next run into the slot it frees."""
    a = await _flood(client, "a", 5)
    (b,) = await _flood(client, "b", 1)
    store = await client.store()
    limits: dict[str, Any] = {"project_limits": {"a": 1}}
    first = await store.claims.claim(TEST_WORKER, limit=5, lease_seconds=60, **limits)
    assert sorted(r.id for r in first) == sorted([a[0], b])
    by_id = {r.id: r for r in first}
    # b's run ends: a is at its limit, so nothing is taken for the slot.
    successor = Claim(TEST_WORKER, 60, **limits)
    await _complete(store, by_id[b], successor)
    assert successor.rows == []
    assert await _in_flight(store) == {"a": 1}
    # a's run ends: its place is free, its next run is taken (Postgres: in the same statement).
    successor = Claim(TEST_WORKER, 60, **limits)
    await _complete(store, by_id[a[0]], successor)
    if store.db.dialect == "postgresql":
        assert [r["id"] for r in successor.rows] == [a[1]]
    else:
        assert successor.rows == []
        taken = await store.claims.claim(TEST_WORKER, limit=5, lease_seconds=60, **limits)
        assert [r.id for r in taken] == [a[1]]
    assert await _in_flight(store) == {"a": 1}


async def test_pause__successor_respects_the_limit(client: AsyncClient) -> None:
    """A run pausing for tool outputs leaves the project's runs in flight: its successor claim
    counts it no longer, and takes the project's next run only within the limit."""
    a = await _flood(client, "a", 3)
    store = await client.store()
    limits: dict[str, Any] = {"project_limit": 2}
    held = await store.claims.claim(TEST_WORKER, limit=5, lease_seconds=60, **limits)
    assert sorted(r.id for r in held) == sorted(a[:2])
    run = next(r for r in held if r.id == a[0])
    step, _, _ = await store.work.begin_step(run, TEST_WORKER, kind="tool_calls", message=False)
    successor = Claim(TEST_WORKER, 60, **limits)
    await store.work.pause_for_tools(
        run.id,
        TEST_WORKER,
        step_id=step,
        tool_calls=[
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
        step_usage=USAGE,
        run_usage=USAGE,
        step_extensions=None,
        paused=RunStatus.REQUIRES_ACTION,
        allowed=(RunStatus.IN_PROGRESS,),
        successor=successor,
    )
    expected = [a[2]] if store.db.dialect == "postgresql" else []
    assert [r["id"] for r in successor.rows] == expected
    assert await _in_flight(store) == {"a": 1 + len(expected)}


async def test_claim__expired_runs_are_not_offered(client: AsyncClient) -> None:
    """A queued run past its `expires_at` is left to the sweeper, in every project's offer."""
    a = await _flood(client, "a", 2)
    (b,) = await _flood(client, "b", 1)
    store = await client.store()
    async with store.db.transaction() as tx:
        await tx.execute("UPDATE runs SET expires_at = 1 WHERE id IN (:x, :y)", {"x": a[0], "y": b})
    taken = await store.claims.claim(TEST_WORKER, limit=5, lease_seconds=60)
    assert [r.id for r in taken] == [a[1]]


async def test_sqlite__temporary_btrees_stay_in_memory(anyio_backend: str, tmp_path: Path) -> None:
    """A SQLite store keeps temporary b-trees (a claim's orderings) in memory, not in files
    that every claim would create and delete."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'assistants.db'}")
    try:
        row = await store.db.fetchrow("PRAGMA temp_store")
        assert row is not None
        assert row["temp_store"] == 2  # MEMORY
    finally:
        await store.close()
