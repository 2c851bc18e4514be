"""Python functions as tools: schemas from signatures, execution, errors reported to the model."""

from __future__ import annotations

import json
from typing import Literal

import anyio
import pydantic

from assistants import AsyncClient, FunctionTool, function_tool
from assistants.testing import ScriptedModel, tool_call


class Point(pydantic.BaseModel):
    x: int
    y: int


@function_tool
def area(width: float, height: float = 1.0, unit: Literal["m", "cm"] = "m") -> str:
    """Area of a rectangle.

    Longer explanation that is not part of the description.
    """
    return f"{width * height}{unit}2"


@function_tool(name="move")
async def move_point(point: Point, dx: int) -> Point:
    """Move a point."""
    return Point(x=point.x + dx, y=point.y)


def test_function_tool__schema_from_signature_and_docstring() -> None:
    """Name, first docstring paragraph, required params, defaults and enums become the schema."""
    assert isinstance(area, FunctionTool)
    assert area.definition == {
        "type": "function",
        "function": {
            "name": "area",
            "description": "Area of a rectangle.",
            "parameters": {
                "type": "object",
                "properties": {
                    "width": {"type": "number"},
                    "height": {"type": "number", "default": 1.0},
                    "unit": {"enum": ["m", "cm"], "type": "string", "default": "m"},
                },
                "required": ["width"],
            },
        },
    }
    assert area(2, 3) == "6m2"
    assert move_point.name == "move"
    assert "Point" in json.dumps(move_point.parameters)


async def test_invoke__validates_calls_and_reports_errors_as_outputs() -> None:
    """Valid arguments call the function; bad ones and exceptions become error outputs."""
    assert await area.invoke('{"width": 2, "height": 2.5}') == "5.0m2"
    assert json.loads(await move_point.invoke('{"point": {"x": 1, "y": 2}, "dx": 3}')) == {
        "x": 4,
        "y": 2,
    }
    bad = json.loads(await area.invoke('{"height": "tall"}'))
    assert "Invalid arguments for area" in bad["error"]
    assert "width" in bad["error"]
    not_json = json.loads(await area.invoke("{nope"))
    assert "Invalid arguments" in not_json["error"]

    @function_tool
    def boom() -> None:
        raise RuntimeError("disk on fire")

    assert json.loads(await boom.invoke("{}")) == {"error": "RuntimeError: disk on fire"}


async def test_create_and_run_tools__runs_parallel_calls_until_the_run_ends() -> None:
    """The requested functions run (in parallel), outputs are submitted, the run completes."""
    both_running = anyio.Event()
    seen: list[str] = []

    @function_tool
    async def first(n: int) -> str:
        seen.append("first")
        await both_running.wait()  # only returns once `second` runs too: the calls overlap
        return f"first:{n}"

    @function_tool
    async def second(n: int) -> str:
        seen.append("second")
        both_running.set()
        return f"second:{n}"

    model = ScriptedModel(
        [[tool_call("first", n=1), tool_call("second", n=2)], [tool_call("missing")], "done"]
    )
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", providers={"m": model}, poll_seconds=0.05
    ) as client:
        assistant = await client.assistants.create(
            model="m",
            tools=[
                first.definition,
                second.definition,
                {"type": "function", "function": {"name": "missing"}},
            ],
        )
        thread = await client.threads.create(messages=[{"role": "user", "content": "go"}])
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_run_tools(
                thread.id, assistant_id=assistant.id, functions=[first, second]
            )
        assert run.status == "completed"
        assert sorted(seen) == ["first", "second"]
        second_call = [m.content for m in model.requests[1].messages if m.role == "tool"]
        assert second_call == ["first:1", "second:2"]
        third_call = [m.content for m in model.requests[2].messages if m.role == "tool"]
        assert json.loads(str(third_call[-1])) == {
            "error": "No function named 'missing' is available."
        }
