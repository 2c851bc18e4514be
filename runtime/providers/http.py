"""What the HTTP adapters share: the client, one POST per attempt, SSE, errors and retries.

An adapter (`openai_compat`, `anthropic`, `gemini`) is an `HTTPProvider` that says how to build
the request (`_prepare`), what one server-sent event or one whole JSON body means (`_on_event`,
`_on_body`), when the stream is over (`_stopped`), what ends the answer (`_finish`) and how to
read an HTTP error (`_status_error`, usually through `status_error`). The rest is here, or
beside it:

- `with_retries` (`runtime.providers.retries`) drives the attempts: transient failures (HTTP
  408, 409, 429, 5xx, connection errors, timeouts, malformed or truncated answers) are retried
  with exponential backoff (`backoff_delay`), or after the delay the server asks for
  (`retry_after_seconds`), but only while nothing has been yielded yet: once output has begun,
  a failure is raised at once.
- `SSEReader` (`runtime.providers.sse`) reads a server-sent-events body's bytes as
  `(event name, data)` pairs.
- `status_error` (`runtime.providers.http_errors`) turns an HTTP status into a
  `ProviderCallError` with the run's error code; the vendor's text in it is only ever
  `error_text` (its JSON error shape's message, cleaned and cut) or the status's reason phrase.
  The whole error body goes to the server log (`provider_error_body`), never to the tenant.
- `new_http_client` (`runtime.providers.http_client`) makes the one `httpx.AsyncClient` a
  process shares between its adapters.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import anyio
import httpx

from runtime.providers.base import Chunk, ModelRequest, ProviderCallError, UsageChunk
from runtime.providers.http_client import CONNECT_TIMEOUT, MIN_CONNECTIONS, new_http_client
from runtime.providers.http_errors import MAX_REASON, failure_cause, server_address
from runtime.providers.retries import (
    MAX_BACKOFF,
    backoff_delay,
    retry_after_seconds,
    with_retries,
)
from runtime.providers.sse import SSEReader
from store.log import get_logger

# Re-exported: the shared client and the retry figures were first named from here.
__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_BACKOFF",
    "MAX_REASON",
    "MIN_CONNECTIONS",
    "Answer",
    "HTTPProvider",
    "SSEReader",
    "backoff_delay",
    "new_http_client",
    "retry_after_seconds",
    "with_retries",
]

_log = get_logger("assistants.providers")


class Answer(Protocol):
    """What an adapter remembers of one response; `end()` is its usage (if any) and `Finish`."""

    def end(self) -> list[Chunk]: ...


TurnT = TypeVar("TurnT", bound=Answer)


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
                        async for data in response.aiter_bytes():
                            if failure is None and not self._stopped(turn):
                                chunks, failure = self._on_bytes(turn, events, data)
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

    def _on_bytes(
        self, turn: TurnT, events: SSEReader, data: bytes
    ) -> tuple[list[Chunk], ProviderCallError | None]:
        """The chunks of the events the body's next bytes complete, up to the end of the stream
        or the event that failed (returned with them)."""
        out: list[Chunk] = []
        for event in events.feed(data):
            try:
                out += self._on_event(turn, *event)
            except ProviderCallError as exc:
                return out, exc
            if self._stopped(turn):
                break
        return out, None

    def _transport_error(
        self, exc: httpx.HTTPError, url: str, *, answered: bool
    ) -> ProviderCallError:
        """The error for a request that got no whole response (`answered`: its head came)."""
        where = server_address(url)
        detail = self._scrub(failure_cause(exc))
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
