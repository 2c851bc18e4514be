"""The `assistants` command: `serve`, `worker` and `db upgrade`.

    assistants serve                                   # http://127.0.0.1:8000/v1, embedded worker
    assistants serve --no-worker --database-url postgresql+asyncpg://... --api-key KEY
    assistants worker --database-url postgresql+asyncpg://... --concurrency 10
    assistants db upgrade --database-url ...

Logging is chosen here (the application), never in the library: `--log-level`, `--log-json`
(before or after the subcommand). A start-up error is one line naming the cause and the fix, and
a non-zero exit; `--traceback` (or `--log-level debug`) adds the traceback.
"""

from __future__ import annotations

import argparse
import contextvars
import errno
import os
import signal
import socket
import sqlite3
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio

from assistants import cli_spans
from assistants.logs import configure_logging
from runtime.settings import Settings, parse_aliases, parse_endpoints
from store.db import DatabaseURL
from store.errors import ConfigurationError
from store.log import get_logger

log = get_logger("assistants.cli")

LOOPBACK = ("127.0.0.1", "localhost", "::1")
LEVELS = ("debug", "info", "warning", "error")


def _version() -> str:
    from importlib.metadata import version  # noqa: PLC0415  (only for --version)

    return version("assistants-runtime")


def _logging_options() -> argparse.ArgumentParser:
    """Accepted before and after the subcommand (`assistants serve --log-level debug`)."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("logging")
    group.add_argument(
        "--log-level", choices=LEVELS, default=argparse.SUPPRESS, help="(default: info)"
    )
    group.add_argument(
        "--log-json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="render logs as JSON lines (default: console lines on stderr)",
    )
    group.add_argument(
        "--traceback",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the traceback of a start-up error (also with --log-level debug)",
    )
    return options


def _runtime_options() -> argparse.ArgumentParser:
    """What `serve` and `worker` share, so an API process and its workers agree."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--database-url",
        help="default: ASSISTANTS_DATABASE_URL, the settings file, or ./assistants.db (SQLite)",
    )
    options.add_argument(
        "--config",
        metavar="PATH",
        help="settings file (TOML; default: ASSISTANTS_CONFIG, or ./assistants.toml if present)",
    )
    options.add_argument(
        "--model-alias",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="run model NAME on MODEL (repeatable; '*=MODEL' for any other name); added to "
        "the settings' model_aliases",
    )
    options.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="NAME=BASE_URL",
        help="serve models NAME/... from this OpenAI-compatible server, e.g. "
        "ollama=http://127.0.0.1:11434/v1 (repeatable; keys and headers: the settings file)",
    )
    return options


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.HelpFormatter
    logging_options, runtime_options = _logging_options(), _runtime_options()
    parser = argparse.ArgumentParser(
        prog="assistants",
        description=(__doc__ or "").split("\n")[0],
        parents=[logging_options],
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="the OpenAI-compatible HTTP server (/v1)",
        description="Serve the Assistants API on HTTP; Ctrl-C stops it gracefully.",
        parents=[logging_options, runtime_options],
        formatter_class=formatter,
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default: %(default)s)"
    )
    serve.add_argument("--no-worker", action="store_true", help="leave runs to `assistants worker`")
    serve.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="accept this Bearer key (repeatable; KEY=PROJECT to name its project); "
        "also ASSISTANTS_API_KEYS (comma-separated)",
    )
    serve.add_argument(
        "--api-keys-file",
        help="accept the keys in this file, one per line (KEY or KEY=PROJECT; preferred, like "
        "ASSISTANTS_API_KEYS: --api-key shows keys to anyone who can list processes)",
    )
    serve.add_argument(
        "--secret-file",
        help="the secret that keys project ids (default: ASSISTANTS_SECRET, or on SQLite a "
        "0600 file next to the database; required on Postgres, the same for every server)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let web pages from ORIGIN (e.g. http://localhost:3000) call the server "
        "(repeatable; also ASSISTANTS_CORS_ORIGINS, comma-separated)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="without API keys, also answer to Host NAME (default: loopback names only)",
    )
    serve.add_argument(
        "--inspector",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve the inspector page at /inspector (default: on when listening on loopback; "
        "also ASSISTANTS_INSPECTOR=1 or 0)",
    )
    serve.add_argument(
        "--allow-request-provider-keys",
        action="store_true",
        help="let /v1/chat/completions requests bring their own provider api_key, and an "
        "api_base among the endpoints configured here (the server's keys never go with it)",
    )
    serve.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow listening beyond loopback without API keys",
    )

    worker = commands.add_parser(
        "worker",
        help="execute queued runs from a shared database",
        description="Execute queued runs; SIGTERM or Ctrl-C stops it gracefully.",
        parents=[logging_options, runtime_options],
        formatter_class=formatter,
    )
    worker.add_argument("--concurrency", type=int, help="runs executed at once (default 64)")
    worker.add_argument("--worker-id", help="a stable name for this worker (default: host:pid)")

    db = commands.add_parser(
        "db", help="database schema", parents=[logging_options], formatter_class=formatter
    )
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="create or upgrade the schema",
        parents=[logging_options],
        formatter_class=formatter,
    )
    upgrade.add_argument(
        "--database-url",
        help="default: ASSISTANTS_DATABASE_URL, the settings file, or ./assistants.db (SQLite)",
    )
    upgrade.add_argument("--config", metavar="PATH", help="settings file (TOML)")
    cli_spans.add_commands(commands, [logging_options])
    return parser


# --- settings and databases -----------------------------------------------------------------


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
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


def _read_keys_file(path: str) -> list[str]:
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


async def _check_database(url: str) -> None:
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


async def _upgrade(settings: Settings) -> None:
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


# --- worker ---------------------------------------------------------------------------------


async def _run_worker(settings: Settings, worker_id: str | None) -> None:
    """Work until SIGTERM/SIGINT, then stop gracefully; a signal during start-up is graceful too."""
    from runtime.worker import Worker  # noqa: PLC0415
    from store.store import Store  # noqa: PLC0415

    stopping = anyio.Event()
    failure: list[ConfigurationError] = []
    async with anyio.create_task_group() as tg:
        worker: Worker | None = None

        async def watch_signals() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    if stopping.is_set():
                        _force_exit(len(worker.active_runs) if worker else 0)
                    log.info("worker_stopping", signal=signal.Signals(signum).name)
                    if worker is not None and worker.active_runs:
                        _announce_grace(settings, len(worker.active_runs))
                    stopping.set()

        tg.start_soon(watch_signals)
        store: Store | None = None
        with anyio.CancelScope() as starting:

            async def cancel_start() -> None:
                await stopping.wait()
                starting.cancel()

            tg.start_soon(cancel_start)
            try:
                store = await Store.open(settings.database_url, create=False)
            except Exception as exc:
                problem = database_problem(exc, settings.database_url)
                if problem is None:
                    raise
                failure.append(problem)
        if store is not None:
            try:
                worker = Worker(store, settings, worker_id=worker_id)
                await tg.start(worker.run)
                log.info(
                    "worker_ready",
                    database=shown_url(settings.database_url),
                    model_aliases=dict(settings.model_aliases) or None,
                    providers_with_keys=configured_providers(settings),
                    stop="Ctrl-C (or SIGTERM) to stop",
                )
                await stopping.wait()
                await worker.stop()
            finally:
                with anyio.CancelScope(shield=True):
                    await store.close()
        tg.cancel_scope.cancel()
    if failure:
        raise failure[0]


def _announce_grace(settings: Settings, runs: int) -> None:
    log.warning(
        "stopping",
        waiting=f"waiting up to {settings.stop_grace_seconds:g}s for {runs} "
        f"run{'s' if runs != 1 else ''} to finish; Ctrl-C again to force",
    )


def _force_exit(runs: int) -> None:
    """A second Ctrl-C: leave now. Runs still held are retried once their leases lapse."""
    print(
        f"assistants: forced stop; {runs} unfinished run{'s' if runs != 1 else ''} will be "
        "retried by a worker once its lease lapses.",
        file=sys.stderr,
        flush=True,
    )
    os._exit(130)


# --- serve ----------------------------------------------------------------------------------


def configured_providers(settings: Settings) -> list[str]:
    """Providers with an API key configured (names only, never values)."""
    env = os.environ
    names = [
        name
        for name, variables in (
            ("openai", ("OPENAI_API_KEY",)),
            ("anthropic", ("ANTHROPIC_API_KEY",)),
            ("google", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
        )
        if any(env.get(v) for v in variables)
    ]
    for name, spec in settings.endpoints.items():
        key_env = spec.get("api_key_env")
        if (key_env and env.get(str(key_env))) or spec.get("api_key"):
            names.append(name)
    return names


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts: a busy port is one clear line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigurationError(
            f"Cannot listen on {host!r}: {exc.strerror}. Pass an address of this machine "
            "with --host (e.g. 127.0.0.1 or 0.0.0.0)."
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"Port {port} on {host} is already in use (another `assistants serve`?): stop "
                "that process or pass another --port."
            ) from None
        if exc.errno == errno.EACCES:
            raise ConfigurationError(
                f"Not allowed to listen on port {port}: pass a --port above 1023."
            ) from None
        raise ConfigurationError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.set_inheritable(True)
    return sock


def _serve(args: argparse.Namespace) -> None:
    try:
        import uvicorn  # noqa: PLC0415  (the `server` extra)

        from assistants._client import AsyncClient  # noqa: PLC0415
        from assistants.server import KeyRing, ServerSettings, create_app  # noqa: PLC0415
        from assistants.server.auth import load_secret  # noqa: PLC0415
        from assistants.server.guard import LOOPBACK_HOSTS  # noqa: PLC0415
        from assistants.server.shutdown import EndStreams  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(
            f"`assistants serve` needs the 'server' extra ({exc.name} is not installed): "
            "pip install 'assistants-runtime[server]'."
        ) from None
    allow = {"allow_request_provider_keys": True} if args.allow_request_provider_keys else {}
    settings = _settings(args, **allow)
    specs = list(args.api_key)
    if specs:
        log.warning(
            "api_keys_on_command_line",
            note="other users can read them in the process list: prefer ASSISTANTS_API_KEYS "
            "or --api-keys-file",
        )
    specs += [k for k in os.environ.get("ASSISTANTS_API_KEYS", "").split(",") if k.strip()]
    if args.api_keys_file:
        specs += _read_keys_file(args.api_keys_file)
    secret = (
        load_secret(settings.database_url, secret_file=args.secret_file)
        if any("=" not in spec for spec in specs)
        else None
    )
    keys = KeyRing(specs, secret=secret)
    if not keys.enabled and args.host not in LOOPBACK and not args.insecure_no_auth:
        raise ConfigurationError(
            f"Refusing to listen on {args.host} without API keys: pass --api-key (or "
            "ASSISTANTS_API_KEYS), or --insecure-no-auth if this network is trusted."
        )
    origins = list(args.cors_origin)
    origins += [o for o in os.environ.get("ASSISTANTS_CORS_ORIGINS", "").split(",") if o.strip()]
    inspector = _inspector_on(args.inspector, args.host)
    server_settings = ServerSettings(
        keys=keys,
        cors_origins=[o.strip() for o in origins],
        allowed_hosts=[*LOOPBACK_HOSTS, *args.allowed_host],
        inspector=inspector,
    )
    client = AsyncClient(settings=settings, worker=not args.no_worker)  # checks the aliases
    sock = _bind(args.host, args.port)
    try:
        anyio.run(_check_database, settings.database_url)
        app = EndStreams(create_app(client, server_settings))
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{sock.getsockname()[1]}"
        if not keys.enabled:
            log.warning("no_api_keys", host=args.host, note="every caller shares one project")

        def started() -> None:
            log.info(
                "server_started",
                url=f"{url}/v1",
                inspector=f"{url}/inspector/" if inspector else None,
                database=shown_url(settings.database_url),
                worker="embedded" if not args.no_worker else "none (run `assistants worker`)",
                model_aliases=dict(settings.model_aliases) or None,
                providers_with_keys=configured_providers(settings),
                api_keys=len(specs),
                stop="Ctrl-C to stop",
            )

        def in_flight() -> int:
            return len(client.worker.active_runs) if client.worker is not None else 0

        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(settings.stop_grace_seconds) + 5,
        )
        server = _server_class(uvicorn.Server)(config, started, in_flight, settings)
        server.on_stop = lambda: app.stop(after=settings.stop_grace_seconds)
        server.run(sockets=[sock])
    finally:
        sock.close()


def _inspector_on(flag: bool | None, host: str) -> bool:
    """`--inspector` / `--no-inspector`, else `ASSISTANTS_INSPECTOR`, else on loopback only."""
    if flag is not None:
        return flag
    env = os.environ.get("ASSISTANTS_INSPECTOR", "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    if env:
        raise ConfigurationError(
            f"ASSISTANTS_INSPECTOR is {env!r}: set it to 1 (serve /inspector) or 0 (do not)."
        )
    return host in LOOPBACK


def _server_class(base: type[Any]) -> type[Any]:
    """uvicorn's server, saying when it listens and what a stop waits for."""

    class Server(base):  # type: ignore[misc]
        def __init__(
            self,
            config: Any,
            on_started: Callable[[], None],
            in_flight: Callable[[], int],
            settings: Settings,
        ) -> None:
            super().__init__(config)
            self.on_stop: Callable[[], None] = lambda: None
            self._on_started = on_started
            self._in_flight = in_flight
            self._settings = settings

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:  # the socket is serving
                self._on_started()

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # A signal handler runs in whatever context was current: log from a clean one.
            contextvars.Context().run(self._stopping, sig)
            # A graceful stop on SIGTERM/SIGINT is a clean exit (status 0), not a re-raised signal.
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

        def _stopping(self, sig: int) -> None:
            if self.should_exit:  # the second Ctrl-C
                _force_exit(self._in_flight())
            runs = self._in_flight()
            log.info("server_stopping", signal=signal.Signals(sig).name)
            if runs:
                _announce_grace(self._settings, runs)
            self.on_stop()

    return Server


# --- main -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = getattr(args, "log_level", "info")
    configure_logging(level, json=getattr(args, "log_json", False))
    show_traceback = getattr(args, "traceback", False) or level == "debug"
    try:
        if args.command == "serve":
            _serve(args)
        elif args.command == "worker":
            settings = _settings(args, max_concurrent_runs=args.concurrency)
            anyio.run(_run_worker, settings, args.worker_id)
        elif args.command == "db":
            anyio.run(_upgrade, _settings(args))
        elif args.command in ("spans", "trace"):
            anyio.run(cli_spans.run_command, args, _settings(args).database_url)
    except ConfigurationError as exc:
        if show_traceback:
            traceback.print_exc()
        print(f"assistants: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
