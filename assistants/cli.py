"""The `assistants` command: `serve`, `worker` and `db upgrade`.

    assistants serve                                   # http://127.0.0.1:8000/v1, embedded worker
    assistants serve --no-worker --database-url postgresql+asyncpg://... --api-key KEY
    assistants worker --database-url postgresql+asyncpg://... --concurrency 10
    assistants db upgrade --database-url ...

Logging is chosen here (the application), never in the library: `--log-level`, `--log-json`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import anyio

from assistants.logs import configure_logging
from runtime.settings import Settings, parse_aliases
from runtime.worker import Worker
from store.errors import ConfigurationError
from store.log import get_logger
from store.store import SCHEMA_VERSION, Store

log = get_logger("assistants.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistants", description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error")
    parser.add_argument("--log-json", action="store_true", help="render logs as JSON lines")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="the OpenAI-compatible HTTP server (/v1)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--database-url", help="default: ASSISTANTS_DATABASE_URL or SQLite file")
    serve.add_argument("--no-worker", action="store_true", help="leave runs to `assistants worker`")
    serve.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="accept this Bearer key (repeatable; KEY=PROJECT to name its project); "
        "also ASSISTANTS_API_KEYS (comma-separated)",
    )
    serve.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow listening beyond loopback without API keys",
    )
    serve.add_argument(
        "--model-alias",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="run model NAME on MODEL (repeatable; '*=MODEL' for any other name)",
    )

    worker = commands.add_parser("worker", help="execute queued runs from a shared database")
    worker.add_argument("--database-url", help="default: ASSISTANTS_DATABASE_URL or SQLite file")
    worker.add_argument("--concurrency", type=int, help="runs executed at once (default 64)")
    worker.add_argument("--worker-id", help="a stable name for this worker (default: host:pid)")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the schema")
    upgrade.add_argument("--database-url")
    return parser


async def _run_worker(settings: Settings, worker_id: str | None) -> None:
    """Work until SIGTERM/SIGINT, then stop gracefully; a signal during start-up is graceful too."""
    stopping = anyio.Event()
    failure: list[ConfigurationError] = []
    async with anyio.create_task_group() as tg:

        async def watch_signals() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("worker_stopping", signal=signal.Signals(signum).name)
                    stopping.set()
                    return

        tg.start_soon(watch_signals)
        store: Store | None = None
        with anyio.CancelScope() as starting:

            async def cancel_start() -> None:
                await stopping.wait()
                starting.cancel()

            tg.start_soon(cancel_start)
            try:
                store = await Store.open(settings.database_url, create=False)
            except ConfigurationError as exc:
                failure.append(exc)
        if store is not None:
            try:
                worker = Worker(store, settings, worker_id=worker_id)
                await tg.start(worker.run)
                await stopping.wait()
                await worker.stop()
            finally:
                with anyio.CancelScope(shield=True):
                    await store.close()
        tg.cancel_scope.cancel()
    if failure:
        raise failure[0]


async def _upgrade(settings: Settings) -> None:
    store = await Store.open(settings.database_url, create=True)
    await store.close()
    print(f"{settings.database_url}: schema version {SCHEMA_VERSION}")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _serve(args: argparse.Namespace) -> None:
    try:
        import uvicorn  # noqa: PLC0415  (the `server` extra)

        from assistants._client import AsyncClient  # noqa: PLC0415
        from assistants.server import KeyRing, ServerSettings, create_app  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(
            f"The server needs the 'server' extra ({exc.name} is missing): "
            "pip install 'assistants-runtime[server]'."
        ) from None
    specs = list(args.api_key)
    specs += [k for k in os.environ.get("ASSISTANTS_API_KEYS", "").split(",") if k.strip()]
    keys = KeyRing(specs)
    if not keys.enabled and args.host not in LOOPBACK and not args.insecure_no_auth:
        raise ConfigurationError(
            f"Refusing to listen on {args.host} without API keys: pass --api-key (or "
            "ASSISTANTS_API_KEYS), or --insecure-no-auth if this network is trusted."
        )
    overrides: dict[str, object] = {"database_url": args.database_url}
    if args.model_alias:
        aliases = dict(Settings.load().model_aliases)
        aliases.update(parse_aliases(args.model_alias))
        overrides["model_aliases"] = aliases
    settings = Settings.load(**overrides)
    client = AsyncClient(settings=settings, worker=not args.no_worker)
    app = create_app(client, ServerSettings(keys=keys))
    if not keys.enabled:
        log.warning("no_api_keys", host=args.host, note="every caller shares one project")
    log.info("serving", url=f"http://{args.host}:{args.port}/v1", worker=not args.no_worker)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.stop_grace_seconds) + 5,
    )

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # A graceful stop on SIGTERM/SIGINT is a clean exit (status 0), not a re-raised signal.
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    Server(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, json=args.log_json)
    try:
        if args.command == "serve":
            _serve(args)
        elif args.command == "worker":
            settings = Settings.load(
                database_url=args.database_url, max_concurrent_runs=args.concurrency
            )
            anyio.run(_run_worker, settings, args.worker_id)
        elif args.command == "db":
            anyio.run(_upgrade, Settings.load(database_url=args.database_url))
    except ConfigurationError as exc:
        print(f"assistants: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
