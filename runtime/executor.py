"""The executor: one model call for one claimed run, persisted as steps, messages and events.

A claim runs the model once: the answer either finishes the run (a message), pauses it for
function calls (`requires_action`, the claim released), or ends it (`failed`, `incomplete`,
`cancelled`). After tool outputs the run is queued again and the next claim continues it, with
the outputs in the prompt. Every write is guarded by the claim (see `store.work`), so a
worker that lost its run can never overwrite what happened since.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog

from runtime import file_search, states
from runtime.context import message_tokens, read_context
from runtime.embeddings import embedder
from runtime.providers.base import (
    Finish,
    ModelRequest,
    ProviderCallError,
    RetryBudget,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.router import ProviderRouter, Route
from runtime.settings import Settings
from runtime.states import RunStatus, StepStatus
from runtime.trace_context import RunTrace
from runtime.tracing import Tracer, prompt_message
from store import ids
from store.errors import BadRequestError, LostClaim
from store.log import get_logger
from store.picking import Claim
from store.records import RunRecord
from store.span_types import SpanEnd
from store.store import Store
from store.types import RunEvent
from store.work import Event

log = get_logger("assistants.executor")


def _zero_usage() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def _add_usage(a: dict[str, int], prompt: int, completion: int) -> dict[str, int]:
    p = a["prompt_tokens"] + prompt
    c = a["completion_tokens"] + completion
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


@dataclass
class _Call:
    """A tool call being streamed."""

    id: str
    name: str
    arguments: str = ""


@dataclass
class _Turn:
    """What one model call produced so far."""

    step: str | None = None  # the open step's id
    message: str | None = None  # the open message's id
    text: str = ""
    message_done: bool = False
    tool_step: str | None = None  # the open tool_calls step's id
    calls: dict[int, _Call] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish: str | None = None
    pending: list[Event] = field(default_factory=list)
    pending_since: float = 0.0
    seq: int = 0  # the last event sequence number persisted (or published) for the run
    first_token: float | None = None  # when the first text or tool-call delta came (monotonic)
    searches: list[dict[str, Any]] = field(default_factory=list)  # the run's file searches


def _partial(turn: _Turn | None) -> tuple[str, list[dict[str, Any]]] | None:
    """The open message's streamed text, to keep when the run ends mid-message."""
    if turn is None or turn.message is None or turn.message_done:
        return None
    return turn.message, [{"type": "text", "text": {"value": turn.text, "annotations": []}}]


def _forced(tool_choice: Any) -> bool:
    """Whether `tool_choice` obliges the model to call a tool ("required" or a named function)."""
    return tool_choice == "required" or (
        isinstance(tool_choice, dict) and tool_choice.get("type") == "function"
    )


def _no_forced_call(route: Route, tool_choice: Any) -> str:
    """Why a run whose `tool_choice` forced a call fails when the model answered without one."""
    if isinstance(tool_choice, dict):
        forced = f"tool_choice named the function '{tool_choice['function']['name']}'"
    else:
        forced = "tool_choice was 'required'"
    cause = (
        "a chat template without tool support; see llama-server --chat-template-file (and --jinja)"
        if route.provider.name == "llamacpp"
        else "a model, or a chat template on its server, without tool support"
    )
    return (
        f"The model '{route.label}' answered without calling a tool although {forced}. "
        f"The likely cause is {cause}."
    )


def _write() -> anyio.CancelScope:
    """A write made while the model streams completes even if a stop interrupts the stream, so
    the turn's state (its step, message, sequence number) and the log always agree."""
    return anyio.CancelScope(shield=True)


class StopSignal:
    """Why a held run must stop early: "cancel" (requested) or "expire" (past `expires_at`).

    Setting it interrupts the model call in progress at once (`interrupting`).
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._scope: anyio.CancelScope | None = None

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            if self._scope is not None:
                self._scope.cancel()

    @contextlib.contextmanager
    def interrupting(self) -> Iterator[anyio.CancelScope]:
        """A cancel scope that `set` cancels (at once if the signal is already set)."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            if self.reason is not None:
                scope.cancel()
            try:
                yield scope
            finally:
                self._scope = None


class RunCancelled(Exception):
    """The run was asked to stop while its model call streamed."""


class Executor:
    """Runs claimed runs for one worker."""

    def __init__(
        self,
        store: Store,
        router: ProviderRouter,
        settings: Settings,
        worker_id: str,
        tracer: Tracer | None = None,
    ) -> None:
        self.store = store
        self.router = router
        self.settings = settings
        self.embedder = embedder(router, settings)
        self.worker_id = worker_id
        self.tracer = tracer
        self._traces: dict[str, RunTrace] = {}  # the runs being executed that are traced

    async def execute(
        self, run: RunRecord, stop: StopSignal, successor: Claim | None = None
    ) -> None:
        """Execute one claimed run until it pauses or ends (or the claim is lost).

        `successor`, if given, is claimed by the write that completes or pauses the run (on
        Postgres, in the same statement): its `rows` are the runs this slot takes next.
        """
        run_id = run.id
        with structlog.contextvars.bound_contextvars(
            run_id=run_id, thread_id=run.thread_id, worker_id=self.worker_id
        ):
            trace = None if self.tracer is None else RunTrace.of(run, self.settings)
            if trace is not None:
                self._traces[run_id] = trace
            try:
                await self._execute(run, stop, successor)
            except LostClaim:
                await self._after_lost_claim(run_id)
            finally:
                self._traces.pop(run_id, None)

    def _end_root(self, run_id: str, status: str) -> None:
        """Record when and how the run ended (called just before the write that ends it)."""
        trace = self._traces.get(run_id)
        if trace is not None and self.tracer is not None:
            self.tracer.record(SpanEnd(trace.span_id, time.time(), status, span=trace.root()))

    def _trace_call(
        self,
        run: RunRecord,
        route: Route,
        request: ModelRequest,
        turn: _Turn,
        *,
        started: float,
        status: str,
        retries: int,
        fallbacks: list[dict[str, str]],
        error: dict[str, str] | None = None,
        cost: float | None = None,
    ) -> None:
        """Record the model call just made as a span of the run (nothing if not traced)."""
        trace = self._traces.get(run.id)
        if trace is None or self.tracer is None:
            return
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
                retries=retries,
                fallbacks=list(fallbacks) or None,
                input=[prompt_message(m) for m in request.messages] if content else None,
                output=output if content else None,
                metadata={"finish_reason": turn.finish} if turn.finish else None,
            )
        )

    async def _after_lost_claim(self, run_id: str) -> None:
        status = await self.store.claims.held_status(run_id, self.worker_id)
        if status == RunStatus.CANCELLING:
            await self._finish_cancel(run_id)
        else:
            log.info("run_claim_lost", status=status)

    async def _finish_cancel(
        self,
        run_id: str,
        pending: list[Event] | None = None,
        turn: _Turn | None = None,
        reason: str | None = "cancel",
    ) -> None:
        """End a run that was asked to stop: `cancelled`, or `expired` past its `expires_at`."""
        to = RunStatus.EXPIRED if reason == "expire" else RunStatus.CANCELLED
        self._end_root(run_id, to.value)
        await self.store.transitions.end(
            run_id,
            to=to,
            allowed=states.sources(to),
            worker_id=self.worker_id,
            pending=pending or (),
            partial=_partial(turn),
        )
        log.info("run_stopped", status=to.value)

    async def _fail(
        self,
        run_id: str,
        code: str,
        message: str,
        usage: dict[str, int] | None,
        pending: list[Event] | None = None,
        turn: _Turn | None = None,
    ) -> None:
        self._end_root(run_id, "failed")
        await self.store.transitions.end(
            run_id,
            to=RunStatus.FAILED,
            allowed=states.sources(RunStatus.FAILED),
            worker_id=self.worker_id,
            usage=usage,
            last_error={"code": code, "message": message},
            pending=pending or (),
            partial=_partial(turn),
        )
        log.info("run_failed", code=code, error=message)

    async def _execute(self, run: RunRecord, stop: StopSignal, successor: Claim | None) -> None:
        started = time.monotonic()
        run_id = run.id
        usage = dict(run.usage or _zero_usage())
        run_ext = run.extensions
        try:
            routes = [self.router.resolve(m) for m in [run.model, *run_ext.get("fallbacks", [])]]
        except BadRequestError as exc:
            await self._fail(run_id, "invalid_prompt", exc.message, None)
            return
        max_prompt = run.max_prompt_tokens
        max_completion = run.max_completion_tokens
        prompt_budget = None if max_prompt is None else max_prompt - usage["prompt_tokens"]
        completion_budget = (
            None if max_completion is None else max_completion - usage["completion_tokens"]
        )
        if completion_budget is not None and completion_budget <= 0:
            await self._incomplete(run_id, "max_completion_tokens", usage)
            return
        messages, steps = await read_context(self.store, run, prompt_budget=prompt_budget)
        if prompt_budget is not None and sum(message_tokens(m) for m in messages) > prompt_budget:
            await self._incomplete(run_id, "max_prompt_tokens", usage)
            return
        tools = [t for t in run.tools if t.get("type") == "function"]
        search_config = file_search.tool_config(run.tools)
        searches = file_search.rounds(steps) if search_config is not None else []
        if (
            search_config is not None
            and len(searches) < file_search.MAX_ROUNDS
            and all(t["function"]["name"] != file_search.NAME for t in tools)
        ):
            tools = [*tools, file_search.FUNCTION]
        tool_choice = run.tool_choice
        if tool_choice != "none" and any(
            s.type == "tool_calls" and s.status == StepStatus.COMPLETED for s in steps
        ):
            tool_choice = "auto"  # "required" or a named function forces the first call only
        if stop.reason is not None:
            await self._finish_cancel(run_id, reason=stop.reason)
            return
        failed: list[dict[str, str]] = []
        budget = RetryBudget(self.settings.run_retry_budget)
        for attempt, route in enumerate(routes):
            request = ModelRequest(
                model=route.model,
                messages=messages,
                tools=tools,
                tool_choice=tool_choice,
                parallel_tool_calls=run.parallel_tool_calls,
                temperature=run.temperature,
                top_p=run.top_p,
                max_tokens=completion_budget,
                response_format=run.response_format,
                timeout=self.settings.provider_timeout_seconds,
                retry_budget=budget,
            )
            turn = _Turn(seq=run.event_seq, searches=searches)
            started = time.perf_counter()
            retries_left = budget.remaining
            try:
                await self._stream(run, route, request, turn, stop)
            except LostClaim:
                status = await self.store.claims.held_status(run_id, self.worker_id)
                if status == RunStatus.CANCELLING:
                    await self._finish_cancel(run_id, turn.pending, turn)
                else:
                    log.info("run_claim_lost", status=status)
                return
            except RunCancelled:
                self._trace_call(
                    run, route, request, turn, started=started, status="cancelled",
                    retries=retries_left - budget.remaining, fallbacks=failed,
                )  # fmt: skip
                await self._finish_cancel(run_id, turn.pending, turn, stop.reason)
                return
            except ProviderCallError as exc:
                if exc.usage is not None and not (turn.prompt_tokens or turn.completion_tokens):
                    # The answer reported its usage, then failed: those tokens were spent.
                    turn.prompt_tokens = exc.usage.prompt_tokens
                    turn.completion_tokens = exc.usage.completion_tokens
                self._trace_call(
                    run, route, request, turn, started=started, status="failed",
                    retries=retries_left - budget.remaining, fallbacks=failed,
                    error={"code": exc.code, "message": exc.message},
                )  # fmt: skip
                untouched = turn.step is None and turn.tool_step is None and not turn.pending
                if untouched and attempt + 1 < len(routes):
                    # Failed for good (the adapter already retried) before any output: the
                    # next fallback model answers instead.
                    failed.append({"model": route.label, "code": exc.code, "error": exc.message})
                    usage = _add_usage(usage, turn.prompt_tokens, turn.completion_tokens)
                    log.warning(
                        "provider_fallback",
                        failed=route.label,
                        next=routes[attempt + 1].label,
                        error=exc.message,
                    )
                    continue
                usage = _add_usage(usage, turn.prompt_tokens, turn.completion_tokens)
                await self._fail(run_id, exc.code, exc.message, usage, turn.pending, turn)
                return
            break
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        usage = _add_usage(usage, turn.prompt_tokens, turn.completion_tokens)
        step_usage = {
            "prompt_tokens": turn.prompt_tokens,
            "completion_tokens": turn.completion_tokens,
            "total_tokens": turn.prompt_tokens + turn.completion_tokens,
        }
        ext: dict[str, Any] = {"model": route.label, "latency_ms": latency_ms}
        if failed:
            ext["fallbacks_failed"] = failed
        price = self.settings.prices.get(route.label)
        run_extensions = None
        cost = None
        if price is not None:
            cost = round(
                (
                    turn.prompt_tokens * price.get("prompt", 0.0)
                    + turn.completion_tokens * price.get("completion", 0.0)
                )
                / 1_000_000,
                8,
            )
            ext["cost"] = cost
            run_extensions = {**run_ext, "cost": round(run_ext.get("cost", 0.0) + cost, 8)}
        self._trace_call(
            run, route, request, turn, started=started, status="completed",
            retries=retries_left - budget.remaining, fallbacks=failed, cost=cost,
        )  # fmt: skip
        log.info(
            "model_call",
            model=route.label,
            requested_model=run.model,
            latency_ms=latency_ms,
            finish=turn.finish,
            prompt_tokens=turn.prompt_tokens,
            completion_tokens=turn.completion_tokens,
        )
        if turn.calls:
            problem = self._check_calls(turn, tools)
            if problem is not None:
                await self._fail(run_id, "server_error", problem, usage, turn.pending)
                return
            if turn.message is not None and not turn.message_done:
                await self._finish_message(run_id, turn, step_usage=None, run_usage=usage, ext=ext)
            assert turn.tool_step is not None
            made = [c for _, c in sorted(turn.calls.items())]
            if search_config is not None and file_search.is_search(made):
                await self._search_round(
                    run, turn, made, search_config, stop, successor,
                    step_usage=step_usage, run_usage=usage, ext=ext,
                )  # fmt: skip
                return
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
                run_usage=usage,
                step_extensions=ext,
                pending=turn.pending,
                run_extensions=run_extensions,
                successor=successor,
                paused=RunStatus.REQUIRES_ACTION,
                allowed=states.sources(RunStatus.REQUIRES_ACTION),
            )
            log.info("run_requires_action", tool_calls=len(tool_calls))
            return
        hit_budget = turn.finish == "length" and completion_budget is not None
        if tools and _forced(tool_choice) and not hit_budget:
            # OpenAI guarantees a call here: a text answer is a failure, not a completed run.
            message = _no_forced_call(route, tool_choice)
            await self._fail(run_id, "server_error", message, usage, turn.pending, turn)
            return
        if turn.message is None:
            await self._open_message(run, turn)
        hit_budget = turn.finish == "length" and completion_budget is not None
        self._end_root(run_id, "incomplete" if hit_budget else "completed")
        reason = (
            "max_tokens"
            if hit_budget
            else ("content_filter" if turn.finish == "content_filter" else None)
        )
        await self._finish_message(
            run_id,
            turn,
            step_usage=step_usage,
            run_usage=usage,
            ext=ext,
            run_extensions=run_extensions,
            incomplete_reason=reason,
            end_run=RunStatus.INCOMPLETE if hit_budget else RunStatus.COMPLETED,
            successor=successor,
            incomplete_details={"reason": "max_completion_tokens"} if hit_budget else None,
        )
        log.info(
            "run_finished",
            status=(RunStatus.INCOMPLETE if hit_budget else RunStatus.COMPLETED).value,
            duration_ms=round((time.monotonic() - started) * 1000, 1),  # this execution
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            cost=(run_extensions or run_ext).get("cost"),  # USD, when `prices` covers the model
        )

    async def _search_round(
        self,
        run: RunRecord,
        turn: _Turn,
        calls: list[_Call],
        config: dict[str, Any],
        stop: StopSignal,
        successor: Claim | None,
        *,
        step_usage: dict[str, int],
        run_usage: dict[str, int],
        ext: dict[str, Any],
    ) -> None:
        """The model searched the files: search, complete the step, and call the model again."""
        run_id = run.id
        assert turn.tool_step is not None
        await self._flush(run_id, turn)
        try:
            details, kept, _ = await file_search.search(
                self.store, run, calls, config, len(turn.searches), self.embedder
            )
        except file_search.SearchFailed as exc:
            await self._fail(run_id, "server_error", str(exc), run_usage, turn.pending, turn)
            return
        try:
            with _write():
                await file_search.complete_step(
                    self.store,
                    run_id,
                    self.worker_id,
                    step_id=turn.tool_step,
                    tool_calls=details,
                    extensions={**ext, **kept},
                    step_usage=step_usage,
                    run_usage=run_usage,
                )
        except LostClaim:
            log.info(
                "run_claim_lost", status=await self.store.claims.held_status(run_id, self.worker_id)
            )
            return
        fresh = await self.store.runs.record(run_id)
        if fresh is not None:
            await self._execute(fresh, stop, successor)

    async def _incomplete(self, run_id: str, reason: str, usage: dict[str, int]) -> None:
        self._end_root(run_id, "incomplete")
        await self.store.transitions.end(
            run_id,
            to=RunStatus.INCOMPLETE,
            allowed=states.sources(RunStatus.INCOMPLETE),
            worker_id=self.worker_id,
            usage=usage,
            incomplete_details={"reason": reason},
        )

    def _check_calls(self, turn: _Turn, tools: list[dict[str, Any]]) -> str | None:
        """The tool-call policy: a call to an unknown tool, with no name, or with arguments that
        are not a JSON object fails the run with a message naming the call (never dropped)."""
        names = {t["function"]["name"] for t in tools}
        for call in turn.calls.values():
            if not call.name:
                return "The model returned a tool call without a function name."
            if call.name not in names:
                known = ", ".join(sorted(names)) or "none"
                return f"The model called the unknown tool '{call.name}' (tools: {known})."
            try:
                parsed = json.loads(call.arguments or "{}")
            except json.JSONDecodeError as exc:
                return (
                    f"The model returned arguments for '{call.name}' that are not valid JSON "
                    f"({exc.msg} at position {exc.pos}): {call.arguments[:200]!r}"
                )
            if not isinstance(parsed, dict):
                return f"The model returned arguments for '{call.name}' that are not a JSON object."
            if not call.arguments:
                call.arguments = "{}"
        return None

    # --- streaming ---------------------------------------------------------------------------

    async def _stream(
        self, run: RunRecord, route: Route, request: ModelRequest, turn: _Turn, stop: StopSignal
    ) -> None:
        """Consume the model's stream; a stop request (cancel, expiry) interrupts it at once,
        between chunks or while waiting for one (never inside a write: those are shielded)."""
        with stop.interrupting() as scope:
            async with contextlib.aclosing(route.provider.stream(request)) as chunks:
                async for chunk in chunks:
                    await self._on_chunk(run, turn, chunk)
        if scope.cancelled_caught:
            raise RunCancelled

    async def _open_message(self, run: RunRecord, turn: _Turn) -> None:
        pending, turn.pending = turn.pending, []
        with _write():
            turn.step, turn.message, turn.seq = await self.store.work.begin_step(
                run, self.worker_id, kind="message_creation", message=True, pending=pending
            )

    async def _finish_message(
        self,
        run_id: str,
        turn: _Turn,
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
        with _write():
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

    async def _on_chunk(self, run: RunRecord, turn: _Turn, chunk: Any) -> None:
        if turn.first_token is None and isinstance(chunk, TextDelta | ToolCallDelta):
            turn.first_token = time.perf_counter()
        if isinstance(chunk, TextDelta):
            if not chunk.text:
                return
            if turn.message is None:
                await self._open_message(run, turn)
            assert turn.message is not None
            first = not turn.text
            text: dict[str, Any] = {"value": chunk.text}
            if first:
                text["annotations"] = []
            turn.text += chunk.text
            self._queue(
                run.id,
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
        elif isinstance(chunk, ToolCallDelta):
            if turn.tool_step is None:
                if turn.message is not None and not turn.message_done:
                    await self._finish_message(
                        run.id, turn, step_usage=None, run_usage=_zero_usage(), ext={}
                    )
                pending, turn.pending = turn.pending, []
                with _write():
                    turn.tool_step, _, turn.seq = await self.store.work.begin_step(
                        run, self.worker_id, kind="tool_calls", message=False, pending=pending
                    )
            assert turn.tool_step is not None
            call = turn.calls.get(chunk.index)
            if call is None:
                call = turn.calls[chunk.index] = _Call(
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
                run.id,
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

    def _queue(self, run_id: str, turn: _Turn, event: Event) -> None:
        """Buffer a delta for the next batch, and publish it live at once."""
        if not turn.pending:
            turn.pending_since = time.monotonic()
        turn.pending.append(event)
        notifier = self.store.notifier
        if notifier.has_listeners(run_id):
            seq = turn.seq + len(turn.pending)
            notifier.publish(
                run_id, (RunEvent(run_id=run_id, seq=seq, event=event[0], data=event[1]),)
            )

    async def _flush(self, run_id: str, turn: _Turn) -> None:
        if turn.pending:
            events, turn.pending = turn.pending, []
            with _write():
                turn.seq = await self.store.work.append_events(
                    run_id, self.worker_id, events, prepublished=len(events)
                )
