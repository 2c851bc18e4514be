"""Logging set-up for applications (the CLI, examples, your app): library code never calls this.

The runtime logs with structlog under stable snake_case event names (`run_claimed`,
`model_call`, `provider_retry`, ...) with `run_id`, `thread_id` and `worker_id` bound, on
standard-library loggers under `assistants` (see `store/log.py`): an application that configures
nothing sees nothing. Call `configure_logging()` once at start-up to choose the level and the
rendering (console lines or JSON, on stderr), or route the `assistants` stdlib logger yourself.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from store.log import ROOT

_handler: logging.Handler | None = None
"""The handler `configure_logging` put on the library's logger (replaced on a second call)."""

_SECRET_KEY = re.compile(
    r"(^|_)(api_?key|authorization|bearer|password|passwd|secret|token|credentials?|cookie)$",
    re.IGNORECASE,
)
"""Keys whose value is a secret: `api_key`, `authorization`, `access_token`, `client_secret`...
A count or a measure about secrets is not one: `prompt_tokens`, `max_tokens`, `token_count`."""


def is_secret_key(key: str) -> bool:
    """Whether a log key names a secret value (tokens, keys, passwords), not a count of them."""
    return _SECRET_KEY.search(key) is not None


def redact_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Replace the value of any key that names a secret with '***' (token counts stay)."""
    for key, value in list(event.items()):
        if is_secret_key(key) and not isinstance(value, int | float | None):
            event[key] = "***"
    return event


def configure_logging(level: str = "info", *, json: bool = False) -> None:
    """Render the runtime's logs to stderr at `level`, as console lines or JSON."""
    number = logging.getLevelNamesMapping()[level.upper()]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # The library's loggers write through stdlib `logging` (rendered above): to stderr, as is.
    global _handler  # noqa: PLW0603  (one handler per process, however often this is called)
    library = logging.getLogger(ROOT)
    if _handler is not None:
        library.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    library.addHandler(_handler)
    library.setLevel(number)
    library.propagate = False
