"""Validation of tools, sampling, token budgets, truncation, tool_choice and response_format.

Exact message, param and code (CONTRACT §7.1, §7.2), through the client; every rejected request
is also checked to have written nothing (`rejected`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from assistants import AsyncClient
from tests.conftest import WEATHER_TOOL
from tests.helpers import World, bad, ok, rejected

Call = Callable[[AsyncClient, World, Any], Awaitable[Any]]

# --- tools ------------------------------------------------------------------------------------

TOOL_WRITES: dict[str, Call] = {
    "create_assistant": lambda c, w, tools: c.assistants.create(model="gpt-4o", tools=tools),
    "update_assistant": lambda c, w, tools: c.assistants.update(w.assistant_id, tools=tools),
    "create_run": lambda c, w, tools: c.threads.runs.create(
        w.thread_id, assistant_id=w.assistant_id, tools=tools
    ),
    "create_and_run": lambda c, w, tools: c.threads.create_and_run(
        assistant_id=w.assistant_id, tools=tools
    ),
}
tool_targets = pytest.mark.parametrize("target", list(TOOL_WRITES))


def function_tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("target", "limit"),
    [
        ("create_assistant", 128),
        ("update_assistant", 128),
        ("create_run", 20),
        ("create_and_run", 20),
    ],
)
async def test_tools__rejects_one_over_the_limit(
    client: AsyncClient, world: World, target: str, limit: int
) -> None:
    """129 assistant tools or 21 run tools: `array_above_max_length`; the limit itself is fine."""
    too_many = [{"type": "code_interpreter"}] * (limit + 1)
    await rejected(
        client,
        world,
        lambda: TOOL_WRITES[target](client, world, too_many),
        bad(
            f"Invalid 'tools': array too long. Expected an array with maximum length {limit}, "
            f"but got an array with length {limit + 1} instead.",
            "tools",
            "array_above_max_length",
        ),
    )
    result = ok(await TOOL_WRITES[target](client, world, [{"type": "code_interpreter"}] * limit))
    assert len(result.tools) == limit


@tool_targets
async def test_tools__rejects_a_function_name_with_a_space(
    client: AsyncClient, world: World, target: str
) -> None:
    """A function name outside `[a-zA-Z0-9_-]` is refused with the pattern."""
    await rejected(
        client,
        world,
        lambda: TOOL_WRITES[target](client, world, [function_tool("get weather")]),
        bad(
            "Invalid 'tools[0].function.name': string does not match pattern. Expected a string "
            "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
            "tools[0].function.name",
            "invalid_value",
        ),
    )


@tool_targets
async def test_tools__rejects_a_65_char_function_name(
    client: AsyncClient, world: World, target: str
) -> None:
    """A 65-character function name: `string_above_max_length`; 64 is accepted."""
    await rejected(
        client,
        world,
        lambda: TOOL_WRITES[target](client, world, [function_tool("f" * 65)]),
        bad(
            "Invalid 'tools[0].function.name': string too long. Expected a string with maximum "
            "length 64, but got a string with length 65 instead.",
            "tools[0].function.name",
            "string_above_max_length",
        ),
    )
    result = ok(await TOOL_WRITES[target](client, world, [function_tool("f" * 64)]))
    assert result.to_dict()["tools"][0]["function"]["name"] == "f" * 64


@tool_targets
async def test_tools__rejects_a_function_without_a_name(
    client: AsyncClient, world: World, target: str
) -> None:
    """A function with no name: `missing_required_parameter` on `tools[i].function.name`."""
    nameless = {"type": "function", "function": {"description": "no name"}}
    await rejected(
        client,
        world,
        lambda: TOOL_WRITES[target](client, world, [{"type": "code_interpreter"}, nameless]),
        bad(
            "Missing required parameter: 'tools[1].function.name'.",
            "tools[1].function.name",
            "missing_required_parameter",
        ),
    )


@tool_targets
async def test_tools__rejects_duplicate_function_names(
    client: AsyncClient, world: World, target: str
) -> None:
    """Two functions with one name: refused on the second."""
    await rejected(
        client,
        world,
        lambda: TOOL_WRITES[target](client, world, [WEATHER_TOOL, function_tool("get_weather")]),
        bad(
            "Invalid 'tools[1].function.name': duplicate function name 'get_weather'. Function "
            "names must be unique within 'tools'.",
            "tools[1].function.name",
            "invalid_value",
        ),
    )


@tool_targets
async def test_tools__rejects_an_unknown_tool_type(
    client: AsyncClient, world: World, target: str
) -> None:
    """An unknown tool type: `invalid_value` listing the supported types."""
    await rejected(
        client,
        world,
        lambda: TOOL_WRITES[target](client, world, [{"type": "browser"}]),
        bad(
            "Invalid value: 'browser'. Supported values are: 'code_interpreter', 'file_search' "
            "and 'function'.",
            "tools[0].type",
            "invalid_value",
        ),
    )


# --- sampling and token budgets ---------------------------------------------------------------

SAMPLING_WRITES: dict[str, Call] = {
    "create_assistant": lambda c, w, kw: c.assistants.create(model="gpt-4o", **kw),
    "update_assistant": lambda c, w, kw: c.assistants.update(w.assistant_id, **kw),
    "create_run": lambda c, w, kw: c.threads.runs.create(
        w.thread_id, assistant_id=w.assistant_id, **kw
    ),
    "create_and_run": lambda c, w, kw: c.threads.create_and_run(assistant_id=w.assistant_id, **kw),
}


@pytest.mark.parametrize("target", list(SAMPLING_WRITES))
@pytest.mark.parametrize(
    ("field", "value", "message", "code"),
    [
        pytest.param(
            "temperature",
            -0.1,
            "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got "
            "-0.1 instead.",
            "decimal_below_min_value",
            id="temperature=-0.1",
        ),
        pytest.param(
            "temperature",
            2.1,
            "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got "
            "2.1 instead.",
            "decimal_above_max_value",
            id="temperature=2.1",
        ),
        pytest.param(
            "top_p",
            1.5,
            "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 1.5 "
            "instead.",
            "decimal_above_max_value",
            id="top_p=1.5",
        ),
        pytest.param(
            "temperature",
            "hot",
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
            "invalid_type",
            id="temperature=str",
        ),
    ],
)
async def test_sampling__rejects_out_of_range_or_mistyped(
    client: AsyncClient,
    world: World,
    target: str,
    field: str,
    value: object,
    message: str,
    code: str,
) -> None:
    """temperature outside 0-2, top_p above 1, or a string temperature are refused."""
    await rejected(
        client,
        world,
        lambda: SAMPLING_WRITES[target](client, world, {field: value}),
        bad(message, field, code),
    )


@pytest.mark.parametrize("target", list(SAMPLING_WRITES))
async def test_sampling__accepts_the_bounds(client: AsyncClient, world: World, target: str) -> None:
    """temperature 0 and 2, top_p 0 and 1 are accepted."""
    low = ok(await SAMPLING_WRITES[target](client, world, {"temperature": 0, "top_p": 0}))
    assert (low.temperature, low.top_p) == (0.0, 0.0)
    if target in ("create_run", "create_and_run"):
        await client.threads.runs.cancel(low.id, thread_id=low.thread_id)
    high = ok(await SAMPLING_WRITES[target](client, world, {"temperature": 2, "top_p": 1}))
    assert (high.temperature, high.top_p) == (2.0, 1.0)


RUN_WRITES = {k: SAMPLING_WRITES[k] for k in ("create_run", "create_and_run")}


@pytest.mark.parametrize("target", list(RUN_WRITES))
@pytest.mark.parametrize("field", ["max_prompt_tokens", "max_completion_tokens"])
async def test_token_budget__rejects_255_and_accepts_256(
    client: AsyncClient, world: World, target: str, field: str
) -> None:
    """`max_prompt_tokens` / `max_completion_tokens` must be >= 256."""
    await rejected(
        client,
        world,
        lambda: RUN_WRITES[target](client, world, {field: 255}),
        bad(
            f"Invalid '{field}': integer below minimum value. Expected a value >= 256, but got "
            "255 instead.",
            field,
            "integer_below_min_value",
        ),
    )
    run = ok(await RUN_WRITES[target](client, world, {field: 256}))
    assert run.to_dict()[field] == 256


# --- truncation, tool_choice, response_format -------------------------------------------------


@pytest.mark.parametrize("target", list(RUN_WRITES))
async def test_truncation_strategy__rejects_last_messages_0(
    client: AsyncClient, world: World, target: str
) -> None:
    """`truncation_strategy.last_messages` must be >= 1."""
    await rejected(
        client,
        world,
        lambda: RUN_WRITES[target](
            client, world, {"truncation_strategy": {"type": "last_messages", "last_messages": 0}}
        ),
        bad(
            "Invalid 'truncation_strategy.last_messages': integer below minimum value. Expected "
            "a value >= 1, but got 0 instead.",
            "truncation_strategy.last_messages",
            "integer_below_min_value",
        ),
    )


@pytest.mark.parametrize("target", list(RUN_WRITES))
async def test_tool_choice__rejects_an_unknown_string(
    client: AsyncClient, world: World, target: str
) -> None:
    """A `tool_choice` string other than none/auto/required is refused."""
    await rejected(
        client,
        world,
        lambda: RUN_WRITES[target](client, world, {"tool_choice": "sometimes"}),
        bad(
            "Invalid value: 'sometimes'. Supported values are: 'none', 'auto' and 'required'.",
            "tool_choice",
            "invalid_value",
        ),
    )


@pytest.mark.parametrize("target", list(RUN_WRITES))
async def test_tool_choice__rejects_a_function_the_run_does_not_have(
    client: AsyncClient, world: World, target: str
) -> None:
    """A named function must be one of the run's tools (the assistant's, or the override)."""
    choice = {"type": "function", "function": {"name": "lookup"}}
    await rejected(
        client,
        world,
        lambda: RUN_WRITES[target](client, world, {"tool_choice": choice}),
        bad(
            "Invalid 'tool_choice': the function 'lookup' is not one of the run's tools "
            "(get_weather).",
            "tool_choice",
            "invalid_value",
        ),
    )
    weather = {"type": "function", "function": {"name": "get_weather"}}
    await rejected(
        client,
        world,
        lambda: RUN_WRITES[target](
            client, world, {"tool_choice": weather, "tools": [function_tool("lookup")]}
        ),
        bad(
            "Invalid 'tool_choice': the function 'get_weather' is not one of the run's tools "
            "(lookup).",
            "tool_choice",
            "invalid_value",
        ),
    )


@pytest.mark.parametrize("target", ["create_assistant", "create_run", "create_and_run"])
async def test_response_format__rejects_an_unknown_type(
    client: AsyncClient, world: World, target: str
) -> None:
    """`response_format` must be "auto" or an object of type text/json_object/json_schema."""
    call = SAMPLING_WRITES[target]
    await rejected(
        client,
        world,
        lambda: call(client, world, {"response_format": {"type": "xml"}}),
        bad(
            "Invalid value: 'xml'. Supported values are: 'text', 'json_object' and 'json_schema'.",
            "response_format.type",
            "invalid_value",
        ),
    )
    await rejected(
        client,
        world,
        lambda: call(client, world, {"response_format": "json"}),
        bad(
            "Invalid value: 'json'. Supported values are: 'auto'.",
            "response_format",
            "invalid_value",
        ),
    )
