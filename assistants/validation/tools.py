"""Tool definitions and the run settings that steer them: tool choice, response format,
truncation, reasoning effort."""

from __future__ import annotations

import re
from typing import Any, Final

from assistants.validation import vector_stores as vv
from assistants.validation.base import invalid_value, missing
from assistants.validation.limits import FILE_IDS_MAX, FUNCTION_NAME_MAX
from assistants.validation.scalars import array, boolean, integer, metadata, number, obj, string
from assistants.validation.tree import json_tree
from store.errors import BadRequestError

_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_REASONING_EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def _function(value: object, param: str) -> dict[str, Any]:
    fn = obj(value, param)
    if "name" not in fn or fn["name"] is None:
        raise missing(f"{param}.name")
    name = string(fn["name"], f"{param}.name", max_length=FUNCTION_NAME_MAX)
    if not _FUNCTION_NAME.match(name):
        raise BadRequestError(
            f"Invalid '{param}.name': string does not match pattern. Expected a string that "
            f"matches the pattern '^[a-zA-Z0-9_-]+$'.",
            param=f"{param}.name",
            code="invalid_value",
        )
    out: dict[str, Any] = {"name": name}
    if fn.get("description") is not None:
        out["description"] = string(fn["description"], f"{param}.description")
    if fn.get("parameters") is not None:
        out["parameters"] = obj(fn["parameters"], f"{param}.parameters")
        json_tree(out["parameters"], f"{param}.parameters")
    if fn.get("strict") is not None:
        out["strict"] = boolean(fn["strict"], f"{param}.strict")
    return out


def _file_search_tool(value: object, param: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file_search"}
    if value is None:
        return out
    fs = obj(value, param)
    fs_out: dict[str, Any] = {}
    if fs.get("max_num_results") is not None:
        fs_out["max_num_results"] = integer(
            fs["max_num_results"], f"{param}.max_num_results", minimum=1, maximum=50
        )
    if fs.get("ranking_options") is not None:
        ro_path = f"{param}.ranking_options"
        ro = obj(fs["ranking_options"], ro_path)
        if ro.get("score_threshold") is None:
            raise missing(f"{ro_path}.score_threshold")
        ro_out: dict[str, Any] = {
            "score_threshold": number(
                ro["score_threshold"], f"{ro_path}.score_threshold", minimum=0, maximum=1
            )
        }
        if ro.get("ranker") is not None:
            if ro["ranker"] not in ("auto", "default_2024_08_21"):
                raise invalid_value(
                    f"{ro_path}.ranker", ro["ranker"], ["auto", "default_2024_08_21"]
                )
            ro_out["ranker"] = ro["ranker"]
        fs_out["ranking_options"] = ro_out
    out["file_search"] = fs_out
    return out


def tools(value: object, param: str = "tools", *, max_length: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(array(value, param, max_length=max_length)):
        path = f"{param}[{i}]"
        tool = obj(item, path)
        kind = tool.get("type")
        if kind is None:
            raise missing(f"{path}.type")
        if kind == "function":
            if tool.get("function") is None:
                raise missing(f"{path}.function")
            fn = _function(tool["function"], f"{path}.function")
            if fn["name"] in seen:
                raise BadRequestError(
                    f"Invalid '{path}.function.name': duplicate function name '{fn['name']}'. "
                    "Function names must be unique within 'tools'.",
                    param=f"{path}.function.name",
                    code="invalid_value",
                )
            seen.add(fn["name"])
            result.append({"type": "function", "function": fn})
        elif kind == "code_interpreter":
            result.append({"type": "code_interpreter"})
        elif kind == "file_search":
            result.append(_file_search_tool(tool.get("file_search"), f"{path}.file_search"))
        else:
            raise invalid_value(
                f"{path}.type", kind, ["code_interpreter", "file_search", "function"]
            )
    return result


def tool_resources(
    value: object, param: str = "tool_resources", *, allow_vector_stores: bool = False
) -> dict[str, Any] | None:
    if value is None:
        return None
    res = obj(value, param)
    out: dict[str, Any] = {}
    ci = res.get("code_interpreter")
    if ci is not None:
        ci = obj(ci, f"{param}.code_interpreter")
        ids = ci.get("file_ids")
        file_ids = (
            []
            if ids is None
            else array(ids, f"{param}.code_interpreter.file_ids", max_length=FILE_IDS_MAX)
        )
        for j, fid in enumerate(file_ids):
            string(fid, f"{param}.code_interpreter.file_ids[{j}]")
        out["code_interpreter"] = {"file_ids": file_ids}
    fs = res.get("file_search")
    if fs is not None:
        fs = obj(fs, f"{param}.file_search")
        vs_ids = fs.get("vector_store_ids")
        stores = fs.get("vector_stores")
        if stores is not None and not allow_vector_stores:
            raise BadRequestError(
                f"Unknown parameter: '{param}.file_search.vector_stores'.",
                param=f"{param}.file_search.vector_stores",
                code="unknown_parameter",
            )
        if vs_ids is not None and stores is not None:
            raise BadRequestError(
                f"Invalid '{param}.file_search': expected exactly one of 'vector_store_ids' or "
                "'vector_stores', but got both.",
                param=f"{param}.file_search",
                code="invalid_value",
            )
        ids_list = (
            []
            if vs_ids is None
            else array(vs_ids, f"{param}.file_search.vector_store_ids", max_length=1)
        )
        for j, vid in enumerate(ids_list):
            string(vid, f"{param}.file_search.vector_store_ids[{j}]")
        if stores is not None:
            # The helper that creates a vector store on the fly: checked here, made (and
            # replaced by its id) when the object is created.
            helpers = array(stores, f"{param}.file_search.vector_stores", max_length=1)
            made = [
                vector_store_helper(h, f"{param}.file_search.vector_stores[{j}]")
                for j, h in enumerate(helpers)
            ]
            out["file_search"] = {"vector_stores": made}
        else:
            out["file_search"] = {"vector_store_ids": ids_list}
    return out


def response_format(value: object, param: str = "response_format") -> Any:
    if value is None:
        return None
    if value == "auto":
        return "auto"
    if isinstance(value, str):
        raise invalid_value(param, value, ["auto"])
    fmt = obj(value, param)
    kind = fmt.get("type")
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "json_schema":
        if fmt.get("json_schema") is None:
            raise missing(f"{param}.json_schema")
        js = obj(fmt["json_schema"], f"{param}.json_schema")
        if js.get("name") is None:
            raise missing(f"{param}.json_schema.name")
        out: dict[str, Any] = {
            "name": string(js["name"], f"{param}.json_schema.name", max_length=64)
        }
        if js.get("description") is not None:
            out["description"] = string(js["description"], f"{param}.json_schema.description")
        if js.get("schema") is not None:
            out["schema"] = obj(js["schema"], f"{param}.json_schema.schema")
            json_tree(out["schema"], f"{param}.json_schema.schema")
        if js.get("strict") is not None:
            out["strict"] = boolean(js["strict"], f"{param}.json_schema.strict")
        return {"type": "json_schema", "json_schema": out}
    if kind is None:
        raise missing(f"{param}.type")
    raise invalid_value(f"{param}.type", kind, ["text", "json_object", "json_schema"])


def tool_choice(value: object, param: str = "tool_choice") -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        if value not in ("none", "auto", "required"):
            raise invalid_value(param, value, ["none", "auto", "required"])
        return value
    choice = obj(value, param)
    kind = choice.get("type")
    if kind == "function":
        fn = choice.get("function")
        if fn is None:
            raise missing(f"{param}.function")
        fn = obj(fn, f"{param}.function")
        if fn.get("name") is None:
            raise missing(f"{param}.function.name")
        return {
            "type": "function",
            "function": {"name": string(fn["name"], f"{param}.function.name")},
        }
    if kind in ("code_interpreter", "file_search"):
        return {"type": kind}
    if kind is None:
        raise missing(f"{param}.type")
    raise invalid_value(f"{param}.type", kind, ["function", "code_interpreter", "file_search"])


def truncation_strategy(value: object, param: str = "truncation_strategy") -> dict[str, Any] | None:
    if value is None:
        return None
    ts = obj(value, param)
    kind = ts.get("type")
    if kind is None:
        raise missing(f"{param}.type")
    if kind not in ("auto", "last_messages"):
        raise invalid_value(f"{param}.type", kind, ["auto", "last_messages"])
    last = ts.get("last_messages")
    if last is not None:
        last = integer(last, f"{param}.last_messages", minimum=1)
    if kind == "last_messages" and last is None:
        raise missing(f"{param}.last_messages")
    return {"type": kind, "last_messages": last}


def reasoning_effort(value: object, param: str = "reasoning_effort") -> str | None:
    if value is None:
        return None
    if value not in _REASONING_EFFORTS:
        raise invalid_value(param, value, list(_REASONING_EFFORTS))
    return str(value)


def vector_store_helper(value: object, param: str) -> dict[str, Any]:
    """One `vector_stores` entry: `{file_ids?, chunking_strategy?, metadata?}`."""
    fields = obj(value, param)
    for key in fields:
        if key not in ("file_ids", "chunking_strategy", "metadata"):
            raise BadRequestError(
                f"Unrecognized request argument supplied: {param}.{key}",
                param=f"{param}.{key}",
                code="unknown_parameter",
            )
    file_ids = fields.get("file_ids")
    return {
        "file_ids": [] if file_ids is None else vv.file_ids(file_ids, f"{param}.file_ids"),
        "chunking_strategy": vv.chunking_strategy(
            fields.get("chunking_strategy"), f"{param}.chunking_strategy"
        ),
        "metadata": metadata(fields.get("metadata"), f"{param}.metadata"),
    }
