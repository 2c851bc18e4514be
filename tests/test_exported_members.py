"""`assistants` exports exactly its documented public names, each importable."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import assistants
import assistants.errors
import assistants.streaming

# The public names: the client, stream handlers and error tree of the design's public API, the
# `NOT_GIVEN` sentinel of openai-python's signatures, settings, and Python function tools.
DOCUMENTED = {
    "AsyncClient",
    "Client",
    "AssistantEventHandler",
    "AsyncAssistantEventHandler",
    "AssistantsError",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLargeError",
    "NOT_GIVEN",
    "NotGiven",
    "Settings",
    "FunctionTool",
    "function_tool",
}


def test_all__is_exactly_the_documented_names() -> None:
    """`assistants.__all__` lists each documented name once, and nothing else."""
    assert sorted(assistants.__all__) == sorted(DOCUMENTED)


def test_all__names_every_public_member() -> None:
    """No public name sits in the package's namespace without being in `__all__`."""
    public = {
        name
        for name, value in vars(assistants).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public <= set(assistants.__all__)


def test_documented_names__are_importable_from_the_package() -> None:
    """`from assistants import X` works for each name, in a fresh interpreter."""
    names = ", ".join(sorted(DOCUMENTED))
    done = subprocess.run(
        [sys.executable, "-c", f"from assistants import {names}"],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_exports__are_the_objects_of_their_home_modules() -> None:
    """The handlers are `assistants.streaming`'s and the errors `assistants.errors`'s."""
    assert assistants.AssistantEventHandler is assistants.streaming.AssistantEventHandler
    assert assistants.AsyncAssistantEventHandler is assistants.streaming.AsyncAssistantEventHandler
    for name in assistants.errors.__all__:
        assert getattr(assistants, name) is getattr(assistants.errors, name), name


def test_unknown_name__raises_attribute_error() -> None:
    """Asking the package for a name it does not have is an AttributeError naming it."""
    with pytest.raises(AttributeError, match="has no attribute 'AssistantEventHandlr'"):
        assistants.AssistantEventHandlr  # type: ignore[attr-defined]  # noqa: B018
