"""API keys: who may call the server, and which project each caller's objects belong to.

With no keys configured every request is in the project "default" (the server then listens on
loopback only, unless told otherwise). With keys, a request needs `Authorization: Bearer <key>`
with a known key; each key has a project of its own (or the one named as `KEY=PROJECT`), and a
key never sees another project's objects: they are 404s to it, not 403s.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from store.errors import AuthenticationError, ConfigurationError

DEFAULT_PROJECT = "default"


def _project_of(key: str) -> str:
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]


class KeyRing:
    """The configured API keys and their projects."""

    def __init__(self, specs: Iterable[str] = ()) -> None:
        self._keys: dict[str, str] = {}
        for spec in specs:
            key, sep, project = spec.strip().partition("=")
            key = key.strip()
            if not key:
                continue
            if sep and not project.strip():
                raise ConfigurationError(
                    f"Invalid API key spec {spec!r}: expected KEY or KEY=PROJECT."
                )
            self._keys[key] = project.strip() if sep else _project_of(key)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def project_for(self, authorization: str | None) -> str:
        """The caller's project, or a 401 in OpenAI's wording."""
        if not self._keys:
            return DEFAULT_PROJECT
        if not authorization:
            raise AuthenticationError(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="missing_api_key",
            )
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationError(
                "Malformed Authorization header: expected 'Bearer YOUR_KEY'.",
                code="invalid_api_key",
            )
        for known, project in self._keys.items():
            if hmac.compare_digest(known.encode(), key.encode()):
                return project
        shown = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 8 else "***"
        raise AuthenticationError(f"Incorrect API key provided: {shown}.", code="invalid_api_key")
