"""Cursor pagination through the SDK: auto-pagination, `has_more`, `first_id`/`last_id`, order,
`after` and `before`, on assistants, messages, runs and steps.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conformance.conftest import LiveServer
from tests.conformance.support import serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

ASSISTANTS = 45
MESSAGES = 130


@dataclass
class World:
    server: LiveServer
    client: openai.OpenAI
    assistants: list[str]  # in creation order
    thread: str
    messages: list[str]  # in creation order


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One project holding exactly 45 assistants and a thread of 130 messages."""
    with serve(tmp_path_factory.mktemp("pages"), worker=False) as server:
        client = server.sdk()
        try:
            assistants = [
                client.beta.assistants.create(model="test", name=f"a{i}").id
                for i in range(ASSISTANTS)
            ]
            thread = client.beta.threads.create().id
            messages = [
                client.beta.threads.messages.create(thread, role="user", content=f"m{i}").id
                for i in range(MESSAGES)
            ]
            yield World(server, client, assistants, thread, messages)
        finally:
            client.close()


def extras(page: Any) -> dict[str, Any]:
    """The list fields the SDK does not declare (`object`, `first_id`, `last_id`)."""
    extra = page.model_extra
    assert extra is not None
    return dict(extra)


def test_assistants__auto_pagination_yields_each_once_newest_first(world: World) -> None:
    """`for a in list(limit=7)` walks all 45 assistants once, newest first."""
    seen = [a.id for a in world.client.beta.assistants.list(limit=7)]
    assert seen == world.assistants[::-1]


def test_assistants__ascending_order(world: World) -> None:
    """`order="asc"` walks them oldest first."""
    seen = [a.id for a in world.client.beta.assistants.list(limit=7, order="asc")]
    assert seen == world.assistants


def test_assistants__page_fields(world: World) -> None:
    """Each page carries `object`, `has_more`, `first_id` and `last_id` consistent with `data`."""
    newest_first = world.assistants[::-1]
    page = world.client.beta.assistants.list(limit=7)
    assert [a.id for a in page.data] == newest_first[:7]
    assert page.has_more is True
    assert extras(page) == {
        "object": "list",
        "first_id": newest_first[0],
        "last_id": newest_first[6],
    }

    pages = 1
    while page.has_next_page():
        page = page.get_next_page()
        pages += 1
        assert page.data
        assert extras(page)["first_id"] == page.data[0].id
        assert extras(page)["last_id"] == page.data[-1].id
    assert pages == 7  # 6 full pages of 7 and one of 3
    assert len(page.data) == 3
    assert page.has_more is False
    assert page.data[-1].id == world.assistants[0]


def test_assistants__exact_fit_and_default_limit(world: World) -> None:
    """A page that ends exactly at the last item says `has_more: false`; the default is 20."""
    page = world.client.beta.assistants.list(limit=45)
    assert len(page.data) == 45
    assert page.has_more is False
    default = world.client.beta.assistants.list()
    assert len(default.data) == 20
    assert default.has_more is True
    assert world.client.beta.assistants.list(limit=100).has_more is False


def test_assistants__after_and_before_cursors(world: World) -> None:
    """`after` returns what follows a cursor, `before` what precedes it, in either order."""
    desc = world.assistants[::-1]
    assistants = world.client.beta.assistants
    cursor = desc[20]
    assert [a.id for a in assistants.list(limit=5, after=cursor).data] == desc[21:26]
    before = assistants.list(limit=5, before=cursor)
    assert [a.id for a in before.data] == desc[15:20]
    assert before.has_more is True

    asc = world.assistants
    cursor = asc[3]
    assert [a.id for a in assistants.list(limit=5, order="asc", after=cursor).data] == asc[4:9]
    head = assistants.list(limit=5, order="asc", before=cursor)
    assert [a.id for a in head.data] == asc[0:3]
    assert head.has_more is False


def test_messages__auto_pagination_both_orders(world: World) -> None:
    """130 messages: every one exactly once with `limit=7`, newest first and oldest first."""
    messages = world.client.beta.threads.messages
    desc = [m.id for m in messages.list(world.thread, limit=7)]
    assert desc == world.messages[::-1]
    asc = [m.id for m in messages.list(world.thread, limit=7, order="asc")]
    assert asc == world.messages
    assert len(set(asc)) == MESSAGES


def test_messages__before_walks_back_page_by_page(world: World) -> None:
    """Following `before=first_id` from the end reaches the start with no gap or repeat."""
    messages = world.client.beta.threads.messages
    page = messages.list(world.thread, limit=7, order="asc", after=world.messages[-8])
    assert [m.id for m in page.data] == world.messages[-7:]
    collected = [m.id for m in page.data]
    while True:
        page = messages.list(world.thread, limit=7, order="asc", before=extras(page)["first_id"])
        collected = [m.id for m in page.data] + collected
        if not page.has_more:
            break
    assert collected == world.messages


def test_messages__empty_list(world: World) -> None:
    """An empty list has `has_more: false` and null `first_id`/`last_id`."""
    thread = world.client.beta.threads.create()
    page = world.client.beta.threads.messages.list(thread.id)
    assert page.data == []
    assert page.has_more is False
    assert extras(page) == {"object": "list", "first_id": None, "last_id": None}
    assert list(world.client.beta.threads.messages.list(thread.id, limit=3)) == []


def test_runs__paginate(world: World) -> None:
    """Runs list pages through `after` like every other list."""
    assistant = world.assistants[0]
    runs = world.client.beta.threads.runs
    thread = world.client.beta.threads.create().id
    created = []
    for _ in range(5):
        run = runs.create(thread, assistant_id=assistant)
        created.append(run.id)
        runs.cancel(run.id, thread_id=thread)  # no worker here: it ends at once
    assert [r.id for r in runs.list(thread, limit=2)] == created[::-1]
    assert [r.id for r in runs.list(thread, limit=2, order="asc")] == created
    first = runs.list(thread, limit=2)
    assert first.has_more is True
    assert extras(first)["last_id"] == created[3]


async def test_async__auto_pagination(world: World) -> None:
    """`async for` over the async SDK's list walks every assistant once."""
    async with world.server.async_sdk() as client:
        seen = [a.id async for a in client.beta.assistants.list(limit=7, order="asc")]
        assert seen == world.assistants
        page = await client.beta.threads.messages.list(world.thread, limit=50)
        assert page.has_more is True
        nxt = await page.get_next_page()
        assert [m.id for m in nxt.data] == world.messages[::-1][50:100]
