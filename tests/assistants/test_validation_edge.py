"""Values the store could not hold or read back, refused by the in-process client on every backend
(the HTTP server refuses them at the door; these are the same limits for Python callers): NUL
characters, schemas nested past 64 levels or holding infinities, too many content parts,
attachments or messages at once. Exact message, param and code; nothing written (`rejected`).
"""

from __future__ import annotations

from typing import Any

import pytest

from assistants import AsyncClient
from assistants.validation import (
    JSON_DEPTH_MAX,
    MESSAGE_ATTACHMENTS_MAX,
    MESSAGE_PARTS_MAX,
    THREAD_MESSAGES_MAX,
)
from tests.helpers import World, bad, rejected


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` levels deep."""
    value: dict[str, Any] = {"a": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "parameters": parameters}}


async def test_nul_in_a_string__rejected(client: AsyncClient, world: World) -> None:
    """A NUL character in a name is a 400 on SQLite as on Postgres (whose text refuses it)."""
    await rejected(
        client,
        world,
        lambda: client.assistants.create(model="test", name="a\x00b"),
        bad(
            "Invalid 'name': the string contains a NUL character (\\u0000), which is not allowed.",
            "name",
            "invalid_value",
        ),
    )


async def test_nul_in_message_text__rejected(client: AsyncClient, world: World) -> None:
    """A NUL character in a message's text part names the part."""
    await rejected(
        client,
        world,
        lambda: client.threads.messages.create(
            world.thread_id, role="user", content=[{"type": "text", "text": "\x00"}]
        ),
        bad(
            "Invalid 'content[0].text': the string contains a NUL character (\\u0000), which is "
            "not allowed.",
            "content[0].text",
            "invalid_value",
        ),
    )


async def test_schema_nested_past_64_levels__rejected(client: AsyncClient, world: World) -> None:
    """A function schema 65 levels deep is refused naming the field; 64 levels is stored."""
    await rejected(
        client,
        world,
        lambda: client.assistants.create(model="test", tools=[tool(nested(JSON_DEPTH_MAX + 1))]),
        bad(
            "Invalid 'tools[0].function.parameters': objects and arrays nested too deeply. "
            "Expected at most 64 levels of nesting, but got more at "
            "'tools[0].function.parameters.a.a.a.a.a.a.a.a...'.",
            "tools[0].function.parameters",
            "nesting_too_deep",
        ),
    )
    deepest = nested(JSON_DEPTH_MAX)
    stored = await client.assistants.create(model="test", tools=[tool(deepest)])
    retrieved = await client.assistants.retrieve(stored.id)
    assert retrieved.tools[0].function.parameters == deepest  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan")],
)
async def test_schema_with_non_finite_number__rejected(
    client: AsyncClient, world: World, value: float, shown: str
) -> None:
    """Infinity or NaN in a response_format schema is a 400, not a 500 when it is stored."""
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": {"maximum": value}}}
    await rejected(
        client,
        world,
        lambda: client.assistants.create(model="test", response_format=fmt),
        bad(
            f"Invalid 'response_format.json_schema.schema.maximum': {shown} is not a JSON "
            "number. Expected a finite number.",
            "response_format.json_schema.schema.maximum",
            "invalid_value",
        ),
    )


async def test_message_parts__rejects_one_over_the_limit(client: AsyncClient, world: World) -> None:
    """101 content parts: `array_above_max_length` on `content`."""
    parts: Any = [{"type": "text", "text": "x"}] * (MESSAGE_PARTS_MAX + 1)
    await rejected(
        client,
        world,
        lambda: client.threads.messages.create(world.thread_id, role="user", content=parts),
        bad(
            "Invalid 'content': array too long. Expected an array with maximum length 100, "
            "but got an array with length 101 instead.",
            "content",
            "array_above_max_length",
        ),
    )


async def test_attachments__rejects_one_over_the_limit(client: AsyncClient, world: World) -> None:
    """21 attachments on one message: `array_above_max_length` on `attachments`."""
    attachments: Any = [{"file_id": "file_a", "tools": []}] * (MESSAGE_ATTACHMENTS_MAX + 1)
    await rejected(
        client,
        world,
        lambda: client.threads.messages.create(
            world.thread_id, role="user", content="x", attachments=attachments
        ),
        bad(
            "Invalid 'attachments': array too long. Expected an array with maximum length 20, "
            "but got an array with length 21 instead.",
            "attachments",
            "array_above_max_length",
        ),
    )


async def test_additional_messages__rejects_one_over_the_limit(
    client: AsyncClient, world: World
) -> None:
    """1,001 additional messages on a run: `array_above_max_length`, no run created."""
    messages: Any = [{"role": "user", "content": "x"}] * (THREAD_MESSAGES_MAX + 1)
    await rejected(
        client,
        world,
        lambda: client.threads.runs.create(
            world.thread_id, assistant_id=world.assistant_id, additional_messages=messages
        ),
        bad(
            "Invalid 'additional_messages': array too long. Expected an array with maximum "
            "length 1000, but got an array with length 1001 instead.",
            "additional_messages",
            "array_above_max_length",
        ),
    )
