"""A self-hosted, persistent runtime for the OpenAI Assistants API model.

from assistants import Client

client = Client()   # SQLite file, embedded worker
run = client.beta.threads.runs.create_and_poll(thread_id=..., assistant_id=...)
"""

import importlib.util
import os
import sys


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
    BadRequestError,
    NotFoundError,
)
from assistants.tools import FunctionTool, function_tool  # noqa: E402
from runtime.settings import Settings  # noqa: E402


def __getattr__(name: str) -> str:
    """`assistants.__version__`, read from the installed package's metadata on first use."""
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415  (only when asked)

        return version("assistants-runtime")
    raise AttributeError(f"module 'assistants' has no attribute {name!r}")


__all__ = [
    "NOT_GIVEN",
    "APIError",
    "AssistantsError",
    "AsyncClient",
    "BadRequestError",
    "Client",
    "FunctionTool",
    "NotFoundError",
    "NotGiven",
    "Settings",
    "function_tool",
]
