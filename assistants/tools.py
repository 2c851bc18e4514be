"""Python functions as function tools, run for you.

    @function_tool
    def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
        \"\"\"Current weather for a city.\"\"\"
        ...

    run = await client.threads.runs.create_and_run_tools(
        thread_id, assistant_id=assistant.id, functions=[get_weather]
    )

`function_tool` builds the tool's JSON schema from the signature and the docstring (pydantic).
When the model asks for calls, each is validated against that schema, called (sync functions in
a worker thread, async ones awaited; several calls at once when the model asked for several),
and its result submitted: strings as they are, anything else as JSON. An exception, or arguments
that do not validate, is submitted as an error output for the model to read; it never crashes
the run or the caller.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, get_type_hints, overload

import anyio
import pydantic

from assistants._types import NOT_GIVEN

P = ParamSpec("P")
R = TypeVar("R")


class FunctionTool(Generic[P, R]):
    """A Python function with the function-tool definition the model sees."""

    def __init__(
        self, fn: Callable[P, R], *, name: str | None = None, description: str | None = None
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        doc = inspect.getdoc(fn) or ""
        self.description = description if description is not None else doc.split("\n\n")[0]
        self.model = _arguments_model(fn, self.name)
        schema = self.model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        self.parameters: dict[str, Any] = schema
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    @property
    def definition(self) -> dict[str, Any]:
        """The tool as the API takes it: `{"type": "function", "function": {...}}`."""
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}

    async def invoke(self, arguments: str) -> str:
        """Validate `arguments` (JSON), call the function, and return the output to submit."""
        try:
            values = self.model.model_validate_json(arguments or "{}")
        except pydantic.ValidationError as exc:
            errors = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            return json.dumps({"error": f"Invalid arguments for {self.name}: {errors}"})
        kwargs = {name: getattr(values, name) for name in type(values).model_fields}
        fn: Callable[..., Any] = self.fn
        try:
            if inspect.iscoroutinefunction(fn):
                result: Any = await fn(**kwargs)
            else:
                result = await anyio.to_thread.run_sync(functools.partial(fn, **kwargs))
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:  # noqa: BLE001  (reported to the model, by design)
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        return _output(result)


@overload
def function_tool(fn: Callable[P, R], /) -> FunctionTool[P, R]: ...


@overload
def function_tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...


def function_tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Make a Python function a tool (usable bare, `@function_tool`, or `@function_tool(name=)`)."""
    if fn is None:

        def decorate(f: Callable[P, R]) -> FunctionTool[P, R]:
            return FunctionTool(f, name=name, description=description)

        return decorate
    return FunctionTool(fn, name=name, description=description)


def _arguments_model(fn: Callable[..., Any], name: str) -> type[pydantic.BaseModel]:
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    model: type[pydantic.BaseModel] = pydantic.create_model(f"{name}_arguments", **fields)
    return model


def _output(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, pydantic.BaseModel):
        return result.model_dump_json()
    try:
        return json.dumps(result, default=str)
    except (TypeError, ValueError):
        return str(result)


def tool_definitions(tools: Any) -> Any:
    """A `tools` parameter as the API takes it: each `FunctionTool` becomes its JSON definition.

    Iterables (generators included) are materialised as a list; anything else (`NOT_GIVEN`,
    `None`, a value of the wrong type) is returned as it is, for validation to report.
    """
    if tools is NOT_GIVEN or tools is None or isinstance(tools, str | dict):
        return tools
    try:
        items = list(tools)
    except TypeError:
        return tools
    return [tool.definition if isinstance(tool, FunctionTool) else tool for tool in items]


def as_tools(functions: Iterable[Callable[..., Any]]) -> dict[str, FunctionTool[..., Any]]:
    """Functions (plain or already `function_tool`s) by tool name."""
    tools: dict[str, FunctionTool[..., Any]] = {}
    for fn in functions:
        tool = fn if isinstance(fn, FunctionTool) else FunctionTool(fn)
        tools[tool.name] = tool
    return tools


async def run_calls(
    calls: Sequence[Any], tools: dict[str, FunctionTool[..., Any]]
) -> list[dict[str, str]]:
    """Execute the required calls (concurrently) and return the outputs to submit, in order."""
    outputs: list[dict[str, str]] = [{} for _ in calls]

    async def one(index: int, call: Any) -> None:
        tool = tools.get(call.function.name)
        if tool is None:
            output = json.dumps(
                {"error": f"No function named {call.function.name!r} is available."}
            )
        else:
            output = await tool.invoke(call.function.arguments)
        outputs[index] = {"tool_call_id": call.id, "output": output}

    async with anyio.create_task_group() as tg:
        for index, call in enumerate(calls):
            tg.start_soon(one, index, call)
    return outputs
