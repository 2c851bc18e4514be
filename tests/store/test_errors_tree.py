"""The exception tree drawn in `store.errors`'s docstring is the module's class hierarchy."""

from __future__ import annotations

import inspect
import re

import pytest

from store import errors

# "    ├── NotFoundError          404   unknown object id": indent, branch, name, status, note.
LINE = re.compile(r"^(?P<indent>(?:│   |    )*)(?:[├└]── )?(?P<name>[A-Z]\w*)\s+(?P<rest>.*)$")


def _drawn_tree(doc: str) -> dict[str, tuple[str | None, int | None]]:
    """Each drawn class with its drawn parent and drawn HTTP status (if any)."""
    block = doc.split("\n\n")[1]
    parents: list[str] = []
    tree: dict[str, tuple[str | None, int | None]] = {}
    for raw in block.splitlines():
        line = raw.removeprefix("    ")
        match = LINE.match(line)
        assert match, f"not a tree line: {raw!r}"
        depth = len(match["indent"]) // 4 + (1 if re.search(r"[├└]── ", line) else 0)
        del parents[depth:]
        status = re.match(r"(\d{3})\s", match["rest"])
        tree[match["name"]] = (parents[-1] if parents else None, int(status[1]) if status else None)
        parents.append(match["name"])
    return tree


def _actual_tree() -> dict[str, tuple[str | None, int | None]]:
    """Each exception class of the module with its base and (for API errors) its status."""
    tree: dict[str, tuple[str | None, int | None]] = {}
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if cls.__module__ != errors.__name__ or not issubclass(cls, Exception):
            continue
        (base,) = cls.__bases__
        parent = base.__name__ if base.__module__ == errors.__name__ else None
        status = None
        if issubclass(cls, errors.APIError) and cls is not errors.APIError:
            status = cls.status_code
        tree[name] = (parent, status)
    return tree


def test_error_tree__drawing_matches_the_classes() -> None:
    """Every class is drawn under its base with its HTTP status, and nothing else is drawn."""
    assert errors.__doc__ is not None
    assert _drawn_tree(errors.__doc__) == _actual_tree()


def test_error_tree__parser_notices_a_missing_class() -> None:
    """The comparison fails when a class is left out of the drawing (the parser is not blind)."""
    assert errors.__doc__ is not None
    doc = "\n".join(
        line for line in errors.__doc__.splitlines() if "DatabaseUnavailableError" not in line
    )
    with pytest.raises(AssertionError):
        assert _drawn_tree(doc) == _actual_tree()
