"""The OpenAI-compatible HTTP server (`assistants serve`; the `server` extra)."""

from assistants.server.app import create_app
from assistants.server.auth import KeyRing
from assistants.server.settings import Settings as ServerSettings

__all__ = ["KeyRing", "ServerSettings", "create_app"]
