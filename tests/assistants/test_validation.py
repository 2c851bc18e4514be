"""Field validation (CONTRACT §7.1, §7.2) through the client: exact message, param and code.

Metadata, string lengths, required fields and messages. Tools, sampling, token budgets,
truncation, tool_choice and response_format are in `test_validation_tools.py`; ids, lists,
`include`, unknown arguments and tool outputs in `test_validation_requests.py`. Every rejected
request is also checked to have written nothing (`rejected` compares a snapshot of the objects
and row counts before and after).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from assistants import AsyncClient
from tests.helpers import World, bad, ok, rejected

Call = Callable[[AsyncClient, World, Any], Awaitable[Any]]

# --- metadata: every endpoint that takes it ---------------------------------------------------

METADATA_TARGETS: dict[str, Call] = {
    "create_assistant": lambda c, w, md: c.assistants.create(model="gpt-4o", metadata=md),
    "update_assistant": lambda c, w, md: c.assistants.update(w.assistant_id, metadata=md),
    "create_thread": lambda c, w, md: c.threads.create(metadata=md),
    "update_thread": lambda c, w, md: c.threads.update(w.thread_id, metadata=md),
    "create_message": lambda c, w, md: c.threads.messages.create(
        w.thread_id, role="user", content="hi", metadata=md
    ),
    "update_message": lambda c, w, md: c.threads.messages.update(
        w.message_id, thread_id=w.thread_id, metadata=md
    ),
    "create_run": lambda c, w, md: c.threads.runs.create(
        w.thread_id, assistant_id=w.assistant_id, metadata=md
    ),
    "update_run": lambda c, w, md: c.threads.runs.update(
        w.run_id, thread_id=w.thread_id, metadata=md
    ),
    "create_and_run": lambda c, w, md: c.threads.create_and_run(
        assistant_id=w.assistant_id, metadata=md
    ),
}
metadata_targets = pytest.mark.parametrize("target", list(METADATA_TARGETS))

KEY_65 = "k" * 65
LONG_VALUE = "v" * 513


@metadata_targets
async def test_metadata__rejects_17_pairs(client: AsyncClient, world: World, target: str) -> None:
    """17 metadata pairs: `object_above_max_properties` with the API's message."""
    md = {f"key{i}": "v" for i in range(17)}
    await rejected(
        client,
        world,
        lambda: METADATA_TARGETS[target](client, world, md),
        bad(
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            "properties, but got an object with 17 properties instead.",
            "metadata",
            "object_above_max_properties",
        ),
    )


@metadata_targets
async def test_metadata__rejects_a_65_char_key(
    client: AsyncClient, world: World, target: str
) -> None:
    """A 65-character key: `property_name_above_max_length` naming the key."""
    await rejected(
        client,
        world,
        lambda: METADATA_TARGETS[target](client, world, {KEY_65: "v"}),
        bad(
            f"Invalid property name in 'metadata': '{KEY_65}' is too long. Expected a string "
            "with maximum length 64, but got a string with length 65 instead.",
            f"metadata.{KEY_65}",
            "property_name_above_max_length",
        ),
    )


@metadata_targets
async def test_metadata__rejects_a_513_char_value(
    client: AsyncClient, world: World, target: str
) -> None:
    """A 513-character value: `string_above_max_length` on `metadata.<key>`."""
    await rejected(
        client,
        world,
        lambda: METADATA_TARGETS[target](client, world, {"note": LONG_VALUE}),
        bad(
            "Invalid 'metadata.note': string too long. Expected a string with maximum length "
            "512, but got a string with length 513 instead.",
            "metadata.note",
            "string_above_max_length",
        ),
    )


@metadata_targets
async def test_metadata__rejects_an_integer_value(
    client: AsyncClient, world: World, target: str
) -> None:
    """A non-string value: `invalid_type` on `metadata.<key>`."""
    await rejected(
        client,
        world,
        lambda: METADATA_TARGETS[target](client, world, {"count": 1}),
        bad(
            "Invalid type for 'metadata.count': expected a string, but got an integer instead.",
            "metadata.count",
            "invalid_type",
        ),
    )


@metadata_targets
async def test_metadata__accepts_the_limits_and_an_empty_value(
    client: AsyncClient, world: World, target: str
) -> None:
    """16 pairs, 64-character keys, 512-character values and an empty-string value are accepted."""
    md = {f"{i:02d}".ljust(64, "k"): "v" * 512 for i in range(15)}
    md["empty"] = ""
    result = ok(await METADATA_TARGETS[target](client, world, md))
    assert result.metadata == md


@metadata_targets
async def test_metadata__none_means_empty(client: AsyncClient, world: World, target: str) -> None:
    """`metadata=None` stores `{}` (on updates it clears the existing map)."""
    result = ok(await METADATA_TARGETS[target](client, world, None))
    assert result.metadata == {}
    assert result.to_dict()["metadata"] == {}


NESTED_METADATA: dict[str, tuple[str, Call]] = {
    "thread_messages": (
        "messages[0].metadata",
        lambda c, w, md: c.threads.create(
            messages=[{"role": "user", "content": "x", "metadata": md}]
        ),
    ),
    "additional_messages": (
        "additional_messages[0].metadata",
        lambda c, w, md: c.threads.runs.create(
            w.thread_id,
            assistant_id=w.assistant_id,
            additional_messages=[{"role": "user", "content": "x", "metadata": md}],
        ),
    ),
    "create_and_run_thread": (
        "thread.metadata",
        lambda c, w, md: c.threads.create_and_run(
            assistant_id=w.assistant_id, thread={"metadata": md}
        ),
    ),
    "create_and_run_thread_messages": (
        "thread.messages[0].metadata",
        lambda c, w, md: c.threads.create_and_run(
            assistant_id=w.assistant_id,
            thread={"messages": [{"role": "user", "content": "x", "metadata": md}]},
        ),
    ),
}


@pytest.mark.parametrize("target", list(NESTED_METADATA))
async def test_metadata__nested_paths_are_named(
    client: AsyncClient, world: World, target: str
) -> None:
    """Metadata inside messages or `thread` is reported with its full path."""
    path, call = NESTED_METADATA[target]
    md = {f"key{i}": "v" for i in range(17)}
    await rejected(
        client,
        world,
        lambda: call(client, world, md),
        bad(
            f"Invalid '{path}': too many properties. Expected an object with at most 16 "
            "properties, but got an object with 17 properties instead.",
            path,
            "object_above_max_properties",
        ),
    )
    await rejected(
        client,
        world,
        lambda: call(client, world, {"n": 5}),
        bad(
            f"Invalid type for '{path}.n': expected a string, but got an integer instead.",
            f"{path}.n",
            "invalid_type",
        ),
    )


# --- string lengths, missing fields -----------------------------------------------------------

ASSISTANT_WRITES: dict[str, Call] = {
    "create": lambda c, w, kw: c.assistants.create(model="gpt-4o", **kw),
    "update": lambda c, w, kw: c.assistants.update(w.assistant_id, **kw),
}


@pytest.mark.parametrize("target", list(ASSISTANT_WRITES))
@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", 256), ("description", 512), ("instructions", 256_000)],
)
async def test_assistant__rejects_a_string_over_its_limit(
    client: AsyncClient, world: World, target: str, field: str, limit: int
) -> None:
    """name 257, description 513, instructions 256 001 characters: `string_above_max_length`."""
    await rejected(
        client,
        world,
        lambda: ASSISTANT_WRITES[target](client, world, {field: "x" * (limit + 1)}),
        bad(
            f"Invalid '{field}': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {limit + 1} instead.",
            field,
            "string_above_max_length",
        ),
    )
    result = ok(await ASSISTANT_WRITES[target](client, world, {field: "x" * limit}))
    assert len(result.to_dict()[field]) == limit


async def test_create_run__rejects_256001_char_instructions(
    client: AsyncClient, world: World
) -> None:
    """A run's `instructions` override has the assistant's 256 000-character limit."""
    await rejected(
        client,
        world,
        lambda: client.threads.runs.create(
            world.thread_id, assistant_id=world.assistant_id, instructions="x" * 256_001
        ),
        bad(
            "Invalid 'instructions': string too long. Expected a string with maximum length "
            "256000, but got a string with length 256001 instead.",
            "instructions",
            "string_above_max_length",
        ),
    )


async def test_create_assistant__rejects_a_missing_model(client: AsyncClient, world: World) -> None:
    """No `model` on create: `missing_required_parameter`."""
    await rejected(
        client,
        world,
        lambda: client.assistants.create(model=None),  # type: ignore[arg-type]
        bad("Missing required parameter: 'model'.", "model", "missing_required_parameter"),
    )


async def test_create_run__rejects_a_missing_assistant_id(
    client: AsyncClient, world: World
) -> None:
    """No `assistant_id` on run create: `missing_required_parameter`."""
    await rejected(
        client,
        world,
        lambda: client.threads.runs.create(world.thread_id, assistant_id=None),  # type: ignore[call-overload]
        bad(
            "Missing required parameter: 'assistant_id'.",
            "assistant_id",
            "missing_required_parameter",
        ),
    )


# --- messages ---------------------------------------------------------------------------------

MESSAGE_WRITES: dict[str, tuple[str, Call]] = {
    "create_message": ("", lambda c, w, m: c.threads.messages.create(w.thread_id, **m)),
    "create_thread": ("messages[0].", lambda c, w, m: c.threads.create(messages=[m])),
    "additional_messages": (
        "additional_messages[0].",
        lambda c, w, m: c.threads.runs.create(
            w.thread_id, assistant_id=w.assistant_id, additional_messages=[m]
        ),
    ),
    "create_and_run": (
        "thread.messages[0].",
        lambda c, w, m: c.threads.create_and_run(
            assistant_id=w.assistant_id, thread={"messages": [m]}
        ),
    ),
}
message_targets = pytest.mark.parametrize("target", list(MESSAGE_WRITES))
PART_TYPES = "'text', 'image_file' and 'image_url'"


@message_targets
async def test_message__rejects_role_system(client: AsyncClient, world: World, target: str) -> None:
    """A message role must be user or assistant."""
    prefix, call = MESSAGE_WRITES[target]
    await rejected(
        client,
        world,
        lambda: call(client, world, {"role": "system", "content": "hi"}),
        bad(
            "Invalid value: 'system'. Supported values are: 'user' and 'assistant'.",
            f"{prefix}role",
            "invalid_value",
        ),
    )


@message_targets
async def test_message__rejects_an_empty_content_array(
    client: AsyncClient, world: World, target: str
) -> None:
    """Array content needs at least one part: `empty_array`."""
    prefix, call = MESSAGE_WRITES[target]
    await rejected(
        client,
        world,
        lambda: call(client, world, {"role": "user", "content": []}),
        bad(
            f"Invalid '{prefix}content': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            f"{prefix}content",
            "empty_array",
        ),
    )


@message_targets
@pytest.mark.parametrize("kind", ["video", "refusal"])
async def test_message__rejects_a_content_part_of_unknown_type(
    client: AsyncClient, world: World, target: str, kind: str
) -> None:
    """Input parts are text, image_file or image_url (refusal is output-only)."""
    prefix, call = MESSAGE_WRITES[target]
    content = [{"type": "text", "text": "ok"}, {"type": kind, kind: "x"}]
    await rejected(
        client,
        world,
        lambda: call(client, world, {"role": "user", "content": content}),
        bad(
            f"Invalid value: '{kind}'. Supported values are: {PART_TYPES}.",
            f"{prefix}content[1].type",
            "invalid_value",
        ),
    )


@message_targets
async def test_message__rejects_missing_content(
    client: AsyncClient, world: World, target: str
) -> None:
    """A message without content: `missing_required_parameter`."""
    prefix, call = MESSAGE_WRITES[target]
    await rejected(
        client,
        world,
        lambda: call(client, world, {"role": "user", "content": None}),
        bad(
            f"Missing required parameter: '{prefix}content'.",
            f"{prefix}content",
            "missing_required_parameter",
        ),
    )
