"""The completion engine: one stateless model call through the provider router.

`Completions.create(params)` answers with a `ChatCompletion`; `Completions.stream(params)` with a
`AsyncCompletionStream` of `ChatCompletionChunk`s in OpenAI's delta format, whatever the provider
(the adapters already turn Anthropic's and Gemini's streams into provider-neutral chunks):
a first chunk with the assistant role, text and tool-call deltas, a chunk with the
`finish_reason`, and last a chunk without choices carrying the usage and the extensions.

Before any output, a call is all-or-nothing: every model is resolved up front (an unknown model
or provider, or a missing key, is a 400 before any request), and the adapters retry transient
failures (`num_retries`) before the first chunk; a model that fails for good hands over to the
next of `fallbacks`. `stream` returns only once a model has answered, so every such failure is an
error of the call itself (an HTTP status on the server), never a stream that ends oddly. Once
output has begun, a failure is raised from the iterator after the chunks already delivered,
and nothing is reported as a normal finish.

Errors: a provider's 401/403 are `AuthenticationError`/`PermissionDeniedError`, its 429 a
`RateLimitError` (with `retry_after`), its refusal of the request (400, 404, 422) a
`BadRequestError`, anything else (5xx, timeouts, broken streams) a `ProviderError`; messages
name the provider and carry its status and message. When every model of a fallback chain
failed, the error lists each model and why.

Observers (`add_sink`) get a `FinishedCall` once per call; see `runtime.completions.record`.
One call's routes, requests and answer are `runtime.completions.call`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import suppress
from types import TracebackType

import anyio

from runtime.completions.call import Call, api_error
from runtime.completions.params import CompletionParams
from runtime.completions.record import CallStatus, FinishedCall, Sink
from runtime.providers.base import Chunk, ProviderCallError
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from store.completion_types import ChatCompletion, ChatCompletionChunk
from store.errors import APIError
from store.log import get_logger

log = get_logger("assistants.completions")


class Completions:
    """Stateless model calls for one runtime: its router (providers, aliases) and settings."""

    def __init__(self, router: ProviderRouter, settings: Settings) -> None:
        self.router = router
        self.settings = settings
        self._sinks: list[Sink] = []

    def add_sink(self, sink: Sink) -> None:
        """Tell `sink` about every call from now on (see `runtime.completions.record`)."""
        self._sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        with suppress(ValueError):
            self._sinks.remove(sink)

    async def create(self, params: CompletionParams, *, project: str = "default") -> ChatCompletion:
        """The whole answer to `params` (its `stream` flag is ignored)."""
        call = Call(self, params, project, stream=False)
        try:
            for chunk in await call.open():
                call.take(chunk)
            try:
                async for chunk in call.answer():
                    call.take(chunk)
            except ProviderCallError as exc:
                raise api_error(exc) from exc
            await call.close()  # read to its end: nothing left to shield
        except APIError as exc:
            await call.report("failed", exc)
            raise
        except BaseException:
            await call.report("cancelled", None)
            raise
        finally:
            if call.open_answer:
                with anyio.CancelScope(shield=True):
                    await call.close()
        completion = call.completion()
        await call.report("completed", None, completion)
        return completion

    async def stream(
        self, params: CompletionParams, *, project: str = "default"
    ) -> AsyncCompletionStream:
        """The answer to `params` as chunks; returns once a model has begun answering."""
        call = Call(self, params, project, stream=True)
        try:
            first = await call.open()
        except APIError as exc:
            await call.report("failed", exc)
            raise
        except BaseException:
            await call.report("cancelled", None)
            raise
        return AsyncCompletionStream(call, first)

    async def _tell(self, record: FinishedCall) -> None:
        for sink in list(self._sinks):
            try:
                pending = sink(record)
                if pending is not None:
                    with anyio.CancelScope(shield=True):
                        await pending
            except Exception as exc:  # noqa: BLE001 - an observer never changes the answer
                log.warning("completion_sink_failed", error=f"{type(exc).__name__}: {exc}")


class AsyncCompletionStream:
    """The chunks of one streamed completion (`async for chunk in stream`), each once.

    `get_final_completion()` reads what is left and returns the whole answer as a
    `ChatCompletion`; `close()` stops reading (the provider request is closed).
    """

    def __init__(self, call: Call, first: list[Chunk]) -> None:
        self._call = call
        self._chunks = self._generate(first)
        self._done = False

    def __aiter__(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        # `async for` resumes the chunk generator itself: no coroutine of ours per chunk.
        return self._chunks

    async def __anext__(self) -> ChatCompletionChunk:
        return await self._chunks.__anext__()

    @property
    def id(self) -> str:
        return self._call.id

    @property
    def span_id(self) -> str:
        return self._call.span_id

    async def get_final_completion(self) -> ChatCompletion:
        """The whole answer, once every chunk was read (reads the rest first)."""
        async for _ in self._chunks:
            pass
        return self.final_completion()

    def final_completion(self) -> ChatCompletion:
        """The whole answer of a stream read to its end (a `RuntimeError` before that)."""
        if not self._done:
            raise RuntimeError("The stream has not been read to its end yet.")
        return self._call.completion()

    async def close(self) -> None:
        """Stop reading; the provider request is closed and the call reported as cancelled."""
        await self._chunks.aclose()

    async def __aenter__(self) -> AsyncCompletionStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _generate(self, first: list[Chunk]) -> AsyncGenerator[ChatCompletionChunk, None]:
        call = self._call
        status: CallStatus = "cancelled"
        error: APIError | None = None
        try:
            yield call.chunk({"role": "assistant", "content": ""})
            for chunk in first:
                out = call.take(chunk)
                if out is not None:
                    yield out
            try:
                async for chunk in call.answer():
                    out = call.take(chunk)
                    if out is not None:
                        yield out
            except ProviderCallError as exc:
                raise api_error(exc) from exc
            await call.close()  # read to its end: nothing left to shield
            if call.params.include_usage:
                yield call.last_chunk()
            status = "completed"
            self._done = True
        except APIError as exc:
            status, error = "failed", exc
            raise
        finally:
            if call.open_answer:
                with anyio.CancelScope(shield=True):
                    await call.close()
            await call.report(status, error, call.completion() if status == "completed" else None)
