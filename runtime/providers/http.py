"""What the HTTP adapters share: one POST per attempt, server-sent events, errors and retries.

An adapter (`openai_compat`, `anthropic`, `gemini`) is an `HTTPProvider` that says how to build
the request (`_prepare`), what one server-sent event or one whole JSON body means (`_on_event`,
`_on_body`), when the stream is over (`_stopped`), what ends the answer (`_finish`) and how to
read an HTTP error (`_status_error`, usually through `status_error`). The rest is here:

- `with_retries` drives the attempts: transient failures (HTTP 408, 409, 429, 5xx, connection
  errors, timeouts, malformed or truncated answers) are retried with exponential backoff
  (`backoff_delay`), or after the delay the server asks for (`retry_after_seconds`), but only
  while nothing has been yielded yet: once output has begun, a failure is raised at once.
- `sse_events` reads a server-sent-events body as `(event name, data)` pairs.
- `status_error` turns an HTTP status into a `ProviderCallError` with the run's error code.
"""

from __future__ import annotations

import json
import math
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from contextlib import aclosing
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Protocol, TypeVar

import anyio

from runtime.providers.base import (
    Chunk,
    ModelRequest,
    ProviderCallError,
    RetryBudget,
    UsageChunk,
)
from runtime.providers.transport import HTTPClient, Response, TransportError, TransportTimeout
from store.log import get_logger

_log = get_logger("assistants.providers")

MAX_BACKOFF = 8.0  # seconds, before jitter
MAX_RETRY_AFTER = 60.0  # a longer server-requested delay is ignored in favour of the backoff
RETRYABLE_STATUSES = frozenset({408, 409, 429})
INVALID_PROMPT_STATUSES = frozenset({400, 404, 422})
AUTH_STATUSES = frozenset({401, 403})


class Answer(Protocol):
    """What an adapter remembers of one response; `end()` is its usage (if any) and `Finish`."""

    def end(self) -> list[Chunk]: ...


TurnT = TypeVar("TurnT", bound=Answer)


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


def error_text(payload: Any) -> str:
    """The vendor's message in `{"error": {"message"}}`, `{"error": "..."}` or `{"detail"}`."""
    if isinstance(payload, dict):
        error = payload.get("error") or payload
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if isinstance(error, dict) and isinstance(error.get(key), str):
                return str(error[key])
    return json.dumps(payload)[:300]


def status_error(
    provider: str,
    status: int | None,
    vendor: str,
    *,
    retry_after: float | None = None,
    auth: bool = False,
    invalid: frozenset[int] = INVALID_PROMPT_STATUSES,
) -> ProviderCallError:
    """The error for an HTTP `status` (None: an error event without one) and the vendor's text.

    401/403 (or `auth`) is an authentication failure and `invalid` statuses are `invalid_prompt`,
    neither retried; 429 is `rate_limit_exceeded`; the rest are `server_error`s, retried when the
    status is 408, 409, 429 or 5xx (or unknown), after `retry_after` when it is not negative.
    """
    detail = f": {vendor}" if vendor else ""
    where = f"HTTP {status}" if status is not None else "an error event"
    if auth or status in AUTH_STATUSES:
        message = f"Authentication failed for provider '{provider}' ({where}){detail}"
        return ProviderCallError(message, status=status)
    if status in invalid:
        message = f"Provider '{provider}' rejected the request ({where}){detail}"
        return ProviderCallError(message, code="invalid_prompt", status=status)
    return ProviderCallError(
        f"Provider '{provider}' returned {where}{detail}",
        code="rate_limit_exceeded" if status == 429 else "server_error",
        retryable=status is None or status in RETRYABLE_STATUSES or status >= 500,
        retry_after=retry_after if retry_after is not None and retry_after >= 0 else None,
        status=status,
    )


async def sse_events(response: Response) -> AsyncGenerator[tuple[str, str], None]:
    """The `(event name, data)` of each server-sent event with data; comments are skipped.

    An event's `data:` lines are joined with newlines; a last event without its blank line is
    still seen.
    """
    name, data = "", list[str]()
    async for line in response.aiter_lines():
        if line:
            if not line.startswith(":"):
                field, _, value = line.partition(":")
                if field == "data":
                    data.append(value.removeprefix(" "))
                elif field == "event":
                    name = value.strip()
            continue
        if data:
            yield name, "\n".join(data)
        name, data = "", []
    if data:
        yield name, "\n".join(data)


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


class HTTPProvider(ABC, Generic[TurnT]):
    """A provider answering one POST per attempt on the shared `HTTPClient`.

    `TurnT` is what the subclass remembers of one response while reading it (a fresh one per
    attempt, from `_begin`).
    """

    def __init__(
        self,
        name: str,
        *,
        api_key: str | None,
        client: HTTPClient,
        headers: Mapping[str, str],
        max_retries: int,
        timeout: float,
        stream: bool,
        backoff_base: float,
    ) -> None:
        self.name = name
        self._api_key = api_key
        self._client = client
        self._headers = dict(headers)
        self._max_retries = max(0, max_retries)
        self._timeout = timeout
        self._stream = stream
        self._backoff_base = backoff_base

    # --- what an adapter says ---

    @abstractmethod
    def _prepare(self, request: ModelRequest) -> tuple[str, dict[str, Any]]:
        """The URL and JSON body for `request` (or a `ProviderCallError` if it cannot be sent)."""

    @abstractmethod
    def _begin(self) -> TurnT:
        """A fresh record of one response."""

    @abstractmethod
    def _on_event(self, turn: TurnT, name: str, data: str) -> list[Chunk]:
        """The chunks of one server-sent event (a list: its errors are raised while making it)."""

    @abstractmethod
    def _on_body(self, turn: TurnT, payload: Any) -> Iterable[Chunk]:
        """The chunks of a whole JSON answer (not streamed, or a server that ignored `stream`)."""

    def _stopped(self, turn: TurnT) -> bool:
        """Whether the stream said it is over: later events are drained unread."""
        return False

    @abstractmethod
    def _finish(self, turn: TurnT, streamed: bool) -> Iterable[Chunk]:
        """The last chunks (usage, the one `Finish`), or a `ProviderCallError` if cut short."""

    @abstractmethod
    def _status_error(self, response: Response) -> ProviderCallError:
        """The error for a response with an HTTP error status (its body read)."""

    # --- shared ---

    def stream(self, request: ModelRequest) -> AsyncGenerator[Chunk, None]:
        """The model's answer as chunks, retrying transient failures before any output.

        Lazy like any async generator: the request is built (or refused) when the first chunk is
        asked for, once for all attempts.
        """
        seconds = request.timeout if request.timeout is not None else self._timeout
        prepared: list[tuple[str, dict[str, Any]]] = []

        def attempt() -> AsyncGenerator[Chunk, None]:
            if not prepared:
                prepared.append(self._prepare(request))
            url, body = prepared[0]
            return self._attempt(url, body, seconds)

        return with_retries(
            attempt,
            provider=self.name,
            max_retries=self._max_retries,
            backoff_base=self._backoff_base,
            budget=request.retry_budget,
        )

    async def _attempt(
        self, url: str, body: dict[str, Any], timeout: float
    ) -> AsyncGenerator[Chunk, None]:
        """One HTTP call: its chunks, or a `ProviderCallError` saying whether a retry may help
        and carrying the usage the answer reported before it failed.

        `timeout` bounds each read and write (connecting is bounded by the client).
        """
        turn = self._begin()
        try:
            async with aclosing(self._call(url, body, timeout, turn)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except ProviderCallError as exc:
            if exc.usage is None:
                exc.usage = next((c for c in turn.end() if isinstance(c, UsageChunk)), None)
            raise

    async def _call(
        self, url: str, body: dict[str, Any], timeout: float, turn: TurnT
    ) -> AsyncGenerator[Chunk, None]:
        try:
            async with self._client.stream(
                "POST", url, json=body, headers=self._headers, timeout=timeout
            ) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._status_error(response)
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                streamed = self._stream and content_type.lower() != "application/json"
                if streamed:
                    async with aclosing(self._read_events(response, turn)) as events:
                        async for chunk in events:
                            yield chunk
                else:
                    text = (await response.aread()).decode("utf-8", errors="replace")
                    for chunk in self._on_body(turn, self._decode(text)):
                        yield chunk
        except TransportTimeout as exc:
            raise ProviderCallError(
                f"The request to provider '{self.name}' timed out ({type(exc).__name__})",
                retryable=True,
            ) from exc
        except TransportError as exc:
            detail = self._scrub(str(exc)) or type(exc).__name__
            raise ProviderCallError(
                f"Could not reach provider '{self.name}': {detail}", retryable=True
            ) from exc
        for chunk in self._finish(turn, streamed):
            yield chunk

    async def _read_events(self, response: Response, turn: TurnT) -> AsyncGenerator[Chunk, None]:
        """The chunks of a server-sent-events body, read to its end so the connection is reused.

        After the stream stopped, or after an event failed, the rest is drained unread; the
        failure is raised at the end.
        """
        failure: ProviderCallError | None = None
        async with aclosing(sse_events(response)) as events:
            async for name, data in events:
                if failure is not None or self._stopped(turn):
                    continue
                try:
                    chunks = self._on_event(turn, name, data)
                except ProviderCallError as exc:
                    failure = exc
                    continue
                for chunk in chunks:
                    yield chunk
        if failure is not None:
            raise failure

    def _decode(self, data: str) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            raise self._malformed(data) from None

    def _malformed(self, data: str) -> ProviderCallError:
        return ProviderCallError(
            f"Provider '{self.name}' sent a malformed response: {self._scrub(data[:200])!r}",
            retryable=True,
        )

    def _scrub(self, text: str) -> str:
        """`text` without the api key, should a server echo it."""
        return text.replace(self._api_key, "***") if self._api_key else text
