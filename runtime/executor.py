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

from runtime import file_search
from runtime.context import message_tokens, read_context
from runtime.embeddings import embedder
from runtime.endings import RunEndings
from runtime.providers.base import ProviderCallError, RetryBudget
from runtime.providers.router import ProviderRouter, Route
from runtime.run_plan import ModelCall, Plan, Tally, offered_tools, tally, turn_tool_choice
from runtime.settings import Settings
from runtime.states import RunStatus
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
    shielded_write,
    zero_usage,
)
from store.errors import BadRequestError, LostClaim
from store.log import get_logger
from store.picking import Claim
from store.records import RunRecord
from store.store import Store

__all__ = ["Executor", "StopSignal"]  # StopSignal: the worker names it from here

log = get_logger("assistants.executor")


class Executor(TurnWriter, RunEndings):
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

    async def _execute(self, run: RunRecord, stop: StopSignal, successor: Claim | None) -> None:
        """Plan the model call, make it (falling back along the run's routes), then end the
        turn on what it produced: function calls, or the answer."""
        began = time.monotonic()
        plan = await self._plan(run, stop)
        if plan is None:
            return
        call = await self._call_model(run, plan, stop)
        if call is None:
            return
        spent = tally(self.settings.prices, run, plan, call)
        self._trace_call(run, call, status="completed", cost=spent.cost)
        turn = call.turn
        log.info(
            "model_call",
            model=call.route.label,
            requested_model=run.model,
            latency_ms=spent.ext["latency_ms"],
            finish=turn.finish,
            prompt_tokens=turn.prompt_tokens,
            completion_tokens=turn.completion_tokens,
        )
        if turn.calls:
            await self._end_on_calls(run, plan, call, spent, stop, successor)
        else:
            await self._end_on_answer(run, plan, call, spent, successor, began)

    async def _plan(self, run: RunRecord, stop: StopSignal) -> Plan | None:
        """What to call the model with; None if the run ended instead (a model it cannot
        route, a budget already spent, a stop requested)."""
        usage = dict(run.usage or zero_usage())
        try:
            routes = [
                self.router.resolve(m) for m in [run.model, *run.extensions.get("fallbacks", [])]
            ]
        except BadRequestError as exc:
            await self._fail(run.id, "invalid_prompt", exc.message, None)
            return None
        max_prompt, max_completion = run.max_prompt_tokens, run.max_completion_tokens
        prompt_budget = None if max_prompt is None else max_prompt - usage["prompt_tokens"]
        completion_budget = (
            None if max_completion is None else max_completion - usage["completion_tokens"]
        )
        if completion_budget is not None and completion_budget <= 0:
            await self._incomplete(run.id, "max_completion_tokens", usage)
            return None
        messages, steps = await read_context(self.store, run, prompt_budget=prompt_budget)
        if prompt_budget is not None and sum(message_tokens(m) for m in messages) > prompt_budget:
            await self._incomplete(run.id, "max_prompt_tokens", usage)
            return None
        if stop.reason is not None:
            await self._finish_cancel(run.id, reason=stop.reason)
            return None
        tools, search_config, searches = offered_tools(run, steps)
        return Plan(
            routes=routes,
            messages=messages,
            tools=tools,
            tool_choice=turn_tool_choice(run, steps),
            search_config=search_config,
            searches=searches,
            completion_budget=completion_budget,
            usage=usage,
        )

    async def _call_model(self, run: RunRecord, plan: Plan, stop: StopSignal) -> ModelCall | None:
        """Stream the answer of the first route that gives one; None if the run ended instead
        (its claim lost, a stop, or the last route failed)."""
        failed: list[dict[str, str]] = []
        budget = RetryBudget(self.settings.run_retry_budget)
        timeout = self.settings.provider_timeout_seconds
        for attempt, route in enumerate(plan.routes):
            call = ModelCall(
                route=route,
                request=plan.request(run, route, budget, timeout),
                turn=Turn(seq=run.event_seq, searches=plan.searches),
                started=time.perf_counter(),
                budget=budget,
                retries_left=budget.remaining,
                fallbacks=failed,
            )
            try:
                await self._stream(run, route, call.request, call.turn, stop)
            except LostClaim:
                await self._after_lost_claim(run.id, call.turn)
                return None
            except RunCancelled:
                self._trace_call(run, call, status="cancelled")
                await self._finish_cancel(run.id, call.turn.pending, call.turn, stop.reason)
                return None
            except ProviderCallError as exc:
                following = plan.routes[attempt + 1 : attempt + 2]
                if await self._call_failed(run, plan, call, exc, following):
                    continue
                return None
            return call
        return None  # every route failed; the last one's failure ended the run

    async def _call_failed(
        self,
        run: RunRecord,
        plan: Plan,
        call: ModelCall,
        exc: ProviderCallError,
        following: list[Route],
    ) -> bool:
        """Whether the next route answers instead: only if this one failed for good (the
        adapter already retried) before any output; else the run fails."""
        turn = call.turn
        if exc.usage is not None and not (turn.prompt_tokens or turn.completion_tokens):
            # The answer reported its usage, then failed: those tokens were spent.
            turn.prompt_tokens = exc.usage.prompt_tokens
            turn.completion_tokens = exc.usage.completion_tokens
        self._trace_call(
            run, call, status="failed", error={"code": exc.code, "message": exc.message}
        )
        plan.usage = add_usage(plan.usage, turn.prompt_tokens, turn.completion_tokens)
        untouched = turn.step is None and turn.tool_step is None and not turn.pending
        if untouched and following:
            label = call.route.label
            call.fallbacks.append({"model": label, "code": exc.code, "error": exc.message})
            log.warning(
                "provider_fallback", failed=label, next=following[0].label, error=exc.message
            )
            return True
        await self._fail(run.id, exc.code, exc.message, plan.usage, turn.pending, turn)
        return False

    async def _end_on_calls(
        self,
        run: RunRecord,
        plan: Plan,
        call: ModelCall,
        spent: Tally,
        stop: StopSignal,
        successor: Claim | None,
    ) -> None:
        """The model called tools: fail on a call the policy refuses, search the files and go
        on, or pause the run for the function outputs."""
        turn = call.turn
        problem = check_calls(turn, plan.tools)
        if problem is not None:
            await self._fail(run.id, "server_error", problem, spent.run_usage, turn.pending)
            return
        if turn.message is not None and not turn.message_done:
            await self._finish_message(
                run.id, turn, step_usage=None, run_usage=spent.run_usage, ext=spent.ext
            )
        assert turn.tool_step is not None
        made = [c for _, c in sorted(turn.calls.items())]
        if plan.search_config is not None and file_search.is_search(made):
            await self._search_round(run, turn, made, plan.search_config, stop, successor, spent)
            return
        await self._pause_for_tools(
            run.id, turn, step_usage=spent.step_usage, run_usage=spent.run_usage, ext=spent.ext,
            run_extensions=spent.run_extensions, successor=successor,
        )  # fmt: skip

    async def _end_on_answer(
        self,
        run: RunRecord,
        plan: Plan,
        call: ModelCall,
        spent: Tally,
        successor: Claim | None,
        began: float,
    ) -> None:
        """The model answered: the message ends the run, `completed` (or `incomplete` at the
        completion budget); a text answer where `tool_choice` forced a call fails it."""
        turn = call.turn
        hit_budget = turn.finish == "length" and plan.completion_budget is not None
        if plan.tools and forced(plan.tool_choice) and not hit_budget:
            # OpenAI guarantees a call here: a text answer is a failure, not a completed run.
            message = no_forced_call(call.route, plan.tool_choice)
            await self._fail(run.id, "server_error", message, spent.run_usage, turn.pending, turn)
            return
        if turn.message is None:
            await self._open_message(run, turn)
        end = RunStatus.INCOMPLETE if hit_budget else RunStatus.COMPLETED
        self._end_root(run.id, end.value)
        reason = "content_filter" if turn.finish == "content_filter" else None
        await self._finish_message(
            run.id,
            turn,
            step_usage=spent.step_usage,
            run_usage=spent.run_usage,
            ext=spent.ext,
            run_extensions=spent.run_extensions,
            incomplete_reason="max_tokens" if hit_budget else reason,
            end_run=end,
            successor=successor,
            incomplete_details={"reason": "max_completion_tokens"} if hit_budget else None,
        )
        log.info(
            "run_finished",
            status=end.value,
            duration_ms=round((time.monotonic() - began) * 1000, 1),  # this execution
            prompt_tokens=spent.run_usage["prompt_tokens"],
            completion_tokens=spent.run_usage["completion_tokens"],
            cost=(spent.run_extensions or run.extensions).get("cost"),  # USD, when priced
        )

    async def _search_round(
        self,
        run: RunRecord,
        turn: Turn,
        calls: list[StreamedCall],
        config: dict[str, Any],
        stop: StopSignal,
        successor: Claim | None,
        spent: Tally,
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
            await self._fail(run_id, "server_error", str(exc), spent.run_usage, turn.pending, turn)
            return
        try:
            with shielded_write():
                await file_search.complete_step(
                    self.store,
                    run_id,
                    self.worker_id,
                    step_id=turn.tool_step,
                    tool_calls=details,
                    extensions={**spent.ext, **kept},
                    step_usage=spent.step_usage,
                    run_usage=spent.run_usage,
                )
        except LostClaim:
            log.info(
                "run_claim_lost", status=await self.store.claims.held_status(run_id, self.worker_id)
            )
            return
        fresh = await self.store.runs.record(run_id)
        if fresh is not None:
            await self._execute(fresh, stop, successor)
