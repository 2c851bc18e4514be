"""A self-hosted, persistent runtime for the OpenAI Assistants API model.

from assistants import Client

client = Client()   # SQLite file, embedded worker
run = client.beta.threads.runs.create_and_poll(thread_id=..., assistant_id=...)
"""

import importlib as _importlib
import typing as _typing

from assistants._client import AsyncClient
from assistants._sync import Client
from assistants._types import NOT_GIVEN, NotGiven
from assistants.errors import (
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
from assistants.tools import FunctionTool, function_tool
from runtime.settings import Settings

if _typing.TYPE_CHECKING:
    from assistants.streaming.handler import AssistantEventHandler, AsyncAssistantEventHandler

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
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'assistants' has no attribute {name!r}")
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value
        return value
