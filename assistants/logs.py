"""Logging set-up for applications (the CLI, examples, your app): library code never calls this.

The runtime logs with structlog under stable snake_case event names (`run_claimed`,
`model_call`, `provider_retry`, ...) with `run_id`, `thread_id` and `worker_id` bound. Call
`configure_logging()` once at start-up to choose the level and the rendering.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("api_key", "authorization", "password", "secret", "token")


def redact_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Replace the value of any key that looks like a secret with '***'."""
    for key in list(event):
        if any(s in key.lower() for s in _SECRET_KEYS):
            event[key] = "***"
    return event


def configure_logging(level: str = "info", *, json: bool = False) -> None:
    """Render the runtime's logs to stderr at `level`, as console lines or JSON."""
    number = logging.getLevelNamesMapping()[level.upper()]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
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
