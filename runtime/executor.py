"""The executor: one model call for one claimed run, persisted as steps, messages and events.

A claim runs the model once: the answer either finishes the run (a message), pauses it for
function calls (`requires_action`, the claim released), or ends it (`failed`, `incomplete`,
`cancelled`). After tool outputs the run is queued again and the next claim continues it, with
the outputs in the prompt. Every write is guarded by the claim (see `store.work`), so a
worker that lost its run can never overwrite what happened since.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from runtime import file_search, states
from runtime.completions.call import cost_of
from runtime.context import message_tokens, read_context
from runtime.embeddings import embedder
from runtime.providers.base import ModelRequest, ProviderCallError, RetryBudget
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from runtime.states import RunStatus, StepStatus
from runtime.tool_policy import check_calls, forced, no_forced_call
from runtime.trace_context import RunTrace
from runtime.tracing import Tracer
from runtime.turn_writer import TurnWriter
from runtime.turns import (
    RunCancelled,
    StopSignal,
    StreamedCall,
    Turn,
    add_usage,
    partial_message,
    shielded_write,
    zero_usage,
)
from store.errors import BadRequestError, LostClaim
from store.log import get_logger
from store.picking import Claim
from store.records import RunRecord
from store.span_types import SpanEnd
from store.store import Store
from store.work import Event

__all__ = ["Executor", "StopSignal"]  # StopSignal: the worker names it from here

log = get_logger("assistants.executor")


class Executor(TurnWriter):
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
        turn: Turn | None = None,
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
            partial=partial_message(turn),
        )
        log.info("run_stopped", status=to.value)

    async def _fail(
        self,
        run_id: str,
        code: str,
        message: str,
        usage: dict[str, int] | None,
        pending: list[Event] | None = None,
        turn: Turn | None = None,
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
            partial=partial_message(turn),
        )
        log.info("run_failed", code=code, error=message)

    async def _execute(self, run: RunRecord, stop: StopSignal, successor: Claim | None) -> None:
        started = time.monotonic()
        run_id = run.id
        usage = dict(run.usage or zero_usage())
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
            turn = Turn(seq=run.event_seq, searches=searches)
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
                    usage = add_usage(usage, turn.prompt_tokens, turn.completion_tokens)
                    log.warning(
                        "provider_fallback",
                        failed=route.label,
                        next=routes[attempt + 1].label,
                        error=exc.message,
                    )
                    continue
                usage = add_usage(usage, turn.prompt_tokens, turn.completion_tokens)
                await self._fail(run_id, exc.code, exc.message, usage, turn.pending, turn)
                return
            break
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        usage = add_usage(usage, turn.prompt_tokens, turn.completion_tokens)
        step_usage = {
            "prompt_tokens": turn.prompt_tokens,
            "completion_tokens": turn.completion_tokens,
            "total_tokens": turn.prompt_tokens + turn.completion_tokens,
        }
        ext: dict[str, Any] = {"model": route.label, "latency_ms": latency_ms}
        if failed:
            ext["fallbacks_failed"] = failed
        run_extensions = None
        prompt, completion = turn.prompt_tokens, turn.completion_tokens
        cost = cost_of(self.settings.prices, route.label, prompt, completion)
        if cost is not None:
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
            problem = check_calls(turn, tools)
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
            await self._pause_for_tools(
                run_id, turn, step_usage=step_usage, run_usage=usage, ext=ext,
                run_extensions=run_extensions, successor=successor,
            )  # fmt: skip
            return
        hit_budget = turn.finish == "length" and completion_budget is not None
        if tools and forced(tool_choice) and not hit_budget:
            # OpenAI guarantees a call here: a text answer is a failure, not a completed run.
            message = no_forced_call(route, tool_choice)
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
        turn: Turn,
        calls: list[StreamedCall],
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
            with shielded_write():
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
