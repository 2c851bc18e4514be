"""A streamed `prompts.run`: the completion's chunks, then the same `PromptRun` a plain run
returns (`request_id`, `raw_response`, `prompt_blueprint`).

`AsyncPromptRunStream` wraps the completion stream of `client.chat.completions`;
`PromptRunStream` is its blocking face for the sync `Client`, reading the chunks through the
completion's own blocking stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType

from anyio.from_thread import BlockingPortal

from assistants.streaming.completions import CompletionStream
from runtime.completions import AsyncCompletionStream
from store.completion_types import ChatCompletion, ChatCompletionChunk
from store.prompt_types import PromptBlueprint, PromptRun


def prompt_run(completion: ChatCompletion, blueprint: PromptBlueprint) -> PromptRun:
    """The result of a run whose model answered `completion`."""
    return PromptRun(
        request_id=completion.span_id or completion.id,
        raw_response=completion,
        prompt_blueprint=blueprint,
    )


class AsyncPromptRunStream:
    """`async for item in stream`: each `ChatCompletionChunk`, then the `PromptRun`."""

    def __init__(self, completion: AsyncCompletionStream, blueprint: PromptBlueprint) -> None:
        self.completion = completion
        self.prompt_blueprint = blueprint

    async def __aiter__(self) -> AsyncIterator[ChatCompletionChunk | PromptRun]:
        async for chunk in self.completion:
            yield chunk
        yield self.result()

    def result(self) -> PromptRun:
        """The `PromptRun` of a stream read to its end (a `RuntimeError` before that)."""
        return prompt_run(self.completion.final_completion(), self.prompt_blueprint)

    async def get_final_result(self) -> PromptRun:
        """The `PromptRun`, once every chunk was read (reads the rest first)."""
        await self.completion.get_final_completion()
        return self.result()

    async def close(self) -> None:
        """Stop reading; the provider request is closed."""
        await self.completion.close()

    async def __aenter__(self) -> AsyncPromptRunStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class PromptRunStream:
    """`for item in stream`: each `ChatCompletionChunk`, then the `PromptRun` (blocking)."""

    def __init__(self, portal: BlockingPortal, stream: AsyncPromptRunStream) -> None:
        self._chunks = CompletionStream(portal, stream.completion)
        self._stream = stream
        self.prompt_blueprint = stream.prompt_blueprint

    def __iter__(self) -> Iterator[ChatCompletionChunk | PromptRun]:
        yield from self._chunks
        yield self._stream.result()

    def get_final_result(self) -> PromptRun:
        """The `PromptRun`, once every chunk was read (reads the rest first)."""
        self._chunks.get_final_completion()
        return self._stream.result()

    def close(self) -> None:
        self._chunks.close()

    def __enter__(self) -> PromptRunStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
