"""Cursor pagination of messages, assistants and runs through the client (CONTRACT §3.7, §6).

Most of the 250 messages share one `created_at` second, so every check below also pins the stable
tiebreak: insertion order. Walks compare against the ids in the order they were created.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from assistants import AsyncClient
from assistants.pagination import AsyncCursorPage, AsyncPaginator
from tests.helpers import api_error, error_fields, ids, ok, page

Lister = Callable[..., AsyncPaginator[Any]]

MESSAGE_COUNT = 250


def check_page(result: AsyncCursorPage[Any], limit: int) -> None:
    """A page's shape: `first_id`/`last_id` match `data`, and a short page is the last one."""
    assert result.object == "list"
    assert len(result.data) <= limit
    if result.data:
        assert (result.first_id, result.last_id) == (result.data[0].id, result.data[-1].id)
    else:
        assert (result.first_id, result.last_id) == (None, None)
    if result.has_more:
        assert len(result.data) == limit


async def walk_after(lister: Lister, *, limit: int, order: str) -> list[str]:
    """Every id, following `after=<last id>` until `has_more` is false (which must be the end)."""
    seen: list[str] = []
    after: str | None = None
    while True:
        kwargs: dict[str, Any] = {"limit": limit, "order": order}
        if after is not None:
            kwargs["after"] = after
        result = await page(lister(**kwargs))
        check_page(result, limit)
        seen += ids(result.data)
        if not result.has_more:
            break
        assert result.last_id is not None
        after = result.last_id
    if seen:
        beyond = await page(lister(limit=limit, order=order, after=seen[-1]))
        assert (beyond.data, beyond.has_more) == ([], False)
    return seen


async def walk_before(lister: Lister, *, start: str, limit: int, order: str) -> list[str]:
    """Every id preceding `start`, following `before=<first id>` backwards; in list order."""
    pages: list[list[str]] = []
    before = start
    while True:
        result = await page(lister(limit=limit, order=order, before=before))
        check_page(result, limit)
        pages.append(ids(result.data))
        if not result.has_more:
            break
        assert result.first_id is not None
        before = result.first_id
    return [i for chunk in reversed(pages) for i in chunk]


async def check_walks(lister: Lister, created: list[str], limits: tuple[int, ...]) -> None:
    """Forward and backward walks in both orders yield each id once, in creation order."""
    for order, expected in (("asc", created), ("desc", created[::-1])):
        for limit in limits:
            assert await walk_after(lister, limit=limit, order=order) == expected, (order, limit)
            walked = await walk_before(lister, start=expected[-1], limit=limit, order=order)
            assert walked == expected[:-1], (order, limit)


async def collect(listing: AsyncPaginator[Any]) -> list[str]:
    return [item.id async for item in listing]


# --- messages ------------------------------------------------------------------------------


@pytest.fixture
async def full_thread(client: AsyncClient) -> tuple[str, list[str]]:
    """A thread with 250 messages inserted back to back; returns its id and the ids in order."""
    thread = await client.threads.create()
    created = []
    for i in range(MESSAGE_COUNT):
        m = await client.threads.messages.create(thread.id, role="user", content=f"m{i}")
        created.append(m.id)
    return thread.id, created


def messages_of(client: AsyncClient, thread_id: str) -> Lister:
    def lister(**kwargs: Any) -> AsyncPaginator[Any]:
        return client.threads.messages.list(thread_id, **kwargs)

    return lister


async def test_list_messages__default_page_is_20_newest_first(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """With no parameters: 20 messages, newest first, `has_more` true."""
    thread_id, created = full_thread
    first = await page(client.threads.messages.list(thread_id))
    assert ids(first.data) == created[::-1][:20]
    assert first.has_more is True
    assert (first.first_id, first.last_id) == (created[-1], created[-20])
    created_ats = [m.created_at for m in (await page(client.threads.messages.list(thread_id))).data]
    assert created_ats == sorted(created_ats, reverse=True)


async def test_list_messages__most_share_a_second(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """The fixture's messages tie on `created_at` (so the walks below exercise the tiebreak)."""
    thread_id, _ = full_thread
    seconds = [m.created_at async for m in client.threads.messages.list(thread_id, limit=100)]
    assert len(seconds) == MESSAGE_COUNT
    assert len(set(seconds)) < MESSAGE_COUNT // 2


async def test_list_messages__every_limit_from_1_to_100(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """`limit=n` returns exactly the n newest (or oldest, asc) messages, for n in 1..100."""
    thread_id, created = full_thread
    for limit in range(1, 101):
        desc = await client.threads.messages.list(thread_id, limit=limit)
        assert ids(desc.data) == created[::-1][:limit], limit
        assert desc.has_more is True
        check_page(desc, limit)
    for limit in (1, 7, 100):
        asc = await page(client.threads.messages.list(thread_id, limit=limit, order="asc"))
        assert ids(asc.data) == created[:limit]


async def test_list_messages__after_and_before_walk_every_message_once(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """Walking with `after` (or back with `before`) in both orders yields each message once."""
    thread_id, created = full_thread
    await check_walks(messages_of(client, thread_id), created, limits=(1, 7, 25, 100))


async def test_list_messages__has_more_is_false_exactly_on_the_last_page(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """Pages of 25 over 250 messages: has_more on pages 1-9, not on page 10 (a full page)."""
    thread_id, created = full_thread
    flags = []
    after: str | None = None
    for _ in range(10):
        listing = (
            client.threads.messages.list(thread_id, limit=25, order="asc")
            if after is None
            else client.threads.messages.list(thread_id, limit=25, order="asc", after=after)
        )
        result = await listing
        flags.append(result.has_more)
        assert len(result.data) == 25
        after = result.data[-1].id
    assert flags == [True] * 9 + [False]
    assert after == created[-1]


async def test_list_messages__before_a_cursor_returns_the_nearest_preceding_items(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """`before=X` returns the `limit` items right before X, still in the requested order."""
    thread_id, created = full_thread
    x = created[100]
    asc = await page(client.threads.messages.list(thread_id, before=x, limit=5, order="asc"))
    assert ids(asc.data) == created[95:100]
    assert asc.has_more is True
    desc = await page(client.threads.messages.list(thread_id, before=x, limit=5))
    assert ids(desc.data) == created[101:106][::-1]
    assert desc.has_more is True
    start = await page(client.threads.messages.list(thread_id, before=created[3], order="asc"))
    assert (ids(start.data), start.has_more) == (created[:3], False)


async def test_list_messages__auto_pagination_yields_all_once(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """`async for` over a list with limit=7 yields all 250 messages once, in order."""
    thread_id, created = full_thread
    assert await collect(client.threads.messages.list(thread_id, limit=7)) == created[::-1]
    asc = await collect(client.threads.messages.list(thread_id, limit=7, order="asc"))
    assert asc == created


async def test_list_messages__auto_pagination_from_a_cursor(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """`async for` starting `after` a cursor yields exactly the messages that follow it."""
    thread_id, created = full_thread
    listing = client.threads.messages.list(thread_id, limit=9, order="asc", after=created[200])
    assert await collect(listing) == created[201:]


async def test_list_messages__unknown_cursor_is_400(
    client: AsyncClient, full_thread: tuple[str, list[str]]
) -> None:
    """A cursor that is not an item of this list is a 400 naming `after` (or `before`)."""
    thread_id, _ = full_thread
    other = await client.threads.create(messages=[{"role": "user", "content": "elsewhere"}])
    (foreign,) = (await client.threads.messages.list(other.id)).data
    lister = messages_of(client, thread_id)
    for cursor in ("msg_doesnotexist", foreign.id):
        for name in ("after", "before"):
            err = await api_error(functools.partial(lister, **{name: cursor}))
            assert (err.status_code, err.param) == (400, name), cursor
            assert f"'{name}'" in err.message
            assert cursor in err.message


async def test_list_messages__empty_thread(client: AsyncClient) -> None:
    """An empty list: no data, `first_id`/`last_id` null, `has_more` false."""
    thread = await client.threads.create()
    orders: tuple[Literal["asc", "desc"], ...] = ("asc", "desc")
    for order in orders:
        result = await client.threads.messages.list(thread.id, order=order)
        assert (result.data, result.first_id, result.last_id, result.has_more) == (
            [],
            None,
            None,
            False,
        )
        assert result.to_dict() == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }
    assert await collect(client.threads.messages.list(thread.id)) == []


# --- assistants ----------------------------------------------------------------------------

ASSISTANT_COUNT = 45


async def test_list_assistants__pages_walk_every_assistant_once(client: AsyncClient) -> None:
    """Assistants page like messages: defaults, walks both ways, auto-pagination."""
    empty = await client.assistants.list()
    assert (empty.data, empty.first_id, empty.last_id, empty.has_more) == ([], None, None, False)
    created = [
        ok(await client.assistants.create(model="gpt-4o", name=f"a{i}")).id
        for i in range(ASSISTANT_COUNT)
    ]

    first = await page(client.assistants.list())
    assert ids(first.data) == created[::-1][:20]
    assert first.has_more is True
    await check_walks(client.assistants.list, created, limits=(1, 10, 45, 100))
    assert await collect(client.assistants.list(limit=4)) == created[::-1]
    assert await collect(client.assistants.list(limit=4, order="asc")) == created


async def test_list_assistants__unknown_cursor_is_400(client: AsyncClient) -> None:
    """An assistant cursor that names nothing is a 400 naming `after`."""
    await client.assistants.create(model="gpt-4o")
    err = await api_error(lambda: client.assistants.list(after="asst_doesnotexist"))
    assert (err.status_code, err.param) == (400, "after")
    assert "'after'" in err.message


# --- runs ----------------------------------------------------------------------------------

RUN_COUNT = 15


async def test_list_runs__pages_walk_every_run_once(client: AsyncClient) -> None:
    """Runs page like messages: defaults, walks both ways, auto-pagination."""
    assistant = await client.assistants.create(model="gpt-4o")
    thread = await client.threads.create()
    empty = await client.threads.runs.list(thread.id)
    assert (empty.data, empty.first_id, empty.last_id, empty.has_more) == ([], None, None, False)
    created = []
    for _ in range(RUN_COUNT):
        run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
        await client.threads.runs.cancel(run.id, thread_id=thread.id)
        created.append(run.id)

    def lister(**kwargs: Any) -> AsyncPaginator[Any]:
        return client.threads.runs.list(thread.id, **kwargs)

    first = await page(lister(limit=10))
    assert ids(first.data) == created[::-1][:10]
    assert first.has_more is True
    await check_walks(lister, created, limits=(1, 4, 15, 20))
    assert await collect(lister(limit=4)) == created[::-1]
    assert await collect(lister(limit=4, order="asc")) == created
    err = await api_error(lambda: lister(after="run_doesnotexist"))
    assert (err.status_code, err.param) == (400, "after")


# --- projects ------------------------------------------------------------------------------


async def test_projects__do_not_see_each_others_objects(tmp_path: Path) -> None:
    """Two projects over one database: b lists none of a's assistants and 404s on a's ids."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with (
        AsyncClient(database_url=url, worker=False, project="a") as a,
        AsyncClient(database_url=url, worker=False, project="b") as b,
    ):
        mine = ok(await a.assistants.create(model="test", name="a's"))
        thread = ok(await a.threads.create())

        listed = await b.assistants.list()
        assert (listed.data, listed.has_more, listed.first_id) == ([], False, None)
        err = await api_error(lambda: b.assistants.retrieve(mine.id))
        assert error_fields(err) == (404, f"No assistant found with id '{mine.id}'.", None, None)
        err = await api_error(lambda: b.assistants.delete(mine.id))
        assert err.status_code == 404
        err = await api_error(lambda: b.threads.retrieve(thread.id))
        assert error_fields(err) == (404, f"No thread found with id '{thread.id}'.", None, None)
        err = await api_error(lambda: b.threads.runs.create(thread.id, assistant_id=mine.id))
        assert err.status_code == 404
        err = await api_error(lambda: b.assistants.list(after=mine.id))
        assert (err.status_code, err.param) == (400, "after")

        assert ids((await page(a.assistants.list())).data) == [mine.id]
        theirs = ok(await b.assistants.create(model="test", name="b's"))
        assert ids((await page(a.assistants.list())).data) == [mine.id]
        assert ids((await page(b.assistants.list())).data) == [theirs.id]
