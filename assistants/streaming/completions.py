"""`CompletionStream`: a streamed chat completion for blocking code (the sync `Client`).

A task on the client's event loop pumps the `AsyncCompletionStream` into a thread-safe queue, so
a blocking reader costs no thread hop per chunk. `get_final_completion()` reads the rest and
returns the whole answer; `close()` (or leaving a `with` block) stops the provider request.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from anyio.from_thread import BlockingPortal

from runtime.completions import AsyncCompletionStream
from store.completion_types import ChatCompletion, ChatCompletionChunk

_END = object()


class CompletionStream:
    """The chunks of one streamed completion, in order, each once (`for chunk in stream`)."""

    def __init__(self, portal: BlockingPortal, stream: AsyncCompletionStream) -> None:
        self._stream = stream
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = False
        self._future = portal.start_task_soon(self._pump)

    async def _pump(self) -> None:
        try:
            async for chunk in self._stream:
                self._queue.put(chunk)
        except Exception as exc:  # noqa: BLE001  (re-raised in the reading thread)
            self._queue.put(exc)
        finally:
            await self._stream.close()
            self._queue.put(_END)

    @property
    def id(self) -> str:
        return self._stream.id

    @property
    def span_id(self) -> str:
        return self._stream.span_id

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, Exception):
            self._done = True
            raise item
        chunk: ChatCompletionChunk = item
        return chunk

    def get_final_completion(self) -> ChatCompletion:
        """The whole answer, once every chunk was read (reads the rest first)."""
        for _ in self:
            pass
        return self._stream.final_completion()

    def close(self) -> None:
        """Stop reading; the provider request is closed."""
        self._done = True
        if not self._future.done():
            self._future.cancel()

    def __enter__(self) -> CompletionStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
