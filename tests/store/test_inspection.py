"""The inspector's reads (`store.inspection`): thread search, run status history and the paged
event log, each scoped to one project, on every database."""

from __future__ import annotations

from typing import Any

import pytest

from assistants import AsyncClient
from store.errors import NotFoundError
from store.inspection import WINDOW, InspectionPart
from tests.conftest import WEATHER_TOOL

ROUND_TRIP_STATUSES = [
    "created",
    "queued",
    "in_progress",
    "requires_action",
    "queued",
    "in_progress",
    "completed",
]
"""A run that paused once for tool outputs, status by status."""


async def _part(client: AsyncClient) -> InspectionPart:
    return (await client.store()).inspection


async def _tool_round_trip(client: AsyncClient, **thread: Any) -> tuple[str, str]:
    """A completed run that paused once for a tool: (thread id, run id)."""
    assistant = await client.assistants.create(model="test", tools=[WEATHER_TOOL])
    created = await client.threads.create(
        messages=[{"role": "user", "content": "weather?"}], **thread
    )
    run = await client.threads.runs.create_and_poll(thread_id=created.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    assert run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = await client.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=created.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
    )
    assert run.status == "completed"
    return created.id, run.id


@pytest.mark.timeout(60)
async def test_threads__newest_first_search_and_pages(live_client: AsyncClient) -> None:
    """Threads come newest first with their latest run; `search` matches ids and metadata
    (any case, `%` and `_` literally); `after` pages; another project sees none of them."""
    part = await _part(live_client)
    plain = [(await live_client.threads.create()).id for _ in range(3)]
    tagged = await live_client.threads.create(metadata={"user": "Alice_100%"})
    ran, _ = await _tool_round_trip(live_client, metadata={"user": "bob"})
    project = live_client.project

    found, more = await part.threads(project, search=None, limit=10, after=None)
    assert [t.id for t in found] == [ran, tagged.id, *reversed(plain)]
    assert not more
    assert found[0].last_run_status == "completed"
    assert found[1].last_run_id is None

    first, more = await part.threads(project, search=None, limit=2, after=None)
    assert more
    rest, more = await part.threads(project, search=None, limit=10, after=first[-1].id)
    assert [t.id for t in first + rest] == [t.id for t in found]
    assert not more

    for text in ("alice", "ALICE_100%", "_100%"):
        hits, _ = await part.threads(project, search=text, limit=10, after=None)
        assert [t.id for t in hits] == [tagged.id], text
    assert not (await part.threads(project, search="alice.100", limit=10, after=None))[0]
    assert not (await part.threads(project, search="a%e", limit=10, after=None))[0]
    by_id, _ = await part.threads(project, search=plain[1][-10:].upper(), limit=10, after=None)
    assert [t.id for t in by_id] == [plain[1]]

    assert (await part.threads("someone-else", search=None, limit=10, after=None)) == ([], False)
    with pytest.raises(NotFoundError, match=f"No thread found with id '{plain[0]}'"):
        await part.threads("someone-else", search=None, limit=10, after=plain[0])


@pytest.mark.timeout(60)
async def test_transitions__every_status_in_order(live_client: AsyncClient) -> None:
    """A tool round trip's statuses in order, with non-decreasing times; 404 to others."""
    part = await _part(live_client)
    _, run_id = await _tool_round_trip(live_client)
    found = await part.transitions(live_client.project, run_id)
    assert [t.status for t in found] == ROUND_TRIP_STATUSES
    assert [t.at for t in found] == sorted(t.at for t in found)
    assert [t.seq for t in found] == sorted({t.seq for t in found})
    with pytest.raises(NotFoundError, match=f"No run found with id '{run_id}'"):
        await part.transitions("someone-else", run_id)


@pytest.mark.timeout(60)
async def test_events__pages_both_ways_and_filter(live_client: AsyncClient) -> None:
    """The log pages forward (`after`) and backward (`before`) with `has_more`; the newest page
    is `before` past the end; a filter keeps matching names only; 404 to others."""
    part = await _part(live_client)
    _, run_id = await _tool_round_trip(live_client)
    project = live_client.project
    everything = await part.events(project, run_id, after=0, before=None, limit=500, name=None)
    total = everything.last_seq
    assert [e.seq for e in everything.data] == list(range(1, total + 1))
    assert not everything.has_more
    assert everything.data[0].event == "thread.run.created"
    assert everything.data[0].data["id"] == run_id

    first = await part.events(project, run_id, after=0, before=None, limit=3, name=None)
    assert [e.seq for e in first.data] == [1, 2, 3]
    assert first.has_more
    newest = await part.events(project, run_id, after=None, before=total + 1, limit=3, name=None)
    assert [e.seq for e in newest.data] == [total - 2, total - 1, total]
    assert newest.has_more
    assert newest.data[-1].event == "thread.run.completed"
    older = await part.events(project, run_id, after=None, before=total - 2, limit=500, name=None)
    assert [e.seq for e in older.data] == list(range(1, total - 2))
    assert not older.has_more

    steps = await part.events(project, run_id, after=0, before=None, limit=500, name="RUN.STEP.")
    assert steps.data
    assert all(e.event.startswith("thread.run.step.") for e in steps.data)
    assert steps.last_seq == total
    none = await part.events(project, run_id, after=0, before=None, limit=500, name="%")
    assert none.data == []
    with pytest.raises(NotFoundError, match=f"No run found with id '{run_id}'"):
        await part.events("someone-else", run_id, after=0, before=None, limit=5, name=None)


@pytest.mark.timeout(120)
async def test_search__reads_window_after_window(client: AsyncClient) -> None:
    """A search finds matches spread over more threads than one window reads (`WINDOW`), in
    order, and pages through them; an empty search of them all finds nothing."""
    part = await _part(client)
    project = client.project
    tagged = []
    for i in range(WINDOW * 2 + 100):
        metadata = {"n": str(i), "tag": "needle"} if i % 700 == 0 else {"n": str(i)}
        created = await client.threads.create(metadata=metadata)
        if "tag" in metadata:
            tagged.append(created.id)
    newest_first = list(reversed(tagged))
    found, more = await part.threads(project, search="NEEDLE", limit=100, after=None)
    assert [t.id for t in found] == newest_first
    assert not more
    first, more = await part.threads(project, search="needle", limit=2, after=None)
    assert more
    rest, more = await part.threads(project, search="needle", limit=2, after=first[-1].id)
    assert [t.id for t in first + rest] == newest_first
    assert not more
    assert (await part.threads(project, search="haystack", limit=10, after=None)) == ([], False)
