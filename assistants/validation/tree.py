"""Whole JSON values (bodies, schemas): what JSON columns can store and read back."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, Final

from assistants.validation.base import invalid_type, utf8
from assistants.validation.limits import INT_DIGITS_MAX, JSON_DEPTH_MAX
from store.errors import BadRequestError

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
