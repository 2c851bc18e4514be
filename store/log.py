"""The loggers of the runtime's library code: structlog, on standard-library `logging` loggers.

structlog's configuration is global and belongs to the application; unconfigured, structlog
prints every event to stdout, which a library must never cause. So the library's structlog
loggers wrap stdlib loggers under the `assistants` name, and that logger carries a
`NullHandler` (the stdlib convention for libraries): nothing is written unless the application
configures logging (`assistants.logs.configure_logging()`, which the CLI calls, or its own
`logging`/structlog set-up). Event names and bound keys are structlog's as before, and
`structlog.testing.capture_logs()` sees every event.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

ROOT = "assistants"
logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(name: str) -> Any:
    """A structlog logger named `name` (under `assistants.`) writing to stdlib `logging`."""
    if name != ROOT and not name.startswith(f"{ROOT}."):
        name = f"{ROOT}.{name}"
    return structlog.wrap_logger(logging.getLogger(name))
