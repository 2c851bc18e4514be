"""A `FunctionTool` is accepted wherever a tool definition is, and stored as its JSON definition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest

from assistants import AsyncClient, BadRequestError, Client, FunctionTool, function_tool
from store.types import Model

CODE_INTERPRETER = {"type": "code_interpreter"}


@function_tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather for a city."""
    return f"sunny in {city} ({unit})"


@function_tool(name="get_time")
def local_time(city: str) -> str:
    """Local time in a city."""
    return f"noon in {city}"


def plain_function(city: str) -> str:
    return city


def _json(tools: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools:
        assert isinstance(tool, Model)
        out.append(tool.model_dump(mode="json", exclude_none=True))
    return out


async def test_async_client__takes_function_tools_in_every_tools_parameter(
    client: AsyncClient,
) -> None:
    """assistants create/update, runs.create and create_and_run store a FunctionTool's definition."""
    assistant = await client.assistants.create(model="test", tools=[get_weather, CODE_INTERPRETER])
    assert _json(assistant.tools) == [get_weather.definition, CODE_INTERPRETER]
    stored = await client.assistants.retrieve(assistant.id)
    assert _json(stored.tools) == [get_weather.definition, CODE_INTERPRETER]

    def generated() -> Iterator[FunctionTool[..., str]]:
        yield local_time
        yield get_weather

    updated = await client.assistants.update(assistant.id, tools=generated())
    assert _json(updated.tools) == [local_time.definition, get_weather.definition]

    thread = await client.threads.create()
    run = await client.threads.runs.create(thread.id, assistant_id=assistant.id, tools=[local_time])
    assert _json(run.tools) == [local_time.definition]
    retrieved = await client.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert _json(retrieved.tools) == [local_time.definition]

    other = await client.threads.create_and_run(assistant_id=assistant.id, tools=[get_weather])
    assert _json(other.tools) == [get_weather.definition]


async def test_async_client__refuses_what_is_not_a_tool(client: AsyncClient) -> None:
    """A bare function, a tool outside a list and a duplicate name are 400s in OpenAI's words."""
    with pytest.raises(BadRequestError) as bare:
        await client.assistants.create(model="test", tools=[plain_function])  # type: ignore[list-item]
    assert bare.value.message == (
        "Invalid type for 'tools[0]': expected an object, but got a function instead."
    )
    assert bare.value.param == "tools[0]"

    with pytest.raises(BadRequestError) as single:
        await client.assistants.create(model="test", tools=get_weather)  # type: ignore[arg-type]
    assert single.value.message == (
        "Invalid type for 'tools': expected an array, but got a FunctionTool instead."
    )

    assistant = await client.assistants.create(model="test")
    thread = await client.threads.create()
    with pytest.raises(BadRequestError) as duplicate:
        await client.threads.runs.create(
            thread.id, assistant_id=assistant.id, tools=[get_weather, get_weather]
        )
    assert duplicate.value.param == "tools[1].function.name"
    assert "duplicate function name 'get_weather'" in duplicate.value.message


def test_sync_client__takes_function_tools_in_every_tools_parameter() -> None:
    """The blocking client converts FunctionTools the same way (through the async client)."""
    with Client(
        database_url="sqlite+aiosqlite:///:memory:", worker=False, accept_unsupported_tools=True
    ) as client:
        assistant = client.beta.assistants.create(model="test", tools=[get_weather])
        assert _json(assistant.tools) == [get_weather.definition]
        updated = client.beta.assistants.update(assistant.id, tools=[local_time, CODE_INTERPRETER])
        assert _json(updated.tools) == [local_time.definition, CODE_INTERPRETER]
        thread = client.beta.threads.create()
        run = client.beta.threads.runs.create(
            thread.id, assistant_id=assistant.id, tools=[get_weather]
        )
        assert _json(run.tools) == [get_weather.definition]
        other = client.beta.threads.create_and_run(assistant_id=assistant.id, tools=[local_time])
        assert _json(other.tools) == [local_time.definition]
        with pytest.raises(BadRequestError, match=r"'tools\[0\]': expected an object"):
            client.beta.assistants.create(model="test", tools=[plain_function])  # type: ignore[list-item]
