"""`CompletionStream`: a streamed chat completion for blocking code (the sync `Client`).

The `AsyncCompletionStream` is pumped by a task on the client's event loop (`BlockingIterator`).
`get_final_completion()` reads the rest and returns the whole answer; `close()` (or leaving a
`with` block) stops the provider request.
"""

from __future__ import annotations

from types import TracebackType

from anyio.from_thread import BlockingPortal

from assistants.streaming.pump import BlockingIterator
from runtime.completions import AsyncCompletionStream
from store.completion_types import ChatCompletion, ChatCompletionChunk


class CompletionStream(BlockingIterator[ChatCompletionChunk]):
    """The chunks of one streamed completion, in order, each once (`for chunk in stream`)."""

    def __init__(self, portal: BlockingPortal, stream: AsyncCompletionStream) -> None:
        super().__init__(portal, stream, stream.close)
        self._stream = stream

    @property
    def id(self) -> str:
        return self._stream.id

    @property
    def span_id(self) -> str:
        return self._stream.span_id

    def get_final_completion(self) -> ChatCompletion:
        """The whole answer, once every chunk was read (reads the rest first)."""
        for _ in self:
            pass
        return self._stream.final_completion()

    def __enter__(self) -> CompletionStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
