"""What the server needs beyond the client's settings."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from assistants.server.auth import KeyRing
from assistants.server.guard import LOOPBACK_HOSTS, MAX_BODY_BYTES


class Settings:
    """What the server needs beyond the client's settings."""

    def __init__(
        self,
        *,
        keys: KeyRing,
        max_body_bytes: int = MAX_BODY_BYTES,
        long_poll_seconds: float = 10.0,
        cors_origins: Collection[str] = (),
        allowed_hosts: Collection[str] = LOOPBACK_HOSTS,
        body_types: dict[str, Iterable[str]] | None = None,
        inspector: bool = True,
    ) -> None:
        self.keys = keys
        self.max_body_bytes = max_body_bytes
        self.long_poll_seconds = long_poll_seconds
        self.cors_origins = tuple(cors_origins)
        """Web origins whose pages may call the server (CORS); any other `Origin` is a 403."""
        self.allowed_hosts = tuple(allowed_hosts)
        """`Host` names answered without API keys (loopback only by default)."""
        self.body_types = body_types
        """Path prefix -> media types its request bodies may have (default: JSON only)."""
        self.inspector = inspector
        """Serve the inspector page at `/inspector` (see `assistants.server.inspection`)."""
