"""The command line's settings (file, env, flags) and its databases: each failure to open one
as one line naming the cause and the fix."""

from __future__ import annotations

import argparse
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from runtime.settings import Settings, parse_aliases, parse_endpoints
from store.db import DatabaseURL
from store.errors import ConfigurationError


def settings_for(args: argparse.Namespace, **overrides: Any) -> Settings:
    """The settings file, then env, then these flags: the same rules for every command.

    `serve` and `worker` take model names from tenants: their settings are `operator_settings`.
    """
    if getattr(args, "config", None):
        if not os.path.isfile(args.config):
            raise ConfigurationError(
                f"--config names {args.config!r}, which does not exist: pass the path of a "
                "TOML settings file."
            )
        os.environ["ASSISTANTS_CONFIG"] = args.config  # the one place settings files are read
    overrides["database_url"] = args.database_url
    if getattr(args, "model_alias", None):
        aliases = dict(Settings.load().model_aliases)
        aliases.update(parse_aliases(args.model_alias))
        overrides["model_aliases"] = aliases
    if getattr(args, "embedding_model", None):
        overrides["embedding_model"] = args.embedding_model
    if args.command in ("serve", "worker"):
        return operator_settings(args.endpoint, **overrides)
    return Settings.load(**overrides)


def operator_settings(endpoint_flags: Sequence[str] = (), **overrides: object) -> Settings:
    """Settings for `serve` and `worker`: tenants send the model names, so only providers the
    operator configured are routable unless the settings say otherwise. `endpoint_flags`
    (`--endpoint NAME=BASE_URL`) add to the settings' endpoints."""
    if endpoint_flags:
        endpoints = dict(Settings.load().endpoints)
        endpoints.update(parse_endpoints(endpoint_flags))
        overrides["endpoints"] = endpoints
    settings = Settings.load(**overrides)
    if "only_configured_providers" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"only_configured_providers": True})


def read_keys_file(path: str) -> list[str]:
    """The key specs in `path`: one a line; blank lines and `#` comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the API keys file {path}: {exc.strerror}.") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def shown_url(url: str) -> str:
    """The database as a person reads it: SQLite's absolute file path, a URL without password."""
    parsed = DatabaseURL.parse(url)
    if parsed.dialect == "sqlite":
        assert parsed.path is not None
        return parsed.path if parsed.path == ":memory:" else os.path.abspath(parsed.path)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def database_problem(exc: BaseException, url: str) -> ConfigurationError | None:
    """A failure to open the database as one readable line (cause and fix), if it is one."""
    if isinstance(exc, ConfigurationError):
        return exc
    if isinstance(exc, ModuleNotFoundError) and exc.name == "asyncpg":
        return ConfigurationError(
            "Postgres needs the 'postgres' extra (asyncpg is not installed): "
            "pip install 'assistants-runtime[postgres]'."
        )
    where = shown_url(url)
    if DatabaseURL.parse(url).dialect == "sqlite":
        if isinstance(exc, OSError | sqlite3.Error):
            reason = getattr(exc, "strerror", None) or str(exc)
            return ConfigurationError(
                f"Cannot open the SQLite database {where}: {reason}. Choose a writable path "
                "with --database-url or ASSISTANTS_DATABASE_URL."
            )
        return None
    if isinstance(exc, OSError | TimeoutError):
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return ConfigurationError(
            f"Cannot reach the database {where}: {reason}. Is Postgres running there? "
            "Check the host and port in --database-url or ASSISTANTS_DATABASE_URL."
        )
    if type(exc).__module__.startswith("asyncpg"):
        return ConfigurationError(
            f"The database {where} refused the connection: {exc}. Check the user, password "
            "and database name in --database-url or ASSISTANTS_DATABASE_URL."
        )
    return None


async def check_database(url: str) -> None:
    """Open (creating the schema if needed) and close: errors surface before serving."""
    from store.store import Store  # noqa: PLC0415

    try:
        store = await Store.open(url)
    except Exception as exc:
        problem = database_problem(exc, url)
        if problem is None:
            raise
        raise problem from exc
    await store.close()


async def upgrade_schema(settings: Settings) -> None:
    from store.db import open_database  # noqa: PLC0415
    from store.migrate import current_version, upgrade  # noqa: PLC0415

    url = settings.database_url
    try:
        db = open_database(url)
        await db.connect()
    except Exception as exc:
        problem = database_problem(exc, url)
        if problem is None:
            raise
        raise problem from exc
    try:
        before = await current_version(db)
        applied = await upgrade(db)
        after = await current_version(db)
    finally:
        await db.close()
    from store.store import SCHEMA_VERSION  # noqa: PLC0415

    where = shown_url(url)
    if after > SCHEMA_VERSION:
        raise ConfigurationError(
            f"The database {where} has schema version {after}, newer than this release knows "
            f"({SCHEMA_VERSION}): upgrade the assistants-runtime package."
        )
    if applied:
        print(f"{where}: upgraded from schema version {before} to {after}")
    else:
        print(f"{where}: already at schema version {after}")
