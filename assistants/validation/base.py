"""The API's wording for a refused value, and the text check every string gets."""

from __future__ import annotations

from collections.abc import Sequence

from store.errors import BadRequestError


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
