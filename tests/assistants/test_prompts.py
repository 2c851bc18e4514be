"""`client.prompts` in-process: prompts, versions and labels on both clients, and bad input
refused in OpenAI's wording without losing data."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from assistants import AsyncClient, Client
from assistants.errors import BadRequestError, NotFoundError

MEMORY = "sqlite+aiosqlite:///:memory:"


async def test_prompts__create_version_label_retrieve(client: AsyncClient) -> None:
    """A prompt gets numbered versions; `retrieve` resolves the latest, then `prod` once set,
    a given version or label; labels list their history; list pages and iterates."""
    prompt = await client.prompts.create(name="support", description="Tier 1", metadata={"a": "b"})
    assert (prompt.object, prompt.name, prompt.latest_version) == ("prompt", "support", 0)
    v1 = await client.prompts.versions.create(
        "support",
        messages=[
            {"role": "system", "content": "You help with {{product}}."},
            {"role": "user", "content": [{"type": "text", "text": "{{question}}"}]},
        ],
        model="test",
        temperature=0.2,
        max_tokens=300,
        stop=["END"],
        commit_message="first",
    )
    v2 = await client.prompts.versions.create(
        "support", instructions="Be brief about {{product}}.", top_p=0.5
    )
    assert (v1.version, v2.version, v1.object) == (1, 2, "prompt.version")
    assert (v1.temperature, v1.max_tokens, v1.stop, v1.commit_message) == (
        0.2,
        300,
        ["END"],
        "first",
    )
    latest = await client.prompts.retrieve("support")
    assert (latest.version, latest.label, latest.instructions) == (2, None, v2.instructions)
    label = await client.prompts.labels.set("support", label="prod", version=1)
    assert (label.object, label.version, [m.to_version for m in label.history]) == (
        "prompt.label",
        1,
        [1],
    )
    resolved = await client.prompts.retrieve("support")
    assert (resolved.version, resolved.label, resolved.messages) == (1, "prod", v1.messages)
    assert (await client.prompts.retrieve("support", version=2)).version == 2
    assert (await client.prompts.retrieve("support", label="prod")).label == "prod"
    moved = await client.prompts.labels.set("support", label="prod", version=2, expected_version=1)
    assert [(m.from_version, m.to_version) for m in moved.history] == [(None, 1), (1, 2)]
    labels = await client.prompts.labels.list("support")
    assert [(x.label, x.version) for x in labels.data] == [("prod", 2)]
    page = await client.prompts.versions.list("support", limit=1)
    assert ([x.version for x in page.data], page.has_more) == ([2], True)
    assert [x.version async for x in client.prompts.versions.list("support", limit=1)] == [2, 1]
    await client.prompts.create(name="other")
    assert [p.name async for p in client.prompts.list(order="asc")] == ["support", "other"]
    gone = await client.prompts.labels.delete("support", label="prod")
    assert (gone.deleted, gone.label) == (True, "prod")
    deleted = await client.prompts.delete("other")
    assert (deleted.object, deleted.deleted, deleted.id) == ("prompt.deleted", True, deleted.id)


async def test_prompts__bad_input_is_refused_and_changes_nothing(client: AsyncClient) -> None:
    """Bad names, templates, settings, both a version and a label, unknown objects and stale
    label moves are 400/404 in OpenAI's wording; the prompt is as it was."""
    await client.prompts.create(name="p")
    await client.prompts.versions.create("p", instructions="one")
    await client.prompts.versions.create("p", instructions="two")
    await client.prompts.labels.set("p", label="prod", version=1)
    cases: list[tuple[type[Exception], str, str | None, Callable[[], Awaitable[object]]]] = [
        (
            BadRequestError,
            "A prompt name starts with",
            "name",
            lambda: client.prompts.create(name="a b"),
        ),
        (BadRequestError, "already exists", "name", lambda: client.prompts.create(name="p")),
        (
            BadRequestError,
            "Missing required parameter: 'name'",
            "name",
            lambda: client.prompts.create(name=None),  # type: ignore[arg-type]
        ),
        (BadRequestError, "string too long", "name", lambda: client.prompts.create(name="x" * 129)),
        (
            BadRequestError,
            "Unrecognized request argument supplied: color",
            "color",
            lambda: client.prompts.create(name="q", extra_body={"color": "red"}),
        ),
        (
            BadRequestError,
            "needs a template",
            "messages",
            lambda: client.prompts.versions.create("p"),
        ),
        (
            BadRequestError,
            "not both",
            "messages",
            lambda: client.prompts.versions.create(
                "p", instructions="a", messages=[{"role": "user", "content": "b"}]
            ),
        ),
        (
            BadRequestError,
            "Invalid 'messages[0].role'",
            "messages[0].role",
            lambda: client.prompts.versions.create(
                "p", messages=[{"role": "tool", "content": "x"}]
            ),
        ),
        (
            BadRequestError,
            "Missing required parameter: 'messages[0].content'",
            "messages[0].content",
            lambda: client.prompts.versions.create("p", messages=[{"role": "user"}]),
        ),
        (
            BadRequestError,
            "decimal above maximum value",
            "temperature",
            lambda: client.prompts.versions.create("p", instructions="x", temperature=3),
        ),
        (
            BadRequestError,
            "array too long",
            "stop",
            lambda: client.prompts.versions.create(
                "p", instructions="x", stop=["a", "b", "c", "d", "e"]
            ),
        ),
        (
            BadRequestError,
            "integer below minimum value",
            "max_tokens",
            lambda: client.prompts.versions.create("p", instructions="x", max_tokens=0),
        ),
        (
            NotFoundError,
            "No prompt found with name 'nope'",
            "name",
            lambda: client.prompts.versions.create("nope", instructions="x"),
        ),
        (
            BadRequestError,
            "not both",
            "label",
            lambda: client.prompts.retrieve("p", version=1, label="prod"),
        ),
        (
            NotFoundError,
            "No version 5 found for prompt 'p'",
            "version",
            lambda: client.prompts.retrieve("p", version=5),
        ),
        (
            NotFoundError,
            "No label 'beta' found for prompt 'p'",
            "label",
            lambda: client.prompts.retrieve("p", label="beta"),
        ),
        (
            BadRequestError,
            "A label starts with",
            "label",
            lambda: client.prompts.labels.set("p", label="-x", version=1),
        ),
        (
            BadRequestError,
            "integer below minimum value",
            "version",
            lambda: client.prompts.labels.set("p", label="prod", version=0),
        ),
        (
            NotFoundError,
            "No version 9 found",
            "version",
            lambda: client.prompts.labels.set("p", label="prod", version=9),
        ),
        (
            BadRequestError,
            "points at version 1, not 2",
            "expected_version",
            lambda: client.prompts.labels.set("p", label="prod", version=2, expected_version=2),
        ),
        (
            NotFoundError,
            "No label 'beta' found",
            "label",
            lambda: client.prompts.labels.delete("p", label="beta"),
        ),
        (
            NotFoundError,
            "No prompt found with name 'nope'",
            "name",
            lambda: client.prompts.delete("nope"),
        ),
    ]
    for error, message, param, call in cases:
        with pytest.raises(error, match=re.escape(message)) as info:
            await call()
        assert info.value.param == param, message  # type: ignore[attr-defined]
    assert (await client.prompts.retrieve("p")).version == 1
    assert (await client.prompts.retrieve("p")).label == "prod"
    assert (await client.prompts.retrieve("p", version=2)).instructions == "two"
    assert [p.name async for p in client.prompts.list()] == ["p"]
    other = client.for_project("elsewhere")
    with pytest.raises(NotFoundError):
        await other.prompts.retrieve("p")


def test_sync_prompts__same_surface(anyio_backend: str) -> None:
    """The sync client has the same `prompts`, `prompts.versions` and `prompts.labels`."""
    with Client(database_url=MEMORY, worker=False) as client:
        client.prompts.create(name="s")
        version = client.prompts.versions.create("s", instructions="Hello {{name}}")
        label = client.prompts.labels.set("s", label="prod", version=version.version)
        assert label.version == 1
        assert client.prompts.retrieve("s").label == "prod"
        assert [v.version for v in client.prompts.versions.list("s")] == [1]
        assert [p.name for p in client.prompts.list()] == ["s"]
        assert [x.label for x in client.prompts.labels.list("s").data] == ["prod"]
        assert client.prompts.labels.delete("s", label="prod").deleted
        assert client.prompts.delete("s").deleted
