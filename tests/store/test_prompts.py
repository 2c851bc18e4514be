"""The prompt store: numbered immutable versions, labels moved by compare-and-set with their
history, resolution by version, label or default, on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from store.errors import BadRequestError, NotFoundError
from store.store import Store

P = "default"


async def _prompt(store: Store, name: str = "greeting", versions: int = 2) -> None:
    await store.prompts.create(P, name=name, description="Says hello", metadata={"team": "a"})
    for i in range(1, versions + 1):
        await store.prompts.create_version(
            P, name, {"instructions": f"v{i}: greet {{{{who}}}}", "commit_message": f"c{i}"}
        )


@asynccontextmanager
async def _second(store: Store, database_url: str) -> AsyncIterator[Store]:
    """Another connection to the same database (the same store for an in-memory SQLite)."""
    if database_url.endswith(":memory:"):
        yield store
        return
    other = await Store.open(database_url)
    try:
        yield other
    finally:
        await other.close()


async def test_versions__numbered_from_one_and_listed_newest_first(store: Store) -> None:
    """Versions get 1, 2, 3; the prompt tracks the latest; the list pages newest first."""
    await _prompt(store, versions=3)
    prompt = await store.prompts.get(P, "greeting")
    assert (prompt.latest_version, prompt.description, prompt.metadata) == (
        3,
        "Says hello",
        {"team": "a"},
    )
    page = await store.prompts.list_versions(
        P, "greeting", limit=2, order="desc", after=None, before=None
    )
    assert [v.version for v in page.data] == [3, 2]
    assert page.has_more
    rest = await store.prompts.list_versions(
        P, "greeting", limit=2, order="desc", after=page.last_id, before=None
    )
    assert [(v.version, v.commit_message) for v in rest.data] == [(1, "c1")]
    assert rest.data[0].instructions == "v1: greet {{who}}"


async def test_prompts__names_unique_per_project_and_isolated(store: Store) -> None:
    """A second prompt of the same name is a 400; another project sees none of them."""
    await _prompt(store)
    with pytest.raises(BadRequestError, match="already exists") as info:
        await store.prompts.create(P, name="greeting")
    assert info.value.code == "prompt_exists"
    await store.prompts.create("other", name="greeting")
    with pytest.raises(NotFoundError, match="No prompt found with name 'nope'"):
        await store.prompts.get("other", "nope")
    mine = await store.prompts.list_prompts(P, limit=20, order="desc", after=None, before=None)
    theirs = await store.prompts.list_prompts(
        "other", limit=20, order="desc", after=None, before=None
    )
    assert [p.name for p in mine.data] == [p.name for p in theirs.data] == ["greeting"]
    assert mine.data[0].id != theirs.data[0].id
    assert (await store.prompts.get("other", "greeting")).latest_version == 0


async def test_resolve__version_label_default_and_errors(store: Store) -> None:
    """No choice: `prod` if it exists, else the latest; a version or a label when given; both
    given is a 400; an unknown prompt, version or label a 404."""
    await _prompt(store, versions=3)
    resolved = await store.prompts.resolve(P, "greeting")
    assert (resolved.version.version, resolved.label) == (3, None)
    await store.prompts.labels.set(P, "greeting", label="prod", version=1)
    resolved = await store.prompts.resolve(P, "greeting")
    assert (resolved.version.version, resolved.label) == (1, "prod")
    assert (await store.prompts.resolve(P, "greeting", version=2)).version.version == 2
    await store.prompts.labels.set(P, "greeting", label="staging", version=2)
    resolved = await store.prompts.resolve(P, "greeting", label="staging")
    assert (resolved.version.instructions, resolved.label) == ("v2: greet {{who}}", "staging")
    with pytest.raises(BadRequestError, match="not both"):
        await store.prompts.resolve(P, "greeting", version=1, label="prod")
    with pytest.raises(NotFoundError, match="No version 9 found for prompt 'greeting'"):
        await store.prompts.resolve(P, "greeting", version=9)
    with pytest.raises(NotFoundError, match="No label 'canary' found for prompt 'greeting'"):
        await store.prompts.resolve(P, "greeting", label="canary")
    with pytest.raises(NotFoundError, match="No prompt found with name 'missing'"):
        await store.prompts.resolve(P, "missing")
    await store.prompts.create(P, name="empty")
    with pytest.raises(NotFoundError, match="has no versions yet"):
        await store.prompts.resolve(P, "empty")


async def test_labels__compare_and_set_moves_and_history(store: Store) -> None:
    """A move with the right `expected_version` happens; a stale one is a 400 naming the
    current version and changes nothing; set, moves and delete are all in the history."""
    await _prompt(store, versions=3)
    await store.prompts.labels.set(P, "greeting", label="prod", version=1)
    moved = await store.prompts.labels.set(
        P, "greeting", label="prod", version=2, expected_version=1
    )
    assert moved.version == 2
    with pytest.raises(BadRequestError, match="points at version 2, not 1") as info:
        await store.prompts.labels.set(P, "greeting", label="prod", version=3, expected_version=1)
    assert (info.value.code, info.value.param) == ("label_moved", "expected_version")
    with pytest.raises(BadRequestError, match="does not exist"):
        await store.prompts.labels.set(P, "greeting", label="beta", version=3, expected_version=1)
    with pytest.raises(NotFoundError, match="No version 7"):
        await store.prompts.labels.set(P, "greeting", label="prod", version=7)
    (label,) = (await store.prompts.labels.list(P, "greeting")).data
    assert (label.label, label.version) == ("prod", 2)
    assert [(m.from_version, m.to_version) for m in label.history] == [(None, 1), (1, 2)]
    await store.prompts.labels.delete(P, "greeting", label="prod")
    assert (await store.prompts.labels.list(P, "greeting")).data == []
    with pytest.raises(NotFoundError, match="No label 'prod'"):
        await store.prompts.labels.delete(P, "greeting", label="prod")
    again = await store.prompts.labels.set(P, "greeting", label="prod", version=3)
    assert [(m.from_version, m.to_version) for m in again.history] == [
        (None, 1),
        (1, 2),
        (2, None),
        (None, 3),
    ]


async def test_labels__concurrent_compare_and_set__exactly_one_wins(
    store: Store, database_url: str
) -> None:
    """Eight writers on two connections move `prod` from 1 at once, each to its own version:
    one move happens, the seven others get the 400 naming the winner's version, and the
    history holds exactly the one move."""
    await _prompt(store, versions=9)
    await store.prompts.labels.set(P, "greeting", label="prod", version=1)
    go = anyio.Event()
    won: list[int] = []
    lost: list[str] = []
    async with _second(store, database_url) as other:

        async def move(target: int, via: Store) -> None:
            await go.wait()
            try:
                await via.prompts.labels.set(
                    P, "greeting", label="prod", version=target, expected_version=1
                )
            except BadRequestError as exc:
                lost.append(exc.message)
            else:
                won.append(target)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for target in range(2, 10):
                    tg.start_soon(move, target, store if target % 2 else other)
                await anyio.wait_all_tasks_blocked()
                go.set()
    assert len(won) == 1
    assert len(lost) == 7
    assert all(f"points at version {won[0]}, not 1" in m for m in lost)
    (label,) = (await store.prompts.labels.list(P, "greeting")).data
    assert label.version == won[0]
    assert [(m.from_version, m.to_version) for m in label.history] == [(None, 1), (1, won[0])]


async def test_versions__concurrent_creation_gets_distinct_numbers(
    store: Store, database_url: str
) -> None:
    """Ten versions added at once from two connections are numbered 1..10, no gap, no repeat."""
    await store.prompts.create(P, name="busy")
    go = anyio.Event()
    async with _second(store, database_url) as other:

        async def add(i: int) -> None:
            await go.wait()
            via = store if i % 2 else other
            await via.prompts.create_version(P, "busy", {"instructions": f"text {i}"})

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for i in range(10):
                    tg.start_soon(add, i)
                await anyio.wait_all_tasks_blocked()
                go.set()
    page = await store.prompts.list_versions(
        P, "busy", limit=100, order="asc", after=None, before=None
    )
    assert [v.version for v in page.data] == list(range(1, 11))
    assert sorted(v.instructions or "" for v in page.data) == sorted(f"text {i}" for i in range(10))
    assert (await store.prompts.get(P, "busy")).latest_version == 10


async def test_delete__refused_while_an_assistant_uses_it(store: Store) -> None:
    """An assistant taking its instructions from the prompt blocks its deletion (400 naming
    the assistant); once it is gone, the prompt goes with its versions and labels."""
    await _prompt(store)
    await store.prompts.labels.set(P, "greeting", label="prod", version=2)
    other = await store.assistants.create(
        P, {"model": "test", "extensions": {"prompt": {"name": "greeting-2", "label": "prod"}}}
    )
    user = await store.assistants.create(
        P, {"model": "test", "extensions": {"prompt": {"name": "greeting", "label": "prod"}}}
    )
    with pytest.raises(BadRequestError, match=f"assistant\\(s\\) {user.id}\\.") as info:
        await store.prompts.delete(P, "greeting")
    assert info.value.code == "prompt_in_use"
    assert (await store.prompts.resolve(P, "greeting")).version.version == 2
    await store.assistants.delete(P, user.id)
    deleted = await store.prompts.delete(P, "greeting")
    assert (deleted.name, deleted.deleted) == ("greeting", True)
    with pytest.raises(NotFoundError):
        await store.prompts.get(P, "greeting")
    for table in ("prompt_versions", "prompt_labels", "prompt_label_moves"):
        row = await store.db.fetchrow(f"SELECT count(*) AS n FROM {table}")
        assert row is not None
        assert row["n"] == 0
    with pytest.raises(NotFoundError):
        await store.prompts.delete(P, "greeting")
    assert other.id
