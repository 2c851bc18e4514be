"""What the HTTP adapters share: the client, one POST per attempt, SSE, errors and retries.

An adapter (`openai_compat`, `anthropic`, `gemini`) is an `HTTPProvider` that says how to build
the request (`_prepare`), what one server-sent event or one whole JSON body means (`_on_event`,
`_on_body`), when the stream is over (`_stopped`), what ends the answer (`_finish`) and how to
read an HTTP error (`_status_error`, usually through `status_error`). The rest is here:

- `with_retries` drives the attempts: transient failures (HTTP 408, 409, 429, 5xx, connection
  errors, timeouts, malformed or truncated answers) are retried with exponential backoff
  (`backoff_delay`), or after the delay the server asks for (`retry_after_seconds`), but only
  while nothing has been yielded yet: once output has begun, a failure is raised at once.
- `SSEReader` reads a server-sent-events body's lines as `(event name, data)` pairs.
- `status_error` turns an HTTP status into a `ProviderCallError` with the run's error code; the
  vendor's text in it is only ever `error_text` (its JSON error shape's message, cleaned and cut)
  or the status's reason phrase. The whole error body goes to the server log
  (`provider_error_body`), never to the tenant.
- `new_http_client` makes the one `httpx.AsyncClient` a process shares between its adapters.
"""

from __future__ import annotations

import errno
import json
import math
import os
import random
import socket
import ssl
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from contextlib import aclosing
from datetime import UTC
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar
from typing import Any, Generic, Literal, Protocol, TypeVar

import anyio
import httpx

from runtime.providers.base import (
    Chunk,
    ModelRequest,
    ProviderCallError,
    RetryBudget,
    UsageChunk,
)
from store.errors import ConfigurationError
from store.log import get_logger

_log = get_logger("assistants.providers")

MAX_BACKOFF = 8.0  # seconds, before jitter
MAX_RETRY_AFTER = 60.0  # a longer server-requested delay is ignored in favour of the backoff
RETRYABLE_STATUSES = frozenset({408, 409, 429})
INVALID_PROMPT_STATUSES = frozenset({400, 404, 422})
AUTH_STATUSES = frozenset({401, 403})

MAX_REASON = 200  # characters of a vendor's error message passed on to the run's last_error
CONNECT_TIMEOUT = 10.0  # seconds: TCP, the proxy's handshake and TLS
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (servers often drop them after ~5 s)
MIN_CONNECTIONS = 100  # per client, at least; more when the worker runs more runs at once
USER_AGENT = "assistants-runtime"
# Servers on this machine (Ollama, llama.cpp...) as `localhost`, 127.0.0.1 or ::1 are reached
# directly, whatever proxy the environment names; NO_PROXY adds other hosts.
_DIRECT = ("all://localhost", "all://*.localhost", "all://127.0.0.1", "all://[::1]")


class Answer(Protocol):
    """What an adapter remembers of one response; `end()` is its usage (if any) and `Finish`."""

    def end(self) -> list[Chunk]: ...


TurnT = TypeVar("TurnT", bound=Answer)


class _NoCookies(CookieJar):
    """The shared client's cookie jar, which keeps nothing: a cookie one provider call receives
    is never sent with another (calls of every tenant share the client)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


def new_http_client(
    *,
    read_timeout: float,
    max_connections: int = MIN_CONNECTIONS,
    transport: Literal["httpx", "aiohttp"] = "httpx",
) -> httpx.AsyncClient:
    """The `httpx.AsyncClient` every adapter of a process shares (its owner closes it).

    Connecting (TCP, proxy, TLS) may take `CONNECT_TIMEOUT`; each read, write and the wait for a
    pooled connection `read_timeout` (an adapter passes its own per request). Up to
    `max_connections` connections, all of them kept alive while idle for `KEEPALIVE_EXPIRY`.
    Proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` incl. socks5 with the `socks` extra,
    `NO_PROXY`) and `SSL_CERT_FILE`/`SSL_CERT_DIR` come from the environment; loopback hosts are
    never proxied. gzip and deflate answers are decoded. Cookies are neither kept nor sent. No
    request is ever sent twice: the transport has no connect retries and redirects are not
    followed, so the retry policy of `with_retries` is the only one.

    `transport="aiohttp"` puts aiohttp's connections under the same client (asyncio only, the
    `aiohttp` extra; see `runtime.providers.aiohttp_client`). A proxy variable naming another
    scheme, or a socks5 proxy without the `socks` extra, is a `ConfigurationError`.
    """
    kind: type[httpx.AsyncClient] = httpx.AsyncClient
    if transport == "aiohttp":
        try:
            from runtime.providers.aiohttp_client import AiohttpClient  # noqa: PLC0415
        except ImportError as exc:
            raise ConfigurationError(
                "provider_http_transport is 'aiohttp' but httpx-aiohttp is not installed: "
                "install assistants-runtime[aiohttp]."
            ) from exc
        kind = AiohttpClient
    try:
        return kind(
            timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            trust_env=True,
            mounts=dict.fromkeys(_DIRECT),
            cookies=_NoCookies(),
            headers={"user-agent": USER_AGENT},
            follow_redirects=False,
        )
    except ImportError as exc:  # socksio is missing
        raise ConfigurationError(
            "A socks5:// proxy is set (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY) but SOCKS support "
            "is not installed: install assistants-runtime[socks]."
        ) from exc
    except ValueError as exc:
        raise ConfigurationError(
            f"The proxy settings (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) cannot be used: {exc}. "
            "Use http://, https://, socks5:// or socks5h:// proxy URLs."
        ) from exc


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


def clean(text: str, limit: int = MAX_REASON) -> str:
    """`text` on one line, without control characters, cut to `limit` characters."""
    kept = "".join(" " if c in "\t\r\n" else c for c in text if c in "\t\r\n" or not _control(c))
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def _control(character: str) -> bool:
    return unicodedata.category(character) in {"Cc", "Cf", "Cs", "Co", "Cn"}


def error_text(payload: Any) -> str | None:
    """The vendor's message in `{"error": {"message"}}`, `{"error": "..."}` or `{"detail"}`,
    cleaned and cut (`clean`); None for any other shape."""
    if isinstance(payload, dict):
        error = payload.get("error") or payload
        if isinstance(error, str):
            return clean(error)
        for key in ("message", "detail"):
            if isinstance(error, dict) and isinstance(error.get(key), str):
                return clean(str(error[key]))
    return None


def reason_phrase(response: httpx.Response) -> str:
    """The status's reason phrase (the server's own, else the standard one), cleaned."""
    return clean(response.reason_phrase) or "no reason given"


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


class SSEReader:
    """Server-sent events from a body's lines: `line(text)` is the `(event name, data)` of the
    event a blank line ends (comments are skipped, an event's `data:` lines are joined with
    newlines), `end()` that of a last event without its blank line.

    Fed line by line by the reader of the response, so no generator layer sits between the
    socket and the adapter for each event.
    """

    __slots__ = ("_data", "_name")

    def __init__(self) -> None:
        self._name = ""
        self._data: list[str] = []

    def line(self, line: str) -> tuple[str, str] | None:
        if line:
            if not line.startswith(":"):
                field, _, value = line.partition(":")
                if field == "data":
                    self._data.append(value.removeprefix(" "))
                elif field == "event":
                    self._name = value.strip()
            return None
        return self.end()

    def end(self) -> tuple[str, str] | None:
        data, name = self._data, self._name
        self._name, self._data = "", []
        return (name, "\n".join(data)) if data else None


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
    """A provider answering one POST per attempt on the process's shared `httpx.AsyncClient`.

    `TurnT` is what the subclass remembers of one response while reading it (a fresh one per
    attempt, from `_begin`).
    """

    def __init__(
        self,
        name: str,
        *,
        api_key: str | None,
        client: httpx.AsyncClient,
        headers: Mapping[str, str],
        max_retries: int,
        timeout: float,
        stream: bool,
        backoff_base: float,
        base_url_source: str | None = None,
    ) -> None:
        """`base_url_source` says where the base URL came from (as "set by OLLAMA_BASE_URL"), for
        the error of a server that cannot be reached."""
        self.name = name
        self._api_key = api_key
        self._client = client
        self._headers = dict(headers)
        self._max_retries = max(0, max_retries)
        self._timeout = timeout
        self._stream = stream
        self._backoff_base = backoff_base
        self._base_url_source = base_url_source

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
    def _status_error(self, response: httpx.Response) -> ProviderCallError:
        """The error for a response with an HTTP error status (its body read).

        Only `error_text` of the body, or `reason_phrase`, may reach the error's message."""

    # --- shared ---

    def stream(self, request: ModelRequest) -> AsyncGenerator[Chunk, None]:
        """The model's answer as chunks, retrying transient failures before any output.

        Lazy like any async generator: the request is built (or refused) when the first chunk is
        asked for, once for all attempts.
        """
        seconds = request.timeout if request.timeout is not None else self._timeout
        prepared: list[tuple[str, dict[str, Any], httpx.Timeout]] = []

        def attempt() -> AsyncGenerator[Chunk, None]:
            if not prepared:
                timeout = httpx.Timeout(seconds, connect=self._client.timeout.connect)
                prepared.append((*self._prepare(request), timeout))
            return self._attempt(*prepared[0])

        return with_retries(
            attempt,
            provider=self.name,
            max_retries=self._max_retries,
            backoff_base=self._backoff_base,
            budget=request.retry_budget,
        )

    async def _attempt(
        self, url: str, body: dict[str, Any], timeout: httpx.Timeout
    ) -> AsyncGenerator[Chunk, None]:
        """One HTTP request: its chunks, or a `ProviderCallError` saying whether a retry may help
        and carrying the usage the answer reported before it failed.

        `timeout` bounds connecting, each read and write, and the wait for a pooled connection.
        One generator from the response's lines to the chunks: each layer more would cost a
        resumption per chunk.
        """
        turn = self._begin()
        answered = False  # the response's head arrived
        try:
            try:
                async with self._client.stream(
                    "POST", url, json=body, headers=self._headers, timeout=timeout
                ) as response:
                    answered = True
                    if not response.is_success:
                        await response.aread()
                        _log.warning(  # the whole body for the operator; the tenant a summary
                            "provider_error_body", provider=self.name,
                            status=response.status_code, body=self._scrub(response.text),
                        )  # fmt: skip
                        raise self._status_error(response)
                    content_type = response.headers.get("content-type", "").split(";")[0].strip()
                    streamed = self._stream and content_type.lower() != "application/json"
                    if streamed:
                        # Read to the end so the connection is reused: after the stream
                        # stopped, or after an event failed, the rest is drained unread and the
                        # failure raised at the end.
                        events, failure = SSEReader(), None
                        async for line in response.aiter_lines():
                            event = events.line(line)
                            if event is None or failure is not None or self._stopped(turn):
                                continue
                            try:
                                chunks = self._on_event(turn, *event)
                            except ProviderCallError as exc:
                                failure = exc
                                continue
                            for chunk in chunks:
                                yield chunk
                        event = events.end()
                        if event is not None and failure is None and not self._stopped(turn):
                            for chunk in self._on_event(turn, *event):
                                yield chunk
                        if failure is not None:
                            raise failure
                    else:
                        text = (await response.aread()).decode("utf-8", errors="replace")
                        for chunk in self._on_body(turn, self._decode(text)):
                            yield chunk
            except httpx.TimeoutException as exc:
                raise ProviderCallError(
                    f"The request to provider '{self.name}' timed out ({type(exc).__name__})",
                    retryable=True,
                ) from exc
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, url, answered=answered) from exc
            except httpx.InvalidURL as exc:
                raise ProviderCallError(
                    f"Provider '{self.name}' has an invalid URL: {self._scrub(str(exc))}"
                ) from exc
            for chunk in self._finish(turn, streamed):
                yield chunk
        except ProviderCallError as exc:
            if exc.usage is None:
                exc.usage = next((c for c in turn.end() if isinstance(c, UsageChunk)), None)
            raise

    def _transport_error(
        self, exc: httpx.HTTPError, url: str, *, answered: bool
    ) -> ProviderCallError:
        """The error for a request that got no whole response (`answered`: its head came)."""
        where = _where(url)
        detail = self._scrub(_cause(exc))
        if isinstance(exc, httpx.DecodingError):
            return ProviderCallError(
                f"Provider '{self.name}' ({where}) sent a body that could not be decoded: {detail}",
                retryable=True,
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
            return ProviderCallError(f"Cannot send a request to provider '{self.name}': {detail}")
        if answered:
            return ProviderCallError(
                f"Provider '{self.name}' ({where}) closed the connection mid-stream: {detail}",
                retryable=True,
            )
        if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
            source = f" (the base URL is {self._base_url_source})" if self._base_url_source else ""
            return ProviderCallError(
                f"Could not reach provider '{self.name}' at {where}: {detail}{source}",
                retryable=True,
            )
        return ProviderCallError(
            f"Provider '{self.name}' ({where}) closed the connection before answering: {detail}",
            retryable=True,
        )

    async def post_json(self, url: str, body: dict[str, Any]) -> Any:
        """One JSON request answered by one JSON body (embeddings), with the retries and errors
        of a model call."""
        retries = 0
        while True:
            try:
                return await self._post_once(url, body)
            except ProviderCallError as exc:
                if not exc.retryable or retries >= self._max_retries:
                    raise
                delay = backoff_delay(retries, self._backoff_base, exc.retry_after)
                retries += 1
                _log.warning(
                    "provider_retry", provider=self.name, attempt=retries, status=exc.status,
                    code=exc.code, delay=round(delay, 3),
                )  # fmt: skip
                await anyio.sleep(delay)

    async def _post_once(self, url: str, body: dict[str, Any]) -> Any:
        headers = {**self._headers, "Accept": "application/json"}
        timeout = httpx.Timeout(self._timeout, connect=self._client.timeout.connect)
        try:
            response = await self._client.post(url, json=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise ProviderCallError(
                f"The request to provider '{self.name}' timed out ({type(exc).__name__})",
                retryable=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, url, answered=False) from exc
        if not response.is_success:
            _log.warning(
                "provider_error_body", provider=self.name, status=response.status_code,
                body=self._scrub(response.text),
            )  # fmt: skip
            raise self._status_error(response)
        return self._decode(response.text)

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


def _where(url: str) -> str:
    """`host:port` of `url`, for error messages (never its path, query or credentials)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{port}" if port else host


def _cause(exc: BaseException) -> str:
    """Why a request failed, in words: the OS's for a socket error ("Connection refused", not
    "All connection attempts failed"), else the first non-empty message down the cause chain."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | socket.gaierror):  # their errnos are their own
            return current.strerror or str(current)
        code = current.errno if isinstance(current, OSError) else None
        if code is not None and code in errno.errorcode:
            return os.strerror(code)
        if isinstance(current, BaseExceptionGroup):  # trio: one error per address tried
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    said: BaseException = exc
    while not str(said) and (inner := said.__cause__ or said.__context__) is not None:
        said = inner
    return str(said) or type(said).__name__
