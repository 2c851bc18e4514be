"""When an HTTP provider's call is tried again: `with_retries` drives the attempts, waiting
`backoff_delay` (exponential, with jitter) or the delay the server asks for
(`retry_after_seconds`), and only while nothing has been yielded yet.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from datetime import UTC
from email.utils import parsedate_to_datetime

import anyio

from runtime.providers.base import Chunk, ProviderCallError, RetryBudget
from store.log import get_logger

_log = get_logger("assistants.providers")

MAX_BACKOFF = 8.0  # seconds, before jitter
MAX_RETRY_AFTER = 60.0  # a longer server-requested delay is ignored in favour of the backoff


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The delay the server asks for: `retry-after-ms`, else `Retry-After` (seconds or a date).

    `headers` must look names up case-insensitively (the transport's `Headers` do).
    """
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "nan")) * scale
        except ValueError:
            continue
        if math.isfinite(seconds):
            return seconds
    try:
        when = parsedate_to_datetime(headers.get("retry-after", ""))
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return when.timestamp() - (time.time() if now is None else now)


def backoff_delay(attempt: int, base: float, retry_after: float | None) -> float:
    """Seconds to wait before retry number `attempt + 1` (`attempt` counts from 0)."""
    if retry_after is not None and 0 < retry_after <= MAX_RETRY_AFTER:
        return retry_after
    delay = min(base * 2.0**attempt, MAX_BACKOFF)
    return delay * (1 - random.uniform(0, 0.25))  # noqa: S311 - jitter, not cryptography


async def with_retries(
    attempt: Callable[[], AsyncGenerator[Chunk, None]],
    *,
    provider: str,
    max_retries: int,
    backoff_base: float,
    budget: RetryBudget | None = None,
) -> AsyncGenerator[Chunk, None]:
    """The chunks of `attempt()`, called again after a retryable failure before any output.

    At most `max_retries` retries (and no more than the run's `budget` has left), each after
    `backoff_delay` (logged as `provider_retry`). A failure once a chunk was yielded is raised at
    once, as not retryable.
    """
    retries = 0
    while True:
        yielded = False
        try:
            async with aclosing(attempt()) as chunks:
                async for chunk in chunks:
                    yielded = True
                    yield chunk
        except ProviderCallError as exc:
            if yielded:
                raise ProviderCallError(
                    f"The stream from provider '{provider}' broke after output had begun: "
                    f"{exc.message}",
                    code=exc.code,
                    status=exc.status,
                    usage=exc.usage,
                ) from exc
            if not exc.retryable or retries >= max_retries:
                raise
            if budget is not None and not budget.take():
                _log.warning("provider_retry_budget_spent", provider=provider, code=exc.code)
                raise
            delay = backoff_delay(retries, backoff_base, exc.retry_after)
            retries += 1
            _log.warning(  # never the key, nor the messages
                "provider_retry", provider=provider, attempt=retries, status=exc.status,
                code=exc.code, delay=round(delay, 3),
            )  # fmt: skip
            await anyio.sleep(delay)
        else:
            return
