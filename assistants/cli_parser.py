"""The `assistants` command line: its commands, flags and help."""

from __future__ import annotations

import argparse

from assistants import cli_spans

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
        "--embedding-model",
        metavar="MODEL",
        help="embed vector store files and search queries with MODEL for vector and hybrid "
        "search, e.g. openai/text-embedding-3-small (default: lexical search only)",
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


def parser(description: str) -> argparse.ArgumentParser:
    formatter = argparse.HelpFormatter
    logging_options, runtime_options = _logging_options(), _runtime_options()
    parser = argparse.ArgumentParser(
        prog="assistants",
        description=description,
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
    _serve_options(serve)

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


def _serve_options(serve: argparse.ArgumentParser) -> None:
    """`serve`'s own flags: where it listens, who may call it, what it serves."""
    _listen_options(serve)
    _access_options(serve)
    _feature_options(serve)


def _listen_options(serve: argparse.ArgumentParser) -> None:
    """Where `serve` listens, and whether it runs a worker beside the API."""
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default: %(default)s)"
    )
    serve.add_argument("--no-worker", action="store_true", help="leave runs to `assistants worker`")


def _access_options(serve: argparse.ArgumentParser) -> None:
    """Who may call `serve`: API keys, the project secret, web origins, Host names."""
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
        "--insecure-no-auth",
        action="store_true",
        help="allow listening beyond loopback without API keys",
    )


def _feature_options(serve: argparse.ArgumentParser) -> None:
    """What `serve` offers past the API: tools it ignores, the inspector, callers' provider keys."""
    serve.add_argument(
        "--accept-unsupported-tools",
        action="store_true",
        help="accept code_interpreter in tools and ignore it (logged) instead of a 400",
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
