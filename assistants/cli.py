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

import sys
import traceback
from collections.abc import Sequence

import anyio

from assistants import cli_spans
from assistants.cli_config import settings_for, upgrade_schema
from assistants.cli_parser import parser
from assistants.cli_serve import run_worker, serve
from assistants.logs import configure_logging
from store.errors import ConfigurationError


def main(argv: Sequence[str] | None = None) -> int:
    args = parser((__doc__ or "").split("\n")[0]).parse_args(argv)
    level = getattr(args, "log_level", "info")
    configure_logging(level, json=getattr(args, "log_json", False))
    show_traceback = getattr(args, "traceback", False) or level == "debug"
    try:
        if args.command == "serve":
            serve(args)
        elif args.command == "worker":
            settings = settings_for(args, max_concurrent_runs=args.concurrency)
            anyio.run(run_worker, settings, args.worker_id)
        elif args.command == "db":
            anyio.run(upgrade_schema, settings_for(args))
        elif args.command in ("spans", "trace"):
            anyio.run(cli_spans.run_command, args, settings_for(args).database_url)
    except ConfigurationError as exc:
        if show_traceback:
            traceback.print_exc()
        print(f"assistants: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
