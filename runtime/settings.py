"""One validated settings object: arguments, then `ASSISTANTS_*` environment, then a TOML file.

The TOML file is `ASSISTANTS_CONFIG` if set, else `assistants.toml` in the working directory if it
exists. Keys are the field names below (a `[assistants]` table or top-level keys).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from store.db import DatabaseURL
from store.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///assistants.db"
_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


class Settings(BaseModel):
    """Every knob of the runtime, with its default."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    database_url: str = DEFAULT_DATABASE_URL
    """Where state lives: `sqlite+aiosqlite:///file.db`, `...:memory:`, `postgresql+asyncpg://`."""
    max_concurrent_runs: int = Field(default=64, ge=1, le=100_000)
    """How many runs one worker executes at once (model calls overlap; the store is shared)."""
    max_runs_per_project: int | None = Field(default=None, ge=1)
    """How many runs of one project (API key) may be in flight at once, across all workers;
    None: no limit. Claims pass over a project at its limit (its runs stay queued)."""
    project_run_limits: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    """`max_runs_per_project` for named projects (`{"team-a": 2}`; env `team-a=2,team-b=8`)."""
    lease_seconds: float = Field(default=15.0, gt=0)
    """How long a worker's claim on a run lasts without a heartbeat before others may take it."""
    heartbeat_seconds: float | None = Field(default=None, gt=0)
    """How often leases are renewed; default a third of `lease_seconds`."""
    poll_seconds: float = Field(default=1.0, gt=0)
    """How often an idle worker looks for queued runs when no wake-up arrives (the guarantee)."""
    sweep_seconds: float = Field(default=1.0, gt=0)
    """How often the sweeper looks for lapsed leases and overdue runs."""
    max_attempts: int = Field(default=3, ge=1)
    """How many times a run may be claimed before a lost worker fails it (`server_error`)."""
    stop_grace_seconds: float = Field(default=10.0, ge=0)
    """On a graceful stop, how long in-flight runs may finish before they are released."""
    delta_flush_seconds: float = Field(default=0.02, ge=0)
    """Token deltas are persisted in batches at most this old (live subscribers see each one)."""
    delta_flush_count: int = Field(default=64, ge=1)
    """... or of at most this many deltas, whichever comes first."""
    model_aliases: dict[str, str] = Field(default_factory=dict)
    """Model names apps send mapped to configured models (`{"gpt-4o": "ollama/qwen2.5"}`)."""
    endpoints: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Named OpenAI-compatible endpoints: `{"name": {"base_url": ..., "api_key_env": ...}}`."""
    embedding_model: str | None = None
    """The model that embeds files' chunks and search queries for vector and hybrid search in
    vector stores, named like any model and routed the same way: an OpenAI-compatible server's
    `/v1/embeddings` (`openai/text-embedding-3-small`, `ollama/nomic-embed-text`, a named
    endpoint's `NAME/model`) or Gemini's (`google/gemini-embedding-001`). Settings file
    `embedding_model = "..."`, env `ASSISTANTS_EMBEDDING_MODEL`, `serve`/`worker`
    `--embedding-model`. None (the default): search is lexical only and needs no network. Chunks
    are embedded when a file is ingested; files ingested before the model was set (or under
    another model) need adding again to be found by meaning."""
    only_configured_providers: bool = False
    """Route only to providers the operator configured (a base URL or key in the environment, an
    endpoint in the settings, or an alias target): `ollama/x` then never reaches a preset's
    default localhost URL on a tenant's say-so. On for `assistants serve` and `assistants worker`,
    off in-process, where the application is its own operator."""
    allow_request_provider_keys: bool = False
    """On the HTTP server, let a chat-completions request carry its own `api_key` / `api_base`
    (`--allow-request-provider-keys`); an `api_base` must still be one this server is configured
    with, and the server's own keys are never sent to it. In-process calls may always."""
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    """USD per million tokens by model (`{"openai/gpt-4o": {"prompt": 2.5, "completion": 10}}`):
    runs and steps then carry a `cost` (an extension field)."""
    provider_timeout_seconds: float = Field(default=600.0, gt=0)
    provider_http_transport: Literal["httpx", "aiohttp"] = "httpx"
    """The connections under the providers' httpx client: httpx's own, or (asyncio only, the
    `aiohttp` extra) aiohttp's, which take about half the CPU per streamed model call."""
    provider_max_retries: int = Field(default=2, ge=0)
    """Retries of one model call (408/409/429/5xx, timeouts, refused connections)."""
    run_retry_budget: int = Field(default=6, ge=0)
    """Retries one run may spend in all across its model calls and fallbacks (each execution)."""
    tracing: bool = True
    """Record spans (runs, model calls, tool calls, completions) in the store: `client.spans`."""
    trace_store_content: bool = True
    """Keep what the model saw and said (prompts, outputs, tool arguments and outputs) in spans;
    off, spans keep timings, tokens and cost only. A run or call may turn it off for itself."""
    trace_queue_size: int = Field(default=10_000, ge=1)
    """Spans waiting for the background writer; past it new spans are dropped (counted, warned),
    so tracing never holds a run back."""
    trace_flush_seconds: float = Field(default=0.05, ge=0)
    """How long the writer gathers spans before writing them in one transaction."""
    otel_export: bool = False
    """Also export spans through OpenTelemetry (the `otel` extra): OTLP/HTTP to the endpoint
    the standard `OTEL_EXPORTER_OTLP_*` variables configure, in the GenAI conventions."""
    trace_retention_days: float | None = Field(default=None, gt=0)
    """Spans older than this are pruned by the worker's sweeper; None keeps them."""
    files_dir: str | None = None
    """Where uploaded files' bytes live beside a SQLite database file (default
    `<database>.files/`). Postgres keeps them in the database, so every machine sees them."""
    accept_unsupported_tools: bool = False
    """Accept built-in tools this runtime cannot run (`code_interpreter`) and ignore them, logged
    once per assistant, for apps that list them without using them; off: they are a 400."""
    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1, le=2**31 - 1)
    """The largest file an upload may carry (bytes); a larger one is a 413 and nothing is kept."""

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        DatabaseURL.parse(value)
        return value

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_seconds or self.lease_seconds / 3

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Arguments (`overrides`, `None` meaning unset) over env over the TOML file.

        An invalid value is a `ConfigurationError` naming where it came from: the TOML file's
        path, the `ASSISTANTS_*` variable, or the argument.
        """
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        path, from_file = _from_toml()
        values.update(from_file)
        sources.update(dict.fromkeys(from_file, str(path)))
        from_env = _from_env()
        values.update(from_env)
        sources.update({k: f"ASSISTANTS_{k.upper()}" for k in from_env})
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        sources.update(dict.fromkeys(given, "argument"))
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])} "
                f"(from {sources.get(str(e['loc'][0]) if e['loc'] else '', 'settings')}): "
                f"{e['msg']}"
                for e in exc.errors()
            )
            raise ConfigurationError(f"Invalid settings: {problems}") from None
        except ConfigurationError as exc:  # the database URL validator's own message
            raise ConfigurationError(
                f"{exc} (from {sources.get('database_url', 'settings')})"
            ) from None


def _from_env() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = os.environ.get(f"ASSISTANTS_{name.upper()}")
        if raw is None or raw == "":
            continue
        if name == "model_aliases":
            out[name] = parse_aliases(raw.split(","))
        elif name == "project_run_limits":
            out[name] = parse_run_limits(raw.split(","))
        elif field.annotation in (int, "int"):
            out[name] = raw
        else:
            out[name] = raw
    return out


def parse_aliases(items: list[str]) -> dict[str, str]:
    """`["gpt-4o=ollama/qwen2.5", "*=test"]` as a mapping, refusing malformed entries."""
    aliases: dict[str, str] = {}
    for item in items:
        entry = item.strip()
        if not entry:
            continue
        name, sep, target = entry.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise ConfigurationError(
                f"Invalid model alias {entry!r}: expected NAME=MODEL, e.g. 'gpt-4o=ollama/qwen2.5'."
            )
        aliases[name.strip()] = target.strip()
    return aliases


def parse_endpoints(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`["ollama=http://127.0.0.1:11434/v1"]` as endpoints, refusing malformed entries."""
    endpoints: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, url = item.strip().partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not _ENDPOINT_NAME.match(name) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"Invalid endpoint {item!r}: expected NAME=BASE_URL with a name of letters, "
                "digits, '.', '_' or '-' and an http(s) URL, e.g. "
                "'ollama=http://127.0.0.1:11434/v1'."
            )
        endpoints[name] = {"base_url": url}
    return endpoints


def parse_run_limits(items: list[str]) -> dict[str, str]:
    """`["team-a=2", "team-b=8"]` as a mapping (the numbers are validated as settings),
    refusing malformed entries."""
    limits: dict[str, str] = {}
    for item in items:
        entry = item.strip()
        if not entry:
            continue
        project, sep, limit = entry.rpartition("=")
        if not sep or not project.strip() or not limit.strip():
            raise ConfigurationError(
                f"Invalid project run limit {entry!r}: expected PROJECT=N, e.g. 'team-a=2'."
            )
        limits[project.strip()] = limit.strip()
    return limits


def _from_toml() -> tuple[Path, dict[str, Any]]:
    """The settings file (`ASSISTANTS_CONFIG`, else `./assistants.toml`) and its values."""
    explicit = os.environ.get("ASSISTANTS_CONFIG")
    path = Path(explicit) if explicit else Path("assistants.toml")
    if not path.is_file():
        if explicit:
            raise ConfigurationError(f"ASSISTANTS_CONFIG names {explicit!r}, which does not exist.")
        return path, {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"Invalid TOML in {path}: {exc}") from None
    section = data.get("assistants", data)
    if not isinstance(section, dict):
        raise ConfigurationError(f"{path}: the [assistants] table must be a table.")
    return path.resolve(), dict(section)
