"""`AssistantEventHandler` and `AsyncAssistantEventHandler`: openai-python's stream handlers.

Subclass one and override the `on_*` callbacks; the stream manager hands it a stream with
`_init(stream)`, then iterating the handler (or `until_done()`, or a `get_final_*()`) reads the
stream. Each event fires, in this order (CONTRACT §8.4): `on_event`; `on_text_created` for each
text block the event opened, given the snapshot after its first fragment; then the event's own
callbacks. The SDK's quirks are kept on purpose: the first fragment of a tool call fires
`on_tool_call_created` and not `on_tool_call_delta`; the current tool call is never reset, so
`on_tool_call_done` fires again at later step ends and terminal run events; `on_end` always
fires; an exception fires `on_timeout` (timeouts only) and `on_exception`, then is re-raised.

Both classes run the same generator, `_HandlerCore._callbacks`, which updates the handler's state
and yields each callback to fire, in order: the sync class calls them, the async class awaits
them, and state changes between callbacks exactly where the SDK's do. Only the callbacks a
subclass overrides are yielded, and a delta merges into the current message's blocks without
building a new `Message`: `current_message_snapshot` is built when read (by the app, or for an
overridden `on_message_delta`), so per token only the text snapshot `on_text_delta` gets is made.
A handler that overrides neither `on_event` nor `on_message_delta` has each token (a delta that
only appends text to the current block) merged and passed to `on_text_delta` directly, without
the generator: the callbacks and the state between them are the same.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, Literal, Protocol, TypeAlias, TypeVar

from assistants.streaming.accumulate import (
    accumulate_content,
    accumulate_run_step,
    append_text,
    replace_field,
)
from store.deltas import (
    MessageDelta,
    RunStepDelta,
    TextDelta,
    TextDeltaBlock,
    ToolCallDelta,
    ToolCallDeltaObject,
)
from store.events import (
    StreamEvent,
    ThreadMessageCompleted,
    ThreadMessageCreated,
    ThreadMessageDelta,
    ThreadMessageIncomplete,
    ThreadRunCancelled,
    ThreadRunCancelling,
    ThreadRunCompleted,
    ThreadRunCreated,
    ThreadRunExpired,
    ThreadRunFailed,
    ThreadRunIncomplete,
    ThreadRunInProgress,
    ThreadRunQueued,
    ThreadRunRequiresAction,
    ThreadRunStepCancelled,
    ThreadRunStepCompleted,
    ThreadRunStepCreated,
    ThreadRunStepDelta,
    ThreadRunStepExpired,
    ThreadRunStepFailed,
    ThreadRunStepInProgress,
)
from store.types import (
    ImageFile,
    ImageFileContentBlock,
    Message,
    MessageContent,
    Run,
    RunStep,
    Text,
    TextContentBlock,
    ToolCall,
    ToolCallsStepDetails,
)


class EventSource(Protocol):
    """What `AssistantEventHandler._init` takes: typed events, and `close()` to release them."""

    def __iter__(self) -> Iterator[StreamEvent]: ...

    def close(self) -> None: ...


class AsyncEventSource(Protocol):
    """What `AsyncAssistantEventHandler._init` takes: typed events, and `async close()`."""

    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...

    async def close(self) -> None: ...


S = TypeVar("S")

Callback: TypeAlias = Literal[
    "on_event",
    "on_run_step_created",
    "on_run_step_delta",
    "on_run_step_done",
    "on_tool_call_created",
    "on_tool_call_delta",
    "on_tool_call_done",
    "on_message_created",
    "on_message_delta",
    "on_message_done",
    "on_text_created",
    "on_text_delta",
    "on_text_done",
    "on_image_file_done",
]
Call: TypeAlias = tuple[Callback, tuple[Any, ...]]
"""One callback to fire: its name and its arguments."""


def timed_out(exc: BaseException) -> bool:
    """Whether `exc` fires `on_timeout` before `on_exception`: a `TimeoutError`, or httpx's
    timeout (looked up only once httpx is loaded; a stream over HTTP has loaded it)."""
    httpx = sys.modules.get("httpx")
    return isinstance(exc, TimeoutError) or (
        httpx is not None and isinstance(exc, httpx.TimeoutException)
    )


_REUSED = (
    "A single event handler cannot be shared between multiple streams; "
    "You will need to construct a new event handler instance"
)
_RUN_STOPPED = (
    ThreadRunRequiresAction,
    ThreadRunCompleted,
    ThreadRunCancelled,
    ThreadRunExpired,
    ThreadRunFailed,
    ThreadRunIncomplete,
)
_RUN_MOVED = (ThreadRunCreated, ThreadRunQueued, ThreadRunInProgress, ThreadRunCancelling)
_STEP_ENDED = (
    ThreadRunStepCompleted,
    ThreadRunStepFailed,
    ThreadRunStepCancelled,
    ThreadRunStepExpired,
)
_MESSAGE_ENDED = (ThreadMessageCompleted, ThreadMessageIncomplete)


class _HandlerCore(Generic[S]):
    """State, properties and callback dispatch shared by the sync and async handlers."""

    def __init__(self) -> None:
        self._current_event: StreamEvent | None = None
        self._current_message_content_index: int | None = None
        self._current_message_content: MessageContent | None = None
        self._current_tool_call_index: int | None = None
        self._current_tool_call: ToolCall | None = None
        self._current_run_step_id: str | None = None
        self._current_run: Run | None = None
        self._run_step_snapshots: dict[str, RunStep] = {}
        self._message_snapshots: dict[str, Message] = {}
        self._current_message_snapshot: Message | None = None
        # The current message's blocks when deltas have moved them on since the snapshot above
        # was built: the snapshot is rebuilt from them only when something reads it.
        self._message_content: list[MessageContent] | None = None
        self._stream: S | None = None

    def _init(self, stream: S) -> None:
        """Attach the stream to read (once: a handler serves a single stream)."""
        if self._stream is not None:
            raise RuntimeError(_REUSED)
        self._stream = stream

    def _started(self) -> S:
        if self._stream is None:
            raise RuntimeError("Stream has not been started yet")
        return self._stream

    @property
    def current_event(self) -> StreamEvent | None:
        """The event being handled (None between events)."""
        return self._current_event

    @property
    def current_run(self) -> Run | None:
        """The last run object the stream sent."""
        return self._current_run

    @property
    def current_run_step_snapshot(self) -> RunStep | None:
        """The accumulated snapshot of the step in progress, if any."""
        if not self._current_run_step_id:
            return None
        return self._run_step_snapshots[self._current_run_step_id]

    @property
    def current_message_snapshot(self) -> Message | None:
        """The accumulated snapshot of the latest message."""
        self._settle_message()
        return self._current_message_snapshot

    def _settle_message(self) -> None:
        """Build the current message's snapshot from the blocks deltas have moved on."""
        content, self._message_content = self._message_content, None
        if content is not None:
            assert self._current_message_snapshot is not None
            message = replace_field(self._current_message_snapshot, "content", content)
            self._current_message_snapshot = self._message_snapshots[message.id] = message

    def _set_message(self, message: Message) -> None:
        self._settle_message()
        self._current_message_snapshot = self._message_snapshots[message.id] = message

    def _message_blocks(self) -> list[MessageContent]:
        """The current message's blocks, to merge deltas into (the snapshot's own list is left
        alone: a snapshot once read never changes)."""
        if self._message_content is None:
            assert self._current_message_snapshot is not None
            self._message_content = list(self._current_message_snapshot.content)
        return self._message_content

    def _final_run(self) -> Run:
        if not self._current_run:
            raise RuntimeError("No final run object found")
        return self._current_run

    def _final_run_steps(self) -> list[RunStep]:
        if not self._run_step_snapshots:
            raise RuntimeError("No run steps found")
        return list(self._run_step_snapshots.values())

    def _final_messages(self) -> list[Message]:
        self._settle_message()
        if not self._message_snapshots:
            raise RuntimeError("No messages found")
        return list(self._message_snapshots.values())

    def _callbacks(self, event: StreamEvent, wanted: frozenset[str]) -> Iterator[Call]:
        """The callbacks `event` fires, in order, of those `wanted` (the others do nothing, and
        their arguments are not built); state is updated between them as in the SDK.

        A callback that raises stops the generator, leaving the rest of the event unhandled.
        """
        self._current_event = event
        if "on_event" in wanted:
            yield "on_event", (event,)

        if isinstance(event, ThreadMessageDelta):  # most events: handled first, on their own
            yield from self._message_delta_callbacks(event, wanted)
            self._current_event = None
            return
        if isinstance(event, ThreadMessageCreated):
            self._set_message(event.data)
        step = accumulate_run_step(event, self._run_step_snapshots)
        if step is not None:
            self._run_step_snapshots[step.id] = step

        if isinstance(event, _RUN_STOPPED):
            self._current_run = event.data
            if self._current_tool_call is not None and "on_tool_call_done" in wanted:
                yield "on_tool_call_done", (self._current_tool_call,)
        elif isinstance(event, _RUN_MOVED):
            self._current_run = event.data
        elif isinstance(event, ThreadMessageCreated):
            if "on_message_created" in wanted:
                yield "on_message_created", (event.data,)
        elif isinstance(event, _MESSAGE_ENDED):
            self._set_message(event.data)
            if self._current_message_content_index is not None:
                block = event.data.content[self._current_message_content_index]
                yield from _block_done(block, wanted)
            if "on_message_done" in wanted:
                yield "on_message_done", (event.data,)
        elif isinstance(event, ThreadRunStepCreated):
            self._current_run_step_id = event.data.id
            if "on_run_step_created" in wanted:
                yield "on_run_step_created", (event.data,)
        elif isinstance(event, ThreadRunStepInProgress):
            self._current_run_step_id = event.data.id
        elif isinstance(event, ThreadRunStepDelta):
            for call in self._step_delta_callbacks(event):
                if call[0] in wanted:
                    yield call
        elif isinstance(event, _STEP_ENDED):
            if self._current_tool_call is not None and "on_tool_call_done" in wanted:
                yield "on_tool_call_done", (self._current_tool_call,)
            if "on_run_step_done" in wanted:
                yield "on_run_step_done", (event.data,)
            self._current_run_step_id = None
        # thread.created, thread.message.in_progress, error and unknown events: on_event only.
        self._current_event = None

    def _message_delta_callbacks(
        self, event: ThreadMessageDelta, wanted: frozenset[str]
    ) -> Iterator[Call]:
        """A message delta: merged into the current message's blocks (a run step delta's step
        snapshot is not touched), then `on_text_created` for each block it opened, then each
        fragment's callbacks, then `on_message_delta`."""
        if self._current_message_snapshot is None:
            raise RuntimeError("Encountered a message delta with no previous snapshot")
        fragments = event.data.delta.content
        if fragments:
            # Only read below: a callback reading the snapshot may have made it the message's.
            blocks = self._message_blocks()
            opened = accumulate_content(blocks, fragments)
            if opened and "on_text_created" in wanted:
                for fragment in opened:
                    block = blocks[fragment.index]
                    if isinstance(block, TextContentBlock):
                        yield "on_text_created", (block.text,)
            for fragment in fragments:
                if (
                    "on_text_delta" in wanted
                    and isinstance(fragment, TextDeltaBlock)
                    and fragment.text is not None
                ):
                    block = blocks[fragment.index]
                    assert isinstance(block, TextContentBlock)
                    yield "on_text_delta", (fragment.text, block.text)
                if fragment.index != self._current_message_content_index:
                    # A new block: the previous one is done.
                    if self._current_message_content is not None:
                        yield from _block_done(self._current_message_content, wanted)
                    self._current_message_content_index = fragment.index
                self._current_message_content = blocks[fragment.index]
        if "on_message_delta" in wanted:
            snapshot = self.current_message_snapshot
            yield "on_message_delta", (event.data.delta, snapshot)

    def _token(self, event: StreamEvent) -> tuple[TextDelta, Text] | None:
        """A token: a message delta whose one fragment appends plain text to the current text
        block. Merged as `_callbacks` merges it, and the `on_text_delta` arguments returned, for
        a handler that wants no other callback of it (`_TOKEN_BLIND`); None, and nothing
        changed, for any other event."""
        if type(event) is not ThreadMessageDelta or self._current_message_snapshot is None:
            return None
        fragments = event.data.delta.content
        if not fragments or len(fragments) != 1:
            return None
        fragment = fragments[0]
        if fragment.index != self._current_message_content_index:
            return None  # a block opened or changed: its callbacks fire through `_callbacks`
        blocks = self._message_blocks()
        if fragment.index >= len(blocks):
            return None
        block = append_text(blocks[fragment.index], fragment)
        if block is None:
            return None
        blocks[fragment.index] = self._current_message_content = block
        assert isinstance(block, TextContentBlock)
        assert isinstance(fragment, TextDeltaBlock)
        assert fragment.text is not None
        return fragment.text, block.text

    def _step_delta_callbacks(self, event: ThreadRunStepDelta) -> Iterator[Call]:
        snapshot = self._run_step_snapshots[event.data.id]
        details = event.data.delta.step_details
        if isinstance(details, ToolCallDeltaObject) and details.tool_calls is not None:
            assert isinstance(snapshot.step_details, ToolCallsStepDetails)
            calls = snapshot.step_details.tool_calls
            for fragment in details.tool_calls:
                if fragment.index == self._current_tool_call_index:
                    yield "on_tool_call_delta", (fragment, calls[fragment.index])
                else:
                    # A new tool call: the previous one is done.
                    if self._current_tool_call is not None:
                        yield "on_tool_call_done", (self._current_tool_call,)
                    self._current_tool_call_index = fragment.index
                    self._current_tool_call = calls[fragment.index]
                    yield "on_tool_call_created", (self._current_tool_call,)
                self._current_tool_call = calls[fragment.index]
        yield "on_run_step_delta", (event.data.delta, snapshot)


def _overridden(handler: object, base: type) -> frozenset[str]:
    """The `on_*` callbacks `handler` defines (in a subclass, or set on the instance): only those
    are called, since the base class's do nothing and a call per callback per delta adds up."""
    names = {name for name in vars(base) if name.startswith("on_")}
    return frozenset(
        name
        for name in names
        if name in vars(handler) or getattr(type(handler), name) is not vars(base)[name]
    )


_TOKEN_BLIND = frozenset({"on_event", "on_message_delta"})
"""The callbacks every message delta fires besides `on_text_delta`: a handler that overrides
neither has a token merged by `_token`, without the general dispatch."""


def _block_done(block: MessageContent, wanted: frozenset[str]) -> Iterator[Call]:
    if isinstance(block, TextContentBlock):
        if "on_text_done" in wanted:
            yield "on_text_done", (block.text,)
    elif isinstance(block, ImageFileContentBlock) and "on_image_file_done" in wanted:
        yield "on_image_file_done", (block.image_file,)


def _text_values(event: StreamEvent) -> Iterator[str]:
    """The non-empty text fragments of a message delta."""
    if isinstance(event, ThreadMessageDelta):
        for fragment in event.data.delta.content or []:
            if isinstance(fragment, TextDeltaBlock) and fragment.text and fragment.text.value:
                yield fragment.text.value


class AssistantEventHandler(_HandlerCore[EventSource]):
    """Callbacks for a stream's events; iterate it, or `until_done()`, to read the stream."""

    text_deltas: Iterator[str]
    """The text fragments of the stream (reading them reads the stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.text_deltas = self._iter_text_deltas()
        self._iterator = self._drive()

    def __next__(self) -> StreamEvent:
        return next(self._iterator)

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._iterator

    def close(self) -> None:
        """Close the stream and release its resources."""
        if self._stream is not None:
            self._stream.close()

    def until_done(self) -> None:
        """Read the stream to its end."""
        for _ in self:
            pass

    def get_final_run(self) -> Run:
        """Read the stream to its end; the last run it sent, whatever its status."""
        self.until_done()
        return self._final_run()

    def get_final_run_steps(self) -> list[RunStep]:
        """Read the stream to its end; the accumulated snapshots of its steps."""
        self.until_done()
        return self._final_run_steps()

    def get_final_messages(self) -> list[Message]:
        """Read the stream to its end; the snapshots of the messages it created."""
        self.until_done()
        return self._final_messages()

    def _iter_text_deltas(self) -> Iterator[str]:
        for event in self:
            yield from _text_values(event)

    def _drive(self) -> Iterator[StreamEvent]:
        stream = self._started()
        try:
            overridden = _overridden(self, AssistantEventHandler)
            tokens = not overridden & _TOKEN_BLIND
            text_delta = "on_text_delta" in overridden
            for event in stream:
                token = self._token(event) if tokens else None
                if token is None:
                    for name, args in self._callbacks(event, overridden):
                        getattr(self, name)(*args)
                elif text_delta:
                    self._current_event = event
                    self.on_text_delta(*token)
                    self._current_event = None
                yield event
        except Exception as exc:
            if timed_out(exc):
                self.on_timeout()
            self.on_exception(exc)
            raise
        finally:
            self.on_end()

    # --- callbacks (override these) ---------------------------------------------------------

    def on_end(self) -> None:
        """The stream ended: read to completion, or stopped by an exception."""

    def on_event(self, event: StreamEvent) -> None:
        """Every event, first."""

    def on_run_step_created(self, run_step: RunStep) -> None:
        """A run step was created."""

    def on_run_step_delta(self, delta: RunStepDelta, snapshot: RunStep) -> None:
        """A run step fragment (as sent), and the step accumulated so far."""

    def on_run_step_done(self, run_step: RunStep) -> None:
        """A run step completed, failed, was cancelled or expired."""

    def on_tool_call_created(self, tool_call: ToolCall) -> None:
        """A tool call's first fragment arrived (the snapshot holds it)."""

    def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        """A later tool call fragment, and the call accumulated so far."""

    def on_tool_call_done(self, tool_call: ToolCall) -> None:
        """The current tool call is done."""

    def on_exception(self, exception: Exception) -> None:
        """Reading the stream, or a callback, raised `exception` (re-raised afterwards)."""

    def on_timeout(self) -> None:
        """Reading the stream timed out."""

    def on_message_created(self, message: Message) -> None:
        """A message was created."""

    def on_message_delta(self, delta: MessageDelta, snapshot: Message) -> None:
        """A message fragment (as sent), and the message accumulated so far."""

    def on_message_done(self, message: Message) -> None:
        """A message completed, or ended incomplete."""

    def on_text_created(self, text: Text) -> None:
        """A text block was opened (the snapshot holds its first fragment)."""

    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        """A text fragment (as sent), and the text accumulated so far."""

    def on_text_done(self, text: Text) -> None:
        """A text block is done."""

    def on_image_file_done(self, image_file: ImageFile) -> None:
        """An image file block is done."""


class AsyncAssistantEventHandler(_HandlerCore[AsyncEventSource]):
    """Async callbacks for a stream's events; `async for` it, or `until_done()`."""

    text_deltas: AsyncIterator[str]
    """The text fragments of the stream (reading them reads the stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.text_deltas = self._iter_text_deltas()
        self._iterator = self._drive()

    async def __anext__(self) -> StreamEvent:
        return await self._iterator.__anext__()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._iterator

    async def close(self) -> None:
        """Close the stream and release its resources."""
        if self._stream is not None:
            await self._stream.close()

    async def until_done(self) -> None:
        """Read the stream to its end."""
        async for _ in self:
            pass

    async def get_final_run(self) -> Run:
        """Read the stream to its end; the last run it sent, whatever its status."""
        await self.until_done()
        return self._final_run()

    async def get_final_run_steps(self) -> list[RunStep]:
        """Read the stream to its end; the accumulated snapshots of its steps."""
        await self.until_done()
        return self._final_run_steps()

    async def get_final_messages(self) -> list[Message]:
        """Read the stream to its end; the snapshots of the messages it created."""
        await self.until_done()
        return self._final_messages()

    async def _iter_text_deltas(self) -> AsyncIterator[str]:
        async for event in self:
            for value in _text_values(event):
                yield value

    async def _drive(self) -> AsyncIterator[StreamEvent]:
        stream = self._started()
        try:
            overridden = _overridden(self, AsyncAssistantEventHandler)
            tokens = not overridden & _TOKEN_BLIND
            text_delta = "on_text_delta" in overridden
            async for event in stream:
                token = self._token(event) if tokens else None
                if token is None:
                    for name, args in self._callbacks(event, overridden):
                        await getattr(self, name)(*args)
                elif text_delta:
                    self._current_event = event
                    await self.on_text_delta(*token)
                    self._current_event = None
                yield event
        except Exception as exc:
            if timed_out(exc):
                await self.on_timeout()
            await self.on_exception(exc)
            raise
        finally:
            await self.on_end()

    # --- callbacks (override these) ---------------------------------------------------------

    async def on_end(self) -> None:
        """The stream ended: read to completion, or stopped by an exception."""

    async def on_event(self, event: StreamEvent) -> None:
        """Every event, first."""

    async def on_run_step_created(self, run_step: RunStep) -> None:
        """A run step was created."""

    async def on_run_step_delta(self, delta: RunStepDelta, snapshot: RunStep) -> None:
        """A run step fragment (as sent), and the step accumulated so far."""

    async def on_run_step_done(self, run_step: RunStep) -> None:
        """A run step completed, failed, was cancelled or expired."""

    async def on_tool_call_created(self, tool_call: ToolCall) -> None:
        """A tool call's first fragment arrived (the snapshot holds it)."""

    async def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        """A later tool call fragment, and the call accumulated so far."""

    async def on_tool_call_done(self, tool_call: ToolCall) -> None:
        """The current tool call is done."""

    async def on_exception(self, exception: Exception) -> None:
        """Reading the stream, or a callback, raised `exception` (re-raised afterwards)."""

    async def on_timeout(self) -> None:
        """Reading the stream timed out."""

    async def on_message_created(self, message: Message) -> None:
        """A message was created."""

    async def on_message_delta(self, delta: MessageDelta, snapshot: Message) -> None:
        """A message fragment (as sent), and the message accumulated so far."""

    async def on_message_done(self, message: Message) -> None:
        """A message completed, or ended incomplete."""

    async def on_text_created(self, text: Text) -> None:
        """A text block was opened (the snapshot holds its first fragment)."""

    async def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        """A text fragment (as sent), and the text accumulated so far."""

    async def on_text_done(self, text: Text) -> None:
        """A text block is done."""

    async def on_image_file_done(self, image_file: ImageFile) -> None:
        """An image file block is done."""
