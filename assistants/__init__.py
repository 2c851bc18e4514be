"""A self-hosted, persistent runtime for the OpenAI Assistants API model.

from assistants import Client

client = Client()   # SQLite file, embedded worker
run = client.beta.threads.runs.create_and_poll(thread_id=..., assistant_id=...)
"""

import importlib as _importlib
import importlib.util
import os
import sys
import typing as _typing


def _refuse_shadowed_packages() -> None:
    """`store` and `runtime` install as top-level packages beside `assistants`: an app's own
    `store.py` or `runtime/` found first on sys.path would hide them (and fail obscurely later)."""
    root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for name in ("store", "runtime"):
        module = sys.modules.get(name)
        if module is not None:
            origin = getattr(module, "__file__", None)
            locations = list(getattr(module, "__path__", []))
        else:
            spec = importlib.util.find_spec(name)
            if spec is None:
                raise ImportError(
                    f"assistants-runtime is incompletely installed: its '{name}' package is "
                    "missing; reinstall it (pip install --force-reinstall assistants-runtime).",
                    name=name,
                )
            origin = spec.origin
            locations = list(spec.submodule_search_locations or [])
        expected = os.path.join(root, name, "__init__.py")
        if origin is not None and os.path.realpath(origin) == expected:
            continue
        found = origin if origin not in (None, "namespace") else (locations or ["?"])[0]
        raise ImportError(
            f"{found} shadows the '{name}' package of assistants-runtime (installed in "
            f"{root}): rename your '{name}' module or directory (or move it off sys.path), "
            "then run again.",
            name=name,
            path=found,
        )


_refuse_shadowed_packages()

from assistants._client import AsyncClient  # noqa: E402  (after the check above)
from assistants._sync import Client  # noqa: E402
from assistants._types import NOT_GIVEN, NotGiven  # noqa: E402
from assistants.errors import (  # noqa: E402
    APIError,
    AssistantsError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    RequestTooLargeError,
)
from assistants.tools import FunctionTool, function_tool  # noqa: E402
from runtime.settings import Settings  # noqa: E402

if _typing.TYPE_CHECKING:
    from assistants.streaming.handler import AssistantEventHandler, AsyncAssistantEventHandler

    __version__: str

__all__ = [
    "NOT_GIVEN",
    "APIError",
    "AssistantEventHandler",
    "AssistantsError",
    "AsyncAssistantEventHandler",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "FunctionTool",
    "InternalServerError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLargeError",
    "Settings",
    "function_tool",
]

# Imported on first use (PEP 562): the stream handlers pull in httpx and the event models.
# Type checkers see the imports above instead, so a misspelt name stays an error for them.
_LAZY = {
    "AssistantEventHandler": "assistants.streaming.handler",
    "AsyncAssistantEventHandler": "assistants.streaming.handler",
}

if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """The lazy exports, and `__version__` (from the installed package's metadata)."""
        if name == "__version__":
            from importlib.metadata import version  # noqa: PLC0415  (only when asked)

            return version("assistants-runtime")
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'assistants' has no attribute {name!r}")
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value
        return value
