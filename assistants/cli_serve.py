"""`assistants serve` and `assistants worker`: start, serve until a signal, stop gracefully
(a second Ctrl-C forces the stop)."""

from __future__ import annotations

import argparse
import contextvars
import errno
import gc
import itertools
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import anyio

from assistants.cli_config import (
    check_database,
    database_problem,
    read_keys_file,
    settings_for,
    shown_url,
)
from runtime.settings import Settings
from store.errors import ConfigurationError
from store.log import get_logger

if TYPE_CHECKING:
    from assistants.server.auth import KeyRing

log = get_logger("assistants.cli")

LOOPBACK = ("127.0.0.1", "localhost", "::1")


async def run_worker(settings: Settings, worker_id: str | None) -> None:
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
                freeze_startup_heap()
                log.info(
                    "worker_ready",
                    database=shown_url(settings.database_url),
                    model_aliases=dict(settings.model_aliases) or None,
                    providers_with_keys=configured_providers(settings),
                    search=f"lexical + vector: {settings.embedding_model}"
                    if settings.embedding_model
                    else "lexical",
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


def freeze_startup_heap() -> None:
    """Once a long-running process has started, move what start-up made (the imported libraries,
    the app, its schemas) out of the cyclic garbage collector's sight (`gc.freeze`).

    A full (generation 2) collection walks every tracked object, so in a server it paused the
    event loop for all of start-up's objects, which never die: about 23 ms with a long thread's
    prompt in memory, against about 7 ms frozen (`benchmarks/looplag.py --auto --freeze`).
    Reference counting still frees frozen objects; a cycle among them would stay (start-up's
    garbage is collected first). Only the CLI's processes do this: an application that embeds
    the Client owns its process and its collector.
    """
    gc.collect()
    gc.freeze()
    log.debug("startup_heap_frozen", objects=gc.get_freeze_count())


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


def serve(args: argparse.Namespace) -> None:
    try:
        import uvicorn  # noqa: PLC0415  (the `server` extra)

        from assistants._client import AsyncClient  # noqa: PLC0415
        from assistants.server import ServerSettings, create_app  # noqa: PLC0415
        from assistants.server.guard import LOOPBACK_HOSTS  # noqa: PLC0415
        from assistants.server.shutdown import EndStreams  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(
            f"`assistants serve` needs the 'server' extra ({exc.name} is not installed): "
            "pip install 'assistants-runtime[server]'."
        ) from None
    allow = {"allow_request_provider_keys": True} if args.allow_request_provider_keys else {}
    if args.accept_unsupported_tools:
        allow["accept_unsupported_tools"] = True
    settings = settings_for(args, **allow)
    specs = _key_specs(args)
    keys = _key_ring(specs, settings, args.secret_file)
    if not keys.enabled and args.host not in LOOPBACK and not args.insecure_no_auth:
        raise ConfigurationError(
            f"Refusing to listen on {args.host} without API keys: pass --api-key (or "
            "ASSISTANTS_API_KEYS), or --insecure-no-auth if this network is trusted."
        )
    inspector = inspector_on(args.inspector, args.host)
    server_settings = ServerSettings(
        keys=keys,
        cors_origins=_cors_origins(args),
        allowed_hosts=[*LOOPBACK_HOSTS, *args.allowed_host],
        inspector=inspector,
    )
    client = AsyncClient(settings=settings, worker=not args.no_worker)  # checks the aliases
    sock = _bind(args.host, args.port)
    try:
        anyio.run(check_database, settings.database_url)
        app = EndStreams(create_app(client, server_settings))
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{sock.getsockname()[1]}"
        if not keys.enabled:
            log.warning("no_api_keys", host=args.host, note="every caller shares one project")

        def started() -> None:
            freeze_startup_heap()
            _log_started(url, settings, args, inspector=inspector, api_keys=len(specs))

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


def _log_started(
    url: str, settings: Settings, args: argparse.Namespace, *, inspector: bool, api_keys: int
) -> None:
    """The one line that says the server listens, and where and with what."""
    log.info(
        "server_started",
        url=f"{url}/v1",
        inspector=f"{url}/inspector/" if inspector else None,
        database=shown_url(settings.database_url),
        worker="embedded" if not args.no_worker else "none (run `assistants worker`)",
        model_aliases=dict(settings.model_aliases) or None,
        providers_with_keys=configured_providers(settings),
        search=f"lexical + vector: {settings.embedding_model}"
        if settings.embedding_model
        else "lexical",
        api_keys=api_keys,
        stop="Ctrl-C to stop",
    )


def _cors_origins(args: argparse.Namespace) -> list[str]:
    """--cors-origin, then ASSISTANTS_CORS_ORIGINS (comma-separated)."""
    origins = list(args.cors_origin)
    origins += [o for o in os.environ.get("ASSISTANTS_CORS_ORIGINS", "").split(",") if o.strip()]
    return [o.strip() for o in origins]


def _key_specs(args: argparse.Namespace) -> list[str]:
    """The API key specs from --api-key, ASSISTANTS_API_KEYS and --api-keys-file."""
    specs = list(args.api_key)
    if specs:
        log.warning(
            "api_keys_on_command_line",
            note="other users can read them in the process list: prefer ASSISTANTS_API_KEYS "
            "or --api-keys-file",
        )
    specs += [k for k in os.environ.get("ASSISTANTS_API_KEYS", "").split(",") if k.strip()]
    if args.api_keys_file:
        specs += read_keys_file(args.api_keys_file)
    return specs


def _key_ring(specs: list[str], settings: Settings, secret_file: str | None) -> KeyRing:
    """The keys, with the server secret when a key's project id is derived from it."""
    from assistants.server import KeyRing  # noqa: PLC0415  (the `server` extra)
    from assistants.server.auth import load_secret  # noqa: PLC0415

    secret = (
        load_secret(settings.database_url, secret_file=secret_file)
        if any("=" not in spec for spec in specs)
        else None
    )
    return KeyRing(specs, secret=secret)


def inspector_on(flag: bool | None, host: str) -> bool:
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
            # Counted by a C call, which a nested signal handler cannot split: a second Ctrl-C
            # that lands while the first one's handler is still logging is still the second.
            self._signals = itertools.count()
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
            if next(self._signals):  # the second Ctrl-C (or SIGTERM)
                _force_exit(self._in_flight())
            runs = self._in_flight()
            log.info("server_stopping", signal=signal.Signals(sig).name)
            if runs:
                _announce_grace(self._settings, runs)
            self.on_stop()

    return Server
