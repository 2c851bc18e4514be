"""Checks of vector store requests: chunking strategies, expiry, attributes, search options."""

from __future__ import annotations

import math
from typing import Any, Final

from assistants.validation.base import invalid_type, invalid_value, missing
from assistants.validation.scalars import array, integer, number, obj, string
from store.errors import BadRequestError

CHUNK_TOKENS_MIN: Final = 100
CHUNK_TOKENS_MAX: Final = 4096
AUTO_CHUNKING: Final = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
}
"""What `{"type": "auto"}` means (as the hosted API reported it)."""
VECTOR_STORE_FILE_IDS_MAX: Final = 500
VECTOR_STORE_NAME_MAX: Final = 256
ATTRIBUTES_MAX: Final = 16
ATTRIBUTE_KEY_MAX: Final = 64
ATTRIBUTE_VALUE_MAX: Final = 512
SEARCH_RESULTS_MAX: Final = 50
FILE_STATUSES: Final = ("in_progress", "completed", "failed", "cancelled")
_COMPARISONS: Final = ("eq", "ne", "gt", "gte", "lt", "lte")
STORE_PARAMS: Final = (
    "chunking_strategy",
    "description",
    "expires_after",
    "file_ids",
    "metadata",
    "name",
)
"""What `vector_stores.create` takes."""
STORE_UPDATE_PARAMS: Final = ("expires_after", "metadata", "name")
"""What `vector_stores.update` takes."""
FILE_PARAMS: Final = ("file_id", "attributes", "chunking_strategy")
"""What `vector_stores.files.create` takes."""
BATCH_PARAMS: Final = ("file_ids", "files", "attributes", "chunking_strategy")
"""What `vector_stores.file_batches.create` takes."""
SEARCH_OPTIONS: Final = ("filters", "max_num_results", "ranking_options", "rewrite_query")
"""What `vector_stores.search` takes besides `query`."""


def chunking_strategy(value: object, param: str = "chunking_strategy") -> dict[str, Any]:
    """`auto` (800 tokens, 400 overlap) or `static` within the API's limits."""
    if value is None:
        return dict(AUTO_CHUNKING)
    fields = obj(value, param)
    kind = fields.get("type")
    if kind == "auto":
        return dict(AUTO_CHUNKING)
    if kind != "static":
        raise invalid_value(f"{param}.type", kind, ["auto", "static"])
    if "static" not in fields:
        raise missing(f"{param}.static")
    static = obj(fields["static"], f"{param}.static")
    size = integer(
        static.get("max_chunk_size_tokens"),
        f"{param}.static.max_chunk_size_tokens",
        minimum=CHUNK_TOKENS_MIN,
        maximum=CHUNK_TOKENS_MAX,
    )
    overlap = integer(
        static.get("chunk_overlap_tokens"), f"{param}.static.chunk_overlap_tokens", minimum=0
    )
    if overlap > size // 2:
        raise BadRequestError(
            f"Invalid '{param}.static.chunk_overlap_tokens': {overlap}. It must not exceed half "
            f"of max_chunk_size_tokens ({size // 2}).",
            param=f"{param}.static.chunk_overlap_tokens",
            code="invalid_value",
        )
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
    }


def expires_after(value: object, param: str = "expires_after") -> dict[str, Any] | None:
    """`{"anchor": "last_active_at", "days": 1..365}`."""
    if value is None:
        return None
    fields = obj(value, param)
    if fields.get("anchor") != "last_active_at":
        raise invalid_value(f"{param}.anchor", fields.get("anchor"), ["last_active_at"])
    days = integer(fields.get("days"), f"{param}.days", minimum=1, maximum=365)
    return {"anchor": "last_active_at", "days": days}


def file_ids(value: object, param: str = "file_ids") -> list[str]:
    items = array(value, param, max_length=VECTOR_STORE_FILE_IDS_MAX)
    return [string(item, f"{param}[{i}]", max_length=128) for i, item in enumerate(items)]


def attributes(value: object, param: str = "attributes") -> dict[str, Any] | None:
    """Up to 16 keys (64 characters) of strings (512), numbers or booleans."""
    if value is None:
        return None
    fields = obj(value, param)
    if len(fields) > ATTRIBUTES_MAX:
        raise BadRequestError(
            f"Invalid '{param}': too many keys. Expected at most {ATTRIBUTES_MAX}, but got "
            f"{len(fields)}.",
            param=param,
            code="object_above_max_properties",
        )
    out: dict[str, Any] = {}
    for key, item in fields.items():
        string(key, f"{param}.key", max_length=ATTRIBUTE_KEY_MAX)
        if isinstance(item, str):
            string(item, f"{param}.{key}", max_length=ATTRIBUTE_VALUE_MAX)
        elif isinstance(item, bool | int | float):
            if isinstance(item, float) and not math.isfinite(item):
                raise invalid_type(f"{param}.{key}", "a string, number or boolean", item)
        else:
            raise invalid_type(f"{param}.{key}", "a string, number or boolean", item)
        out[key] = item
    return out


def search_query(value: object, param: str = "query") -> str:
    """A query string, or a list of them (joined)."""
    if value is None:
        raise missing(param)
    if isinstance(value, list | tuple):
        parts = array(value, param, min_length=1, max_length=16)
        return " ".join(string(p, f"{param}[{i}]", max_length=4096) for i, p in enumerate(parts))
    return string(value, param, max_length=4096)


def max_num_results(value: object, param: str = "max_num_results") -> int:
    if value is None:
        return 10
    return integer(value, param, minimum=1, maximum=SEARCH_RESULTS_MAX)


def ranking_options(value: object, param: str = "ranking_options") -> dict[str, Any]:
    """`{ranker?: auto | default-2024-11-15 | default_2024_08_21 | none, score_threshold?}`."""
    if value is None:
        return {}
    fields = obj(value, param)
    out: dict[str, Any] = {}
    if fields.get("ranker") is not None:
        ranker = fields["ranker"]
        allowed = ["auto", "default-2024-11-15", "default_2024_08_21", "none"]
        if ranker not in allowed:
            raise invalid_value(f"{param}.ranker", ranker, allowed)
        out["ranker"] = ranker
    if fields.get("score_threshold") is not None:
        out["score_threshold"] = number(
            fields["score_threshold"], f"{param}.score_threshold", minimum=0, maximum=1
        )
    return out


def filters(value: object, param: str = "filters", depth: int = 0) -> dict[str, Any] | None:
    """A comparison `{type: eq|ne|gt|gte|lt|lte, key, value}` or `{type: and|or, filters}`."""
    if value is None:
        return None
    fields = obj(value, param)
    kind = fields.get("type")
    if kind in ("and", "or"):
        if depth > 8:
            raise BadRequestError(f"Invalid '{param}': nested too deeply.", param=param)
        items = array(fields.get("filters"), f"{param}.filters", min_length=1, max_length=32)
        nested = [filters(f, f"{param}.filters[{i}]", depth + 1) for i, f in enumerate(items)]
        return {"type": kind, "filters": nested}
    if kind not in _COMPARISONS:
        raise invalid_value(f"{param}.type", kind, [*_COMPARISONS, "and", "or"])
    key = string(fields.get("key"), f"{param}.key", max_length=ATTRIBUTE_KEY_MAX)
    item = fields.get("value")
    if not isinstance(item, str | int | float | bool):
        raise invalid_type(f"{param}.value", "a string, number or boolean", item)
    return {"type": kind, "key": key, "value": item}


def file_status(value: object, param: str = "filter") -> str | None:
    if value is None:
        return None
    if value not in FILE_STATUSES:
        raise invalid_value(param, value, FILE_STATUSES)
    return str(value)
