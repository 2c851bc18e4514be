"""Request-level parameters: list paging, `include`, tool outputs, and the extensions
(fallbacks, variables)."""

from __future__ import annotations

from assistants.validation.base import invalid_value, missing
from assistants.validation.limits import ALLOWED_INCLUDE, FALLBACKS_MAX, TOOL_OUTPUT_MAX
from assistants.validation.scalars import array, integer, model_name, obj, optional_string, string


def list_params(
    limit: object, order: object, after: object, before: object
) -> tuple[int, str, str | None, str | None]:
    lim = 20 if limit is None else integer(limit, "limit", minimum=1, maximum=100)
    ordering = "desc" if order is None else order
    if ordering not in ("asc", "desc"):
        raise invalid_value("order", ordering, ["asc", "desc"])
    return (
        lim,
        str(ordering),
        optional_string(after, "after"),
        optional_string(before, "before"),
    )


def include(value: object, param: str = "include") -> list[str]:
    if value is None:
        return []
    items = array(value, param)
    for i, item in enumerate(items):
        if item != ALLOWED_INCLUDE:
            raise invalid_value(f"{param}[{i}]", item, [ALLOWED_INCLUDE])
    return [str(i) for i in items]


def tool_outputs(value: object, param: str = "tool_outputs") -> list[dict[str, str]]:
    if value is None:
        raise missing(param)
    out: list[dict[str, str]] = []
    for i, raw in enumerate(array(value, param)):
        path = f"{param}[{i}]"
        item = obj(raw, path)
        if item.get("tool_call_id") is None:
            raise missing(f"{path}.tool_call_id")
        call_id = string(item["tool_call_id"], f"{path}.tool_call_id")
        output = item.get("output")
        output = (
            "" if output is None else string(output, f"{path}.output", max_length=TOOL_OUTPUT_MAX)
        )
        out.append({"tool_call_id": call_id, "output": output})
    return out


def fallbacks(value: object, param: str = "fallbacks") -> list[str] | None:
    """Models to try, in order, when the run's model fails for good (an extension)."""
    if value is None:
        return None
    items = array(value, param, max_length=FALLBACKS_MAX)
    return [model_name(item, f"{param}[{i}]") for i, item in enumerate(items)]


def variables(value: object, param: str = "variables") -> dict[str, str] | None:
    """Run variables for `{{name}}` placeholders: string keys, string values."""
    if value is None:
        return None
    items = obj(value, param)
    for key, item in items.items():
        string(item, f"{param}.{key}")
    return dict(items)
