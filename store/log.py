"""The loggers of the runtime's library code: structlog, on standard-library `logging` loggers.

structlog's configuration is global and belongs to the application; unconfigured, structlog
prints every event to stdout, which a library must never cause. So the library's structlog
loggers wrap stdlib loggers under the `assistants` name, and that logger carries a
`NullHandler` (the stdlib convention for libraries): nothing is written unless the application
configures logging (`assistants.logs.configure_logging()`, which the CLI calls, or its own
`logging`/structlog set-up). Event names and bound keys are structlog's as before, and
`structlog.testing.capture_logs()` sees every event.

Until the application chooses structlog processors, the library's events are rendered by structlog's
default chain with one change: exceptions as plain tracebacks. structlog's default renders them
with rich and every frame's local variables, which costs the event loop a second or more per
logged exception (a 500, a failed run), even when no handler writes the line.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

ROOT = "assistants"
logging.getLogger(ROOT).addHandler(logging.NullHandler())


PLAIN_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.StackInfoRenderer(),
    structlog.dev.set_exc_info,
    structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
    structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
]
"""structlog's default chain, exceptions rendered as plain tracebacks (no locals, no rich)."""


_DEFAULTS: list[Any] | None = (
    None if structlog.is_configured() else list(structlog.get_config()["processors"])
)
"""structlog's own default chain, as it was before the application configured any."""


def default_processors() -> bool:
    """Whether structlog still renders with its own default chain (no application chose one)."""
    return _DEFAULTS is not None and structlog.get_config()["processors"] == _DEFAULTS


class LibraryLogger:
    """A structlog logger on a stdlib one: the application's processors once it has chosen
    some, `PLAIN_PROCESSORS` until then (looked up at each call, as structlog does)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._configured = structlog.wrap_logger(logger)
        self._plain = structlog.wrap_logger(logger, processors=PLAIN_PROCESSORS)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._plain if default_processors() else self._configured, name)


def get_logger(name: str) -> Any:
    """A structlog logger named `name` (under `assistants.`) writing to stdlib `logging`."""
    if name != ROOT and not name.startswith(f"{ROOT}."):
        name = f"{ROOT}.{name}"
    return LibraryLogger(logging.getLogger(name))
