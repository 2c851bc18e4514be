"""A worker's writes (claim, open a step, finish, pause): what they log, and what a lost claim
leaves behind. On Postgres each is one statement logging row snapshots (`store.pg`); on SQLite
a transaction logging payloads: both must read back the same."""

from __future__ import annotations

from typing import Any

import pytest

from assistants import AsyncClient
from store.db import open_database
from store.errors import LostClaim
from store.migrate import migrations, upgrade
from store.records import MessageRecord, RunRecord
from store.rows import render_snapshot
from store.statuses import RunStatus
from store.store import Store
from store.types import RunEvent
from tests.conformance.support import TEXT_RUN_EVENTS
from tests.conftest import WEATHER_TOOL
from tests.helpers import (
    TEST_WORKER,
    USAGE,
    apply_first_migration,
    finish_message,
    open_message,
)
from tests.sdk import sdk_validate


async def _queued(client: AsyncClient, *, tools: bool = False) -> tuple[str, str]:
    assistant = await client.assistants.create(model="test", tools=[WEATHER_TOOL] if tools else [])
    thread = await client.threads.create(messages=[{"role": "user", "content": "hello"}])
    run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
    return thread.id, run.id


async def _state(store: Store, run_id: str) -> tuple[Any, ...]:
    """Everything a worker's write could change: the run row and the run's rows and events."""
    row = await store.runs.row(run_id)
    assert row is not None
    steps = await store.db.fetch(
        "SELECT id, status, step_details FROM run_steps WHERE run_id = :id ORDER BY seq",
        {"id": run_id},
    )
    messages = await store.db.fetch(
        "SELECT id, status, content FROM messages WHERE run_id = :id ORDER BY seq", {"id": run_id}
    )
    events = await store.log.read_events(run_id)
    return (
        dict(row),
        [dict(s) for s in steps],
        [dict(m) for m in messages],
        [(e.seq, e.event) for e in events],
    )


async def test_logged_events__equal_the_live_ones_and_the_objects_retrieved(
    client: AsyncClient,
) -> None:
    """Read back from the log, a run's events are the ones published live, the last snapshot of
    each object is the object as retrieved, and every one validates with the SDK."""
    thread_id, run_id = await _queued(client)
    store = await client.store()
    with store.notifier.listen(run_id) as live:
        (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
        step_id, message_id = await open_message(store, run)
        await finish_message(store, run_id, step_id, message_id, step_extensions={"model": "test"})
        published = live.drain()
    logged = await store.log.read_events(run_id)
    assert [e.event for e in logged] == TEXT_RUN_EVENTS  # no deltas: the text came whole
    assert [(e.seq, e.event, e.data) for e in published] == [
        (e.seq, e.event, e.data) for e in logged[2:]
    ]
    for event in logged:
        sdk_validate(event.data)
    done = await client.threads.runs.retrieve(run_id, thread_id=thread_id)
    answer = await client.threads.messages.retrieve(message_id, thread_id=thread_id)
    opened = await client.threads.runs.steps.retrieve(step_id, thread_id=thread_id, run_id=run_id)
    assert logged[-1].data == done.to_dict()
    assert logged[-3].data == answer.to_dict()
    assert logged[-2].data == opened.to_dict()
    assert logged[2].data == {**done.to_dict(), **_in_progress(logged[2])}
    assert logged[2].data["status"] == "in_progress"


def _in_progress(event: RunEvent) -> dict[str, Any]:
    """The fields a run's end changes, as they were when it was claimed."""
    keys = ("status", "completed_at", "expires_at", "usage")
    return {k: event.data[k] for k in keys}


async def test_begin_step__by_a_worker_without_the_claim__changes_nothing(
    client: AsyncClient,
) -> None:
    """Opening a step for a run another worker holds raises LostClaim and writes nothing."""
    _, run_id = await _queued(client)
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    before = await _state(store, run_id)
    with pytest.raises(LostClaim):
        await store.work.begin_step(run, "someone-else", kind="message_creation", message=True)
    assert await _state(store, run_id) == before


async def test_finish__after_a_cancel__changes_nothing(client: AsyncClient) -> None:
    """A finish that lost the race with a cancel raises LostClaim; the message stays open for
    the cancel to close, nothing is logged."""
    thread_id, run_id = await _queued(client)
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    step_id, message_id = await open_message(store, run)
    await client.threads.runs.cancel(run_id, thread_id=thread_id)
    before = await _state(store, run_id)
    with pytest.raises(LostClaim):
        await finish_message(store, run_id, step_id, message_id)
    assert await _state(store, run_id) == before
    assert before[0]["status"] == "cancelling"


async def test_finish__with_another_step_open__closes_it_before_the_run_ends(
    client: AsyncClient,
) -> None:
    """Ending a run closes (and logs) every step still open, not only the finished one."""
    thread_id, run_id = await _queued(client)
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    other, _, _ = await store.work.begin_step(run, TEST_WORKER, kind="tool_calls", message=False)
    step_id, message_id = await open_message(store, run)
    await finish_message(store, run_id, step_id, message_id)
    events = await store.log.read_events(run_id)
    assert [(e.event, e.data["id"]) for e in events[-4:]] == [
        ("thread.message.completed", message_id),
        ("thread.run.step.completed", step_id),
        ("thread.run.step.completed", other),
        ("thread.run.completed", run_id),
    ]
    steps = (await client.threads.runs.steps.list(run_id, thread_id=thread_id)).data
    assert {s.id: s.status for s in steps} == {step_id: "completed", other: "completed"}


async def test_finish__keeping_the_run__logs_the_message_and_step_only(
    client: AsyncClient,
) -> None:
    """A message finished before tool calls leaves the run in progress and held, with its usage."""
    thread_id, run_id = await _queued(client)
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    step_id, message_id = await open_message(store, run)
    last = await finish_message(
        store, run_id, step_id, message_id, step_usage=None, step_extensions={}, end_run=None
    )
    events = await store.log.read_events(run_id)
    assert events[-1].seq == last
    assert [e.event for e in events[-2:]] == [
        "thread.message.completed",
        "thread.run.step.completed",
    ]
    row = await store.runs.row(run_id)
    assert row is not None
    assert (row["status"], row["worker_id"]) == ("in_progress", TEST_WORKER)
    current = await client.threads.runs.retrieve(run_id, thread_id=thread_id)
    assert current.usage is not None
    assert current.usage.total_tokens == 5


async def test_pause_for_tools__logs_the_paused_run_and_releases_it(client: AsyncClient) -> None:
    """Pausing records the calls on the step and logs `requires_action` with the required action;
    by a worker without the claim it changes nothing."""
    thread_id, run_id = await _queued(client, tools=True)
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    step, _, _ = await store.work.begin_step(run, TEST_WORKER, kind="tool_calls", message=False)
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}', "output": None},
        }
    ]
    options: dict[str, Any] = {
        "step_id": step,
        "tool_calls": calls,
        "step_usage": USAGE,
        "run_usage": USAGE,
        "step_extensions": {"model": "test"},
        "paused": RunStatus.REQUIRES_ACTION,
        "allowed": (RunStatus.IN_PROGRESS,),
    }
    before = await _state(store, run_id)
    with pytest.raises(LostClaim):
        await store.work.pause_for_tools(run_id, "someone-else", **options)
    assert await _state(store, run_id) == before
    await store.work.pause_for_tools(run_id, TEST_WORKER, **options)
    events = await store.log.read_events(run_id)
    assert events[-1].event == "thread.run.requires_action"
    paused = await client.threads.runs.retrieve(run_id, thread_id=thread_id)
    assert events[-1].data == paused.to_dict()
    assert paused.required_action is not None
    assert [c.id for c in paused.required_action.submit_tool_outputs.tool_calls] == ["call_1"]
    row = await store.runs.row(run_id)
    assert row is not None
    assert row["worker_id"] is None
    listed = (await client.threads.runs.steps.list(run_id, thread_id=thread_id)).data
    assert listed[0].step_details.type == "tool_calls"


async def test_events_logged_before_the_row_format__read_unchanged(database_url: str) -> None:
    """Events written before migration 0002 (payloads only) read back as they were."""
    db = open_database(database_url)
    await db.connect()
    try:
        await apply_first_migration(db)
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO run_events (run_id, seq, created_at, event, data) "
                "VALUES ('run_old', 1, 0, 'thread.run.queued', :data)",
                {"data": '{"id": "run_old", "object": "thread.run", "status": "queued"}'},
            )
        assert await upgrade(db) == [m.version for m in migrations(db.dialect)[1:]]
        (event,) = await Store(db).log.read_events("run_old")
        assert event.data == {"id": "run_old", "object": "thread.run", "status": "queued"}
    finally:
        await db.close()


def test_render_snapshot__refuses_an_event_no_row_renders() -> None:
    """Only run, step and message events are logged as rows."""
    with pytest.raises(ValueError, match=r"thread\.created"):
        render_snapshot("thread.created", {})


@pytest.mark.parametrize(
    "truncation",
    [None, {"type": "auto"}, {"type": "last_messages", "last_messages": 2},
     {"type": "last_messages", "last_messages": 9}],
)  # fmt: skip
async def test_run_context__the_newest_messages_and_the_runs_own(
    client: AsyncClient, truncation: dict[str, Any] | None
) -> None:
    """Prompt assembly reads the `last_messages` newest earlier messages (all without such a
    truncation) plus every finished message of the run, oldest first, and the run's steps;
    what a claim hands over equals what a fresh read finds."""
    assistant = await client.assistants.create(model="test")
    thread = await client.threads.create(
        messages=[{"role": "user", "content": f"m{i}"} for i in range(5)]
    )
    created = await client.threads.runs.create(
        thread.id, assistant_id=assistant.id, truncation_strategy=truncation
    )
    run_id = created.id
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    kept = min(5, (truncation or {}).get("last_messages") or 5)
    earlier = [f"m{i}" for i in range(5 - kept, 5)]

    def texts(messages: list[MessageRecord]) -> list[str]:
        return [m.content[0]["text"]["value"] for m in messages]

    first = await store.context.first_page(run)
    assert (texts(first.messages), first.steps) == (earlier, [])
    step_id, message_id = await open_message(store, run)
    await finish_message(
        store, run_id, step_id, message_id, step_usage=None, step_extensions={}, end_run=None
    )
    fresh = await store.runs.row(run_id)
    assert fresh is not None
    again = await store.context.first_page(RunRecord.from_row(fresh))
    assert texts(again.messages) == [*earlier, "Hi."]
    assert [m.id for m in again.messages][-1] == message_id
    assert [s.id for s in again.steps] == [step_id]
