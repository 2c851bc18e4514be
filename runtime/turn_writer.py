"""`TurnWriter` writes a run's turn as the model streams it: the message or tool-call step each
delta opens, the deltas themselves (buffered into batches, published live at once), the
message's end or the pause for function calls, and the span of the model call. A stop
(`StopSignal`) interrupts the stream between chunks, never inside a write. The executor is a
`TurnWriter`.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from runtime import file_search, states
from runtime.providers.base import (
    Finish,
    ModelRequest,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.router import Route
from runtime.run_plan import ModelCall
from runtime.settings import Settings
from runtime.states import RunStatus
from runtime.trace_context import RunTrace
from runtime.tracing import Tracer, prompt_message
from runtime.turns import RunCancelled, StopSignal, StreamedCall, Turn, shielded_write, zero_usage
from store import ids
from store.log import get_logger
from store.picking import Claim
from store.records import RunRecord
from store.store import Store
from store.types import RunEvent
from store.work import Event

log = get_logger("assistants.executor")


class TurnWriter:
    """Writes a run's turn as the model streams it, and the span of its model call (the
    executor's streaming half)."""

    store: Store
    settings: Settings
    worker_id: str
    tracer: Tracer | None
    _traces: dict[str, RunTrace]  # the runs being executed that are traced

    def _trace_call(
        self,
        run: RunRecord,
        call: ModelCall,
        *,
        status: str,
        error: dict[str, str] | None = None,
        cost: float | None = None,
    ) -> None:
        """Record the model call just made as a span of the run (nothing if not traced)."""
        trace = self._traces.get(run.id)
        if trace is None or self.tracer is None:
            return
        route, turn, started = call.route, call.turn, call.started
        ended = time.perf_counter()
        now = time.time()
        content = trace.store_content
        output: dict[str, Any] = {"text": turn.text}
        if turn.calls:
            output["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments}
                for _, c in sorted(turn.calls.items())
            ]
        self.tracer.record(
            trace.span(
                kind="model",
                name=f"chat {route.label}",
                status=status,
                error=error,
                started_at=now - (ended - started),
                ended_at=now,
                time_to_first_token_ms=(
                    None
                    if turn.first_token is None
                    else round((turn.first_token - started) * 1000, 3)
                ),
                requested_model=run.model,
                model=route.label,
                provider=route.provider.name,
                prompt_tokens=turn.prompt_tokens,
                completion_tokens=turn.completion_tokens,
                cost=cost,
                retries=call.retries,
                fallbacks=list(call.fallbacks) or None,
                input=[prompt_message(m) for m in call.request.messages] if content else None,
                output=output if content else None,
                metadata={"finish_reason": turn.finish} if turn.finish else None,
            )
        )

    async def _stream(
        self, run: RunRecord, route: Route, request: ModelRequest, turn: Turn, stop: StopSignal
    ) -> None:
        """Consume the model's stream; a stop request (cancel, expiry) interrupts it at once,
        between chunks or while waiting for one (never inside a write: those are shielded)."""
        with stop.interrupting() as scope:
            async with contextlib.aclosing(route.provider.stream(request)) as chunks:
                async for chunk in chunks:
                    await self._on_chunk(run, turn, chunk)
        if scope.cancelled_caught:
            raise RunCancelled

    async def _open_message(self, run: RunRecord, turn: Turn) -> None:
        pending, turn.pending = turn.pending, []
        with shielded_write():
            turn.step, turn.message, turn.seq = await self.store.work.begin_step(
                run, self.worker_id, kind="message_creation", message=True, pending=pending
            )

    async def _finish_message(
        self,
        run_id: str,
        turn: Turn,
        *,
        step_usage: dict[str, int] | None,
        run_usage: dict[str, int],
        ext: dict[str, Any],
        incomplete_reason: str | None = None,
        end_run: RunStatus | None = None,
        incomplete_details: dict[str, Any] | None = None,
        run_extensions: dict[str, Any] | None = None,
        successor: Claim | None = None,
    ) -> None:
        assert turn.step is not None
        assert turn.message is not None
        cited = file_search.citations(turn.text, turn.searches) if turn.searches else []
        if cited:  # the annotations reach streams as one last delta, as OpenAI sent them
            self._queue(
                run_id,
                turn,
                (
                    "thread.message.delta",
                    {
                        "id": turn.message,
                        "object": "thread.message.delta",
                        "delta": {
                            "content": [
                                {
                                    "index": 0,
                                    "type": "text",
                                    "text": {
                                        "annotations": [
                                            {"index": i, **a} for i, a in enumerate(cited)
                                        ]
                                    },
                                }
                            ]
                        },
                    },
                ),
            )
        content = [{"type": "text", "text": {"value": turn.text, "annotations": cited}}]
        with shielded_write():
            turn.seq = await self.store.work.finish_message(
                run_id,
                self.worker_id,
                step_id=turn.step,
                message_id=turn.message,
                content=content,
                step_usage=step_usage,
                run_usage=run_usage,
                step_extensions=ext,
                pending=turn.pending,
                incomplete_reason=incomplete_reason,
                end_run=end_run,
                end_allowed=(RunStatus.IN_PROGRESS,),
                incomplete_details=incomplete_details,
                run_extensions=run_extensions,
                successor=successor,
            )
        turn.pending = []
        turn.message_done = True

    async def _on_chunk(self, run: RunRecord, turn: Turn, chunk: Any) -> None:
        """Take one chunk of the model's answer: text, a tool call's fragment, usage or the
        finish reason; then flush the buffered deltas if the batch is full or old enough.
        (The per-delta work is plain calls: a delta awaits only the write that opens a step.)"""
        if isinstance(chunk, TextDelta):
            if turn.first_token is None:
                turn.first_token = time.perf_counter()
            if chunk.text:
                if turn.message is None:
                    await self._open_message(run, turn)
                self._add_text(run.id, turn, chunk.text)
        elif isinstance(chunk, ToolCallDelta):
            if turn.first_token is None:
                turn.first_token = time.perf_counter()
            if turn.tool_step is None:
                await self._open_tool_step(run, turn)
            self._add_call_fragment(run.id, turn, chunk)
        elif isinstance(chunk, UsageChunk):
            turn.prompt_tokens = chunk.prompt_tokens
            turn.completion_tokens = chunk.completion_tokens
        elif isinstance(chunk, Finish):
            turn.finish = chunk.reason
        if turn.pending and (
            len(turn.pending) >= self.settings.delta_flush_count
            or time.monotonic() - turn.pending_since >= self.settings.delta_flush_seconds
        ):
            await self._flush(run.id, turn)

    def _add_text(self, run_id: str, turn: Turn, piece: str) -> None:
        """A piece of the answer's text, as a delta of the open message."""
        text: dict[str, Any] = {"value": piece}
        if not turn.text:
            text["annotations"] = []
        turn.text += piece
        self._queue(
            run_id,
            turn,
            (
                "thread.message.delta",
                {
                    "id": turn.message,
                    "object": "thread.message.delta",
                    "delta": {"content": [{"index": 0, "type": "text", "text": text}]},
                },
            ),
        )

    def _add_call_fragment(self, run_id: str, turn: Turn, chunk: ToolCallDelta) -> None:
        """A fragment of a function call, as a delta of the open tool-call step: a call's first
        fragment names it, the rest add arguments."""
        call = turn.calls.get(chunk.index)
        if call is None:
            call = turn.calls[chunk.index] = StreamedCall(
                id=chunk.id or ids.new_id("call"), name=chunk.name or ""
            )
            delta: dict[str, Any] = {
                "index": chunk.index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": chunk.arguments, "output": None},
            }
        else:
            delta = {
                "index": chunk.index,
                "type": "function",
                "function": {"arguments": chunk.arguments},
            }
        call.arguments += chunk.arguments
        self._queue(
            run_id,
            turn,
            (
                "thread.run.step.delta",
                {
                    "id": turn.tool_step,
                    "object": "thread.run.step.delta",
                    "delta": {"step_details": {"type": "tool_calls", "tool_calls": [delta]}},
                },
            ),
        )

    async def _open_tool_step(self, run: RunRecord, turn: Turn) -> None:
        """The first tool-call fragment opens the step, ending a message the text before it
        opened."""
        if turn.message is not None and not turn.message_done:
            await self._finish_message(
                run.id, turn, step_usage=None, run_usage=zero_usage(), ext={}
            )
        pending, turn.pending = turn.pending, []
        with shielded_write():
            turn.tool_step, _, turn.seq = await self.store.work.begin_step(
                run, self.worker_id, kind="tool_calls", message=False, pending=pending
            )

    def _queue(self, run_id: str, turn: Turn, event: Event) -> None:
        """Buffer a delta for the next batch, and publish it live at once."""
        if not turn.pending:
            turn.pending_since = time.monotonic()
        turn.pending.append(event)
        notifier = self.store.notifier
        if notifier.has_listeners(run_id):
            seq = turn.seq + len(turn.pending)
            notifier.publish_one(run_id, RunEvent(run_id, seq, event[0], event[1]))

    async def _flush(self, run_id: str, turn: Turn) -> None:
        if turn.pending:
            events, turn.pending = turn.pending, []
            with shielded_write():
                turn.seq = await self.store.work.append_events(
                    run_id, self.worker_id, events, prepublished=len(events)
                )

    async def _pause_for_tools(
        self,
        run_id: str,
        turn: Turn,
        *,
        step_usage: dict[str, int],
        run_usage: dict[str, int],
        ext: dict[str, Any],
        run_extensions: dict[str, Any] | None,
        successor: Claim | None,
    ) -> None:
        """End the turn on its function calls: the run waits for their outputs
        (`requires_action`), its claim released (and the successor's taken) in the same write."""
        assert turn.tool_step is not None
        tool_calls = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments, "output": None},
            }
            for _, c in sorted(turn.calls.items())
        ]
        trace = self._traces.get(run_id)
        if trace is not None and self.tracer is not None:
            self.tracer.open_tools(trace, tool_calls)
        await self.store.work.pause_for_tools(
            run_id,
            self.worker_id,
            step_id=turn.tool_step,
            tool_calls=tool_calls,
            step_usage=step_usage,
            run_usage=run_usage,
            step_extensions=ext,
            pending=turn.pending,
            run_extensions=run_extensions,
            successor=successor,
            paused=RunStatus.REQUIRES_ACTION,
            allowed=states.sources(RunStatus.REQUIRES_ACTION),
        )
        log.info("run_requires_action", tool_calls=len(tool_calls))
