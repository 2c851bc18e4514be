"""One execution of a run in three parts the executor goes through in order: what it calls the
model with (`Plan`: routes, budgets, prompt, tools, tool choice), the model call on one of those
routes (`ModelCall`: its request, its turn, its retries and the fallbacks that failed before it),
and what the call spent as the ending's writes record it (`Tally`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runtime import file_search
from runtime.completions.call import cost_of
from runtime.providers.base import ChatMessage, ModelRequest, RetryBudget
from runtime.providers.router import Route
from runtime.turns import Turn, add_usage
from store.records import RunRecord, StepRecord
from store.statuses import StepStatus


@dataclass
class Plan:
    """What this execution calls the model with, worked out before the first call."""

    routes: list[Route]
    """The run's model, then its fallbacks, in the order they are tried."""
    messages: list[ChatMessage]
    tools: list[dict[str, Any]]
    """The run's functions, with `file_search`'s while the run may still search."""
    tool_choice: Any
    search_config: dict[str, Any] | None
    """The run's `file_search` tool, if it has one."""
    searches: list[dict[str, Any]]
    """The searches the run's earlier turns made."""
    completion_budget: int | None
    """Completion tokens the run may still spend (`max_completion_tokens` less its usage)."""
    usage: dict[str, int]
    """The run's usage so far, a failed fallback's spent tokens included."""

    def request(
        self, run: RunRecord, route: Route, budget: RetryBudget, timeout: float
    ) -> ModelRequest:
        return ModelRequest(
            model=route.model,
            messages=self.messages,
            tools=self.tools,
            tool_choice=self.tool_choice,
            parallel_tool_calls=run.parallel_tool_calls,
            temperature=run.temperature,
            top_p=run.top_p,
            max_tokens=self.completion_budget,
            response_format=run.response_format,
            timeout=timeout,
            retry_budget=budget,
        )


def offered_tools(
    run: RunRecord, steps: Sequence[StepRecord]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[dict[str, Any]]]:
    """The functions the model is offered, the run's `file_search` config and its searches so
    far: `file_search` is offered as a function until the run has searched `MAX_ROUNDS` times."""
    tools = [t for t in run.tools if t.get("type") == "function"]
    config = file_search.tool_config(run.tools)
    searches = file_search.rounds(steps) if config is not None else []
    if (
        config is not None
        and len(searches) < file_search.MAX_ROUNDS
        and all(t["function"]["name"] != file_search.NAME for t in tools)
    ):
        tools = [*tools, file_search.FUNCTION]
    return tools, config, searches


def turn_tool_choice(run: RunRecord, steps: Sequence[StepRecord]) -> Any:
    """The run's `tool_choice` for this turn: "required" or a named function forces the first
    call only, so once a tool round completed the model chooses ("auto")."""
    if run.tool_choice != "none" and any(
        s.type == "tool_calls" and s.status == StepStatus.COMPLETED for s in steps
    ):
        return "auto"
    return run.tool_choice


@dataclass
class ModelCall:
    """One model call of the execution, on one route."""

    route: Route
    request: ModelRequest
    turn: Turn
    started: float
    """`time.perf_counter()` as the call began."""
    budget: RetryBudget
    """The execution's retries, shared by its calls."""
    retries_left: int
    """What `budget` had left as this call began."""
    fallbacks: list[dict[str, str]]
    """The routes that failed before this one: model, code, error."""

    @property
    def retries(self) -> int:
        """The retries this call spent."""
        return self.retries_left - self.budget.remaining


@dataclass(frozen=True)
class Tally:
    """What a finished model call spent, as the writes that end its turn record it."""

    run_usage: dict[str, int]
    step_usage: dict[str, int]
    ext: dict[str, Any]
    """The step's extensions: the model that answered, latency, failed fallbacks, cost."""
    run_extensions: dict[str, Any] | None
    """The run's extensions with the call's cost added (None: no price for the model)."""
    cost: float | None


def tally(
    prices: dict[str, dict[str, float]], run: RunRecord, plan: Plan, call: ModelCall
) -> Tally:
    turn, label = call.turn, call.route.label
    prompt, completion = turn.prompt_tokens, turn.completion_tokens
    ext: dict[str, Any] = {
        "model": label,
        "latency_ms": round((time.perf_counter() - call.started) * 1000, 3),
    }
    if call.fallbacks:
        ext["fallbacks_failed"] = call.fallbacks
    run_extensions = None
    cost = cost_of(prices, label, prompt, completion)
    if cost is not None:
        ext["cost"] = cost
        spent = run.extensions.get("cost", 0.0) + cost
        run_extensions = {**run.extensions, "cost": round(spent, 8)}
    return Tally(
        run_usage=add_usage(plan.usage, prompt, completion),
        step_usage={
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
        ext=ext,
        run_extensions=run_extensions,
        cost=cost,
    )
