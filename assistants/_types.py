"""The `NOT_GIVEN` sentinel: a parameter the caller did not pass (as opposed to `None`)."""

from __future__ import annotations

from typing import Any, Final, Literal, TypeVar

from typing_extensions import override

_T = TypeVar("_T")


class NotGiven:
    """The type of `NOT_GIVEN`: falsy, and distinct from `None`, which means "use the default"."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    @override
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


def given(**params: Any) -> dict[str, Any]:
    """The parameters the caller actually passed."""
    return {k: v for k, v in params.items() if v is not NOT_GIVEN}
