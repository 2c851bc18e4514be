"""API keys: who may call the server, and which project each caller's objects belong to.

With no keys configured every request is in the project "default" (the server then listens on
loopback only, unless told otherwise). With keys, a request needs `Authorization: Bearer <key>`
with a known key; each key has a project of its own (or the one named as `KEY=PROJECT`), and a
key never sees another project's objects: they are 404s to it, not 403s.

A key's own project id is `key_` + HMAC-SHA256(server secret, key), so a copy of the database
alone does not let anyone test guesses of the keys: the secret lives outside the database (see
`load_secret`). Projects made before that were keyed by an unsalted SHA-256 of the key;
`KeyRing.legacy_moves` names them so that start-up can hand their objects to the new ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url

from store.errors import AuthenticationError, ConfigurationError
from store.log import get_logger

log = get_logger("assistants.server")

DEFAULT_PROJECT = "default"
SECRET_ENV: Final = "ASSISTANTS_SECRET"  # noqa: S105  (the variable's name, not a secret)
SECRET_MIN_CHARS: Final = 32
"""The shortest secret taken (`secrets.token_hex(32)` makes a 64-character one)."""


def legacy_project_of(key: str) -> str:
    """The project id keys had before ids were keyed with the server secret."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def project_of(key: str, secret: bytes) -> str:
    """A key's own project id: a keyed hash, not reversible from the database alone."""
    return "key_" + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:32]


class KeyRing:
    """The configured API keys and their projects.

    `secret` keys the project ids of keys given without a project; it is required when there
    are such keys (`load_secret` finds or makes one).
    """

    def __init__(self, specs: Iterable[str] = (), *, secret: bytes | None = None) -> None:
        self._keys: dict[str, str] = {}
        self._legacy: dict[str, str] = {}
        for spec in specs:
            key, sep, project = spec.strip().partition("=")
            key = key.strip()
            if not key:
                continue
            if sep and not project.strip():
                raise ConfigurationError(
                    "Invalid API key spec: expected KEY or KEY=PROJECT, got an empty PROJECT."
                )
            if sep:
                self._keys[key] = project.strip()
                continue
            if secret is None:
                raise ConfigurationError(
                    "API keys without a named project need the server secret: pass one (or "
                    f"set {SECRET_ENV}), or name each key's project as KEY=PROJECT."
                )
            self._keys[key] = project_of(key, secret)
            self._legacy[legacy_project_of(key)] = self._keys[key]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    @property
    def legacy_moves(self) -> Mapping[str, str]:
        """Old project id -> new project id, for every key whose project id is derived."""
        return dict(self._legacy)

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


def load_secret(
    database_url: str, *, secret_file: str | Path | None = None, env: Mapping[str, str] = os.environ
) -> bytes:
    """The server secret that keys project ids, kept outside the database.

    In order: `ASSISTANTS_SECRET`; the file `secret_file` (created, 0600, if missing, on SQLite
    only); on a SQLite file database, `<database>.secret` next to it (created, 0600, on first
    start); on in-memory SQLite, a fresh random secret (the data dies with the process anyway).
    A Postgres database is shared by many processes, which must all use the same secret: it
    must come from `ASSISTANTS_SECRET` or an existing `secret_file`, or start-up fails.
    """
    from_env = env.get(SECRET_ENV)
    if from_env:
        return _checked(from_env, SECRET_ENV)
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if secret_file is not None:
        return _read_or_create(Path(secret_file), create=sqlite)
    if not sqlite:
        raise ConfigurationError(
            "A server with API keys on Postgres needs the secret that keys project ids, the "
            f"same in every server process: set {SECRET_ENV} (e.g. to the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`) or pass --secret-file."
        )
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return secrets.token_hex(32).encode()
    return _read_or_create(Path(database + ".secret"), create=True)


def _checked(text: str, origin: str) -> bytes:
    text = text.strip()
    if len(text) < SECRET_MIN_CHARS:
        raise ConfigurationError(
            f"The server secret from {origin} is too short: use at least {SECRET_MIN_CHARS} "
            "random characters."
        )
    return text.encode()


def _read_or_create(path: Path, *, create: bool) -> bytes:
    if not path.exists():
        if not create:
            raise ConfigurationError(
                f"The secret file {path} does not exist. On Postgres every server process needs "
                "the same secret: create it once (0600) and give it to each of them."
            )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
            log.info("secret_created", path=str(path))
    if path.stat().st_mode & 0o077:
        log.warning("secret_file_readable_by_others", path=str(path), mode=oct(path.stat().st_mode))
    return _checked(path.read_text(), str(path))
