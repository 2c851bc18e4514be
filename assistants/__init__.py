"""A self-hosted, persistent runtime for the OpenAI Assistants API model.

from assistants import Client

client = Client()   # SQLite file, embedded worker
run = client.beta.threads.runs.create_and_poll(thread_id=..., assistant_id=...)
"""

from assistants._client import AsyncClient
from assistants._sync import Client
from assistants._types import NOT_GIVEN, NotGiven
from assistants.errors import (
    APIError,
    AssistantsError,
    BadRequestError,
    NotFoundError,
)
from assistants.tools import FunctionTool, function_tool
from runtime.settings import Settings

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
