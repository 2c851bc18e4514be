"""Request validation with the real API's wording, `param` and `code` (CONTRACT §7).

Every check takes a raw value (from a Python call or a JSON body), returns it normalised and
JSON-ready, or raises `BadRequestError`. Paths in messages follow the API: `tools[0].function.name`,
`metadata.key`, `messages[2].content`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, Final

from store.errors import BadRequestError

METADATA_MAX_PAIRS: Final = 16
METADATA_KEY_MAX: Final = 64
METADATA_VALUE_MAX: Final = 512
ASSISTANT_NAME_MAX: Final = 256
ASSISTANT_DESCRIPTION_MAX: Final = 512
INSTRUCTIONS_MAX: Final = 256_000
ASSISTANT_TOOLS_MAX: Final = 128
RUN_TOOLS_MAX: Final = 20
FUNCTION_NAME_MAX: Final = 64
FILE_IDS_MAX: Final = 20
TOKENS_MIN: Final = 256
MESSAGE_CONTENT_MAX: Final = 256_000
"""Characters in one text part (or a plain string content): the API's message content limit."""
MESSAGE_PARTS_MAX: Final = 100
"""Content parts in one message (the API documents none; one text part per paragraph fits)."""
MESSAGE_ATTACHMENTS_MAX: Final = 20
"""Attachments on one message (as many as code_interpreter takes file ids)."""
THREAD_MESSAGES_MAX: Final = 1_000
"""Messages given at once: a new thread's `messages`, a run's `additional_messages`."""
JSON_DEPTH_MAX: Final = 64
"""Levels of nested objects and arrays in a request body, the body itself being level 1."""
INT_DIGITS_MAX: Final = 4_300
"""Digits of the longest integer taken (Python's own int-to-text limit)."""
TOOL_OUTPUT_MAX: Final = 512_000
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_REASONING_EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
ALLOWED_INCLUDE: Final = "step_details.tool_calls[*].file_search.results[*].content"


def type_name(value: object) -> str:
    """The JSON type of `value` as the API names it: "a string", "an integer", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


def invalid_type(param: str, expected: str, value: object) -> BadRequestError:
    return BadRequestError(
        f"Invalid type for '{param}': expected {expected}, but got {type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def missing(param: str) -> BadRequestError:
    return BadRequestError(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def invalid_value(param: str, value: object, allowed: Sequence[str]) -> BadRequestError:
    shown = ", ".join(f"'{a}'" for a in allowed[:-1])
    listed = f"{shown} and '{allowed[-1]}'" if shown else f"'{allowed[-1]}'"
    return BadRequestError(
        f"Invalid value: '{value}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


INTEGER_MAX: Final = 2**31 - 1
"""The largest integer any numeric field takes (larger ones would not even fit the store)."""


def utf8(value: str, param: str) -> str:
    """Refuse strings with lone surrogates (valid JSON escapes, but not text: not storable)
    and with NUL characters (Postgres text cannot hold them; refused on every backend)."""
    if "\x00" in value:
        raise BadRequestError(
            f"Invalid '{param}': the string contains a NUL character (\\u0000), which is not "
            "allowed.",
            param=param,
            code="invalid_value",
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequestError(
                f"Invalid '{param}': the string is not valid Unicode text (it contains a lone "
                "surrogate).",
                param=param,
                code="invalid_value",
            ) from None
    return value


_SMALL_INT_BITS: Final = 14_000
"""Integers shorter than this many bits have fewer than INT_DIGITS_MAX digits: no text check."""


def _join(path: Sequence[str | int]) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _too_deep(param: str, path: Sequence[str | int]) -> BadRequestError:
    named = param or _join(path[:4])  # the field itself; in a whole body, its first levels
    return BadRequestError(
        f"Invalid '{named}': objects and arrays nested too deeply. Expected at most "
        f"{JSON_DEPTH_MAX} levels of nesting, but got more at "
        f"'{_join([*([param] if param else []), *path[:8]])}...'.",
        param=named,
        code="nesting_too_deep",
    )


def _scalar(value: object, param: str) -> None:
    if isinstance(value, str):
        utf8(value, param)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if value.bit_length() < _SMALL_INT_BITS:
            return
        try:
            str(value)  # Python refuses past its int-to-text limit (INT_DIGITS_MAX digits)
        except ValueError:
            raise BadRequestError(
                f"Invalid '{param}': integer too large. Expected an integer with at most "
                f"{INT_DIGITS_MAX} digits.",
                param=param,
                code="invalid_value",
            ) from None
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):  # noqa: PLR0124
            raise BadRequestError(
                f"Invalid '{param}': {value} is not a JSON number. Expected a finite number.",
                param=param,
                code="invalid_value",
            )
    else:
        raise invalid_type(param, "a JSON value", value)


def _plain(item: object) -> bool:
    """A value nothing needs checking in: null, a boolean, a machine-sized integer, a plain
    ASCII string without NUL."""
    if isinstance(item, str):
        return item.isascii() and "\x00" not in item
    if item is None or isinstance(item, bool):
        return True
    return isinstance(item, int) and item.bit_length() < _SMALL_INT_BITS


def json_tree(value: object, param: str = "", *, max_depth: int = JSON_DEPTH_MAX) -> None:
    """Refuse what JSON columns cannot store and read back: nesting deeper than `max_depth`
    levels, NUL characters or lone surrogates in strings and keys, integers past
    `INT_DIGITS_MAX` digits, NaN and the infinities, keys that are not strings.

    Iterative (no recursion limit to hit), one pass; paths are spelled out only for an error.
    Skipped when the HTTP server has already checked the whole request body (`body_checked`).
    """
    if _BODY_CHECKED.get():
        return
    if not isinstance(value, dict | list | tuple):
        _scalar(value, param or "body")
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) >= max_depth:
            raise _too_deep(param, path)
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    raise invalid_type(_join([param, *path]) + " key", "a string", key)
                if "\x00" in key or not key.isascii():
                    utf8(key, _join([param, *path]) or "body")
                if isinstance(item, dict | list | tuple):
                    stack.append((item, (*path, key)))
                elif not _plain(item):
                    _scalar(item, _join([param, *path, key]))
        else:
            for index, item in enumerate(node):
                if isinstance(item, dict | list | tuple):
                    stack.append((item, (*path, index)))
                elif not _plain(item):
                    _scalar(item, _join([param, *path, index]))


_BODY_CHECKED: ContextVar[bool] = ContextVar("body_checked", default=False)


def body_checked() -> None:
    """Mark the rest of this task's validation as working on a request body that `json_tree`
    has already checked whole (the HTTP server does so off the event loop): not walked again."""
    _BODY_CHECKED.set(True)


def string(value: object, param: str, *, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    utf8(value, param)
    if max_length is not None and len(value) > max_length:
        raise BadRequestError(
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{max_length}, but got a string with length {len(value)} instead.",
            param=param,
            code="string_above_max_length",
        )
    return value


MODEL_NAME_MAX: Final = 256
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._:@/+-]+$")


def model_name(value: object, param: str = "model") -> str:
    """A model name (`ollama/llama3.2:1b`, `anthropic/claude-sonnet-4-5@20250929`): letters,
    digits and `. _ : @ / + -`, in `/`-separated segments none of which is empty, `.` or `..`.

    The name ends up in provider URLs and request bodies, so nothing else gets through.
    """
    name = string(value, param, max_length=MODEL_NAME_MAX)
    bad_segment = any(seg in ("", ".", "..") for seg in name.split("/"))
    if not _MODEL_NAME.match(name) or bad_segment:
        shown = name if name.isprintable() else repr(name)
        raise BadRequestError(
            f"Invalid '{param}': '{shown}' is not a valid model name. Model names use letters, "
            "digits and '.', '_', ':', '@', '/', '+', '-', in '/'-separated segments that are "
            "not empty, '.' or '..' (e.g. 'ollama/llama3.2:1b', 'openai/gpt-4o-mini').",
            param=param,
            code="invalid_value",
        )
    return name


def optional_string(value: object, param: str, *, max_length: int | None = None) -> str | None:
    return None if value is None else string(value, param, max_length=max_length)


def boolean(value: object, param: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_type(param, "a boolean", value)
    return value


def number(value: object, param: str, *, minimum: float, maximum: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(param, "a decimal", value)
    if value != value or value < minimum:  # noqa: PLR0124  (NaN is not equal to itself)
        raise BadRequestError(
            f"Invalid '{param}': decimal below minimum value. Expected a value >= {minimum:g}, "
            f"but got {value} instead.",
            param=param,
            code="decimal_below_min_value",
        )
    if value > maximum:
        raise BadRequestError(
            f"Invalid '{param}': decimal above maximum value. Expected a value <= {maximum:g}, "
            f"but got {value} instead.",
            param=param,
            code="decimal_above_max_value",
        )
    return float(value)


def integer(
    value: object, param: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(param, "an integer", value)
    if maximum is None:
        maximum = INTEGER_MAX
    if minimum is not None and value < minimum:
        raise BadRequestError(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, "
            f"but got {value} instead.",
            param=param,
            code="integer_below_min_value",
        )
    if maximum is not None and value > maximum:
        raise BadRequestError(
            f"Invalid '{param}': integer above maximum value. Expected a value <= {maximum}, "
            f"but got {value} instead.",
            param=param,
            code="integer_above_max_value",
        )
    return value


def token_budget(value: object, param: str) -> int | None:
    return None if value is None else integer(value, param, minimum=TOKENS_MIN)


def array(
    value: object, param: str, *, max_length: int | None = None, min_length: int = 0
) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise invalid_type(param, "an array", value)
    if max_length is not None and len(value) > max_length:
        raise BadRequestError(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{max_length}, but got an array with length {len(value)} instead.",
            param=param,
            code="array_above_max_length",
        )
    if len(value) < min_length:
        raise BadRequestError(
            f"Invalid '{param}': empty array. Expected an array with minimum length "
            f"{min_length}, but got an empty array instead.",
            param=param,
            code="empty_array",
        )
    return list(value)


def obj(value: object, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    return value


def metadata(value: object, param: str = "metadata") -> dict[str, str] | None:
    """At most 16 pairs, keys of at most 64 characters, string values of at most 512."""
    if value is None:
        return None
    items = obj(value, param)
    if len(items) > METADATA_MAX_PAIRS:
        raise BadRequestError(
            f"Invalid '{param}': too many properties. Expected an object with at most "
            f"{METADATA_MAX_PAIRS} properties, but got an object with {len(items)} properties "
            "instead.",
            param=param,
            code="object_above_max_properties",
        )
    for key, item in items.items():
        if not isinstance(key, str):
            raise invalid_type(f"{param} key", "a string", key)
        utf8(key, param)
        if len(key) > METADATA_KEY_MAX:
            raise BadRequestError(
                f"Invalid property name in '{param}': '{key}' is too long. Expected a string with "
                f"maximum length {METADATA_KEY_MAX}, but got a string with length {len(key)} "
                "instead.",
                param=f"{param}.{key}",
                code="property_name_above_max_length",
            )
        string(item, f"{param}.{key}", max_length=METADATA_VALUE_MAX)
    return dict(items)


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
            out: dict[str, Any] = {"type": "file_search"}
            if tool.get("file_search") is not None:
                fs = obj(tool["file_search"], f"{path}.file_search")
                fs_out: dict[str, Any] = {}
                if fs.get("max_num_results") is not None:
                    fs_out["max_num_results"] = integer(
                        fs["max_num_results"],
                        f"{path}.file_search.max_num_results",
                        minimum=1,
                        maximum=50,
                    )
                if fs.get("ranking_options") is not None:
                    ro = obj(fs["ranking_options"], f"{path}.file_search.ranking_options")
                    ro_path = f"{path}.file_search.ranking_options"
                    if ro.get("score_threshold") is None:
                        raise missing(f"{ro_path}.score_threshold")
                    ro_out: dict[str, Any] = {
                        "score_threshold": number(
                            ro["score_threshold"],
                            f"{ro_path}.score_threshold",
                            minimum=0,
                            maximum=1,
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
            result.append(out)
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
            array(stores, f"{param}.file_search.vector_stores", max_length=1)
            raise BadRequestError(
                "Creating vector stores is not supported by this server: create the vector store "
                "elsewhere and pass 'vector_store_ids'.",
                param=f"{param}.file_search.vector_stores",
                code="unsupported_parameter",
            )
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


def _detail(part: dict[str, Any], path: str) -> str | None:
    detail = part.get("detail")
    if detail is None:
        return None
    if detail not in ("auto", "low", "high"):
        raise invalid_value(f"{path}.detail", detail, ["auto", "low", "high"])
    return str(detail)


def message_content(value: object, param: str = "content") -> list[dict[str, Any]]:
    """Input content (a string or an array of parts) as output content parts."""
    if value is None:
        raise missing(param)
    if isinstance(value, str):
        string(value, param, max_length=MESSAGE_CONTENT_MAX)
        return [{"type": "text", "text": {"value": value, "annotations": []}}]
    parts = array(value, param, min_length=1, max_length=MESSAGE_PARTS_MAX)
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(parts):
        path = f"{param}[{i}]"
        part = obj(raw, path)
        kind = part.get("type")
        if kind == "text":
            if part.get("text") is None:
                raise missing(f"{path}.text")
            text = string(part["text"], f"{path}.text", max_length=MESSAGE_CONTENT_MAX)
            out.append({"type": "text", "text": {"value": text, "annotations": []}})
        elif kind == "image_file":
            img = obj(part.get("image_file"), f"{path}.image_file")
            if img.get("file_id") is None:
                raise missing(f"{path}.image_file.file_id")
            out.append(
                {
                    "type": "image_file",
                    "image_file": {
                        "file_id": string(img["file_id"], f"{path}.image_file.file_id"),
                        "detail": _detail(img, f"{path}.image_file"),
                    },
                }
            )
        elif kind == "image_url":
            img = obj(part.get("image_url"), f"{path}.image_url")
            if img.get("url") is None:
                raise missing(f"{path}.image_url.url")
            out.append(
                {
                    "type": "image_url",
                    "image_url": {
                        "url": string(img["url"], f"{path}.image_url.url"),
                        "detail": _detail(img, f"{path}.image_url") or "auto",
                    },
                }
            )
        elif kind is None:
            raise missing(f"{path}.type")
        else:
            raise invalid_value(f"{path}.type", kind, ["text", "image_file", "image_url"])
    return out


def role(value: object, param: str = "role") -> str:
    if value is None:
        raise missing(param)
    if value not in ("user", "assistant"):
        raise invalid_value(param, value, ["user", "assistant"])
    return str(value)


def attachments(value: object, param: str = "attachments") -> list[dict[str, Any]] | None:
    if value is None:
        return None
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(array(value, param, max_length=MESSAGE_ATTACHMENTS_MAX)):
        path = f"{param}[{i}]"
        att = obj(raw, path)
        item: dict[str, Any] = {}
        if att.get("file_id") is not None:
            item["file_id"] = string(att["file_id"], f"{path}.file_id")
        tools_out: list[dict[str, str]] = []
        for j, tool in enumerate(array(att.get("tools") or [], f"{path}.tools")):
            kind = obj(tool, f"{path}.tools[{j}]").get("type")
            if kind not in ("code_interpreter", "file_search"):
                raise invalid_value(
                    f"{path}.tools[{j}].type", kind, ["code_interpreter", "file_search"]
                )
            tools_out.append({"type": str(kind)})
        item["tools"] = tools_out
        out.append(item)
    return out


def new_message(value: object, param: str) -> dict[str, Any]:
    """One message to store (`messages[i]`, `additional_messages[i]`, or a plain create: "")."""
    msg = obj(value, param or "body")
    prefix = f"{param}." if param else ""
    return {
        "role": role(msg.get("role"), f"{prefix}role"),
        "content": message_content(msg.get("content"), f"{prefix}content"),
        "attachments": attachments(msg.get("attachments"), f"{prefix}attachments"),
        "metadata": metadata(msg.get("metadata"), f"{prefix}metadata"),
    }


def new_messages(value: object, param: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = array(value, param, max_length=THREAD_MESSAGES_MAX)
    return [new_message(m, f"{param}[{i}]") for i, m in enumerate(items)]


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


FALLBACKS_MAX: Final = 5


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
