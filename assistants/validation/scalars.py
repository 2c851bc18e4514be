"""Single fields: strings, numbers, arrays, objects, metadata and model names."""

from __future__ import annotations

from typing import Any

from assistants.validation.base import invalid_type, utf8
from assistants.validation.limits import (
    INTEGER_MAX,
    METADATA_KEY_MAX,
    METADATA_MAX_PAIRS,
    METADATA_VALUE_MAX,
    TOKENS_MIN,
)
from runtime.providers import names
from store.errors import BadRequestError


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


def model_name(value: object, param: str = "model") -> str:
    """A string that is a model name the router takes (`runtime.providers.names`)."""
    return names.model_name(string(value, param, max_length=names.MODEL_NAME_MAX), param)


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
