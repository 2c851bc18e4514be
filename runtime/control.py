"""Run control: what the API does to runs (create, cancel, submit outputs, wait), on the store.

The client and the server both come here; the transition table in `runtime.states` says which
statuses each move may start from.
"""

from __future__ import annotations

from typing import Any

import anyio

from runtime import states
from runtime.prompts import RunPrompt, run_prompt
from runtime.providers.router import ProviderRouter
from runtime.states import RunStatus
from runtime.templates import interpolate
from runtime.trace_context import run_trace_extensions
from runtime.tracing import Tracer
from store.errors import BadRequestError
from store.store import Store
from store.types import Assistant, Run, Thread

__all__ = ["interpolate", "run_fields"]  # `interpolate` also serves the completions' checks


def run_fields(
    assistant: Assistant,
    overrides: dict[str, Any],
    prompt: RunPrompt | None = None,
    thread_trace: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored run: the assistant's settings with the request's overrides applied.

    The trace fields the request leaves out are the thread's (`thread_trace`).

    `instructions` replaces the assistant's, `additional_instructions` is appended, and both are
    interpolated with `variables`. With `prompt` (`runtime.prompts.run_prompt`), its rendered
    text is the instructions and the run records the version it used.
    """
    variables = overrides.get("variables")
    defaults = assistant.to_dict()
    base: str
    if prompt is not None:
        base = prompt.instructions
    else:
        given = overrides.get("instructions")
        base = (defaults["instructions"] or "") if given is None else given
        base = interpolate(base, variables, "instructions")
    extra = overrides.get("additional_instructions")
    if extra:
        extra = interpolate(extra, variables, "additional_instructions")
        base = f"{base}\n\n{extra}" if base else extra
    tools = overrides.get("tools")
    if tools is None:
        tools = defaults["tools"]
    _check_tool_choice(overrides.get("tool_choice"), tools)

    def pick(name: str, default: Any) -> Any:
        value = overrides.get(name)
        return default if value is None else value

    extensions: dict[str, Any] = {}
    if variables:
        extensions["variables"] = variables
    if prompt is not None:
        extensions["prompt"] = prompt.record
    fallbacks = overrides.get("fallbacks")
    if fallbacks is None:
        fallbacks = defaults.get("fallbacks")
    if fallbacks:
        extensions["fallbacks"] = fallbacks
    extensions.update(run_trace_extensions(overrides.get("trace") or {}, thread_trace))
    return {
        "assistant_id": assistant.id,
        "model": pick("model", assistant.model),
        "instructions": base,
        "tools": tools,
        "metadata": overrides.get("metadata"),
        "temperature": pick("temperature", _or(defaults["temperature"], 1.0)),
        "top_p": pick("top_p", _or(defaults["top_p"], 1.0)),
        "max_prompt_tokens": overrides.get("max_prompt_tokens"),
        "max_completion_tokens": overrides.get("max_completion_tokens"),
        "truncation_strategy": pick("truncation_strategy", {"type": "auto", "last_messages": None}),
        "tool_choice": pick("tool_choice", "auto"),
        "parallel_tool_calls": pick("parallel_tool_calls", True),
        "response_format": pick("response_format", _or(defaults["response_format"], "auto")),
        "reasoning_effort": pick("reasoning_effort", defaults["reasoning_effort"]),
        "extensions": extensions or None,
    }


def _check_models(router: ProviderRouter, fields: dict[str, Any]) -> None:
    """An unknown model (or fallback) is a 400 when the run is created, not a failed run later."""
    router.resolve(fields["model"])
    for i, model in enumerate((fields.get("extensions") or {}).get("fallbacks", [])):
        router.resolve(model, param=f"fallbacks[{i}]")


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> None:
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice["function"]["name"]
        names = [t["function"]["name"] for t in tools if t.get("type") == "function"]
        if name not in names:
            raise BadRequestError(
                f"Invalid 'tool_choice': the function '{name}' is not one of the run's tools "
                f"({', '.join(names) or 'none'}).",
                param="tool_choice",
                code="invalid_value",
            )
    if choice == "required" and not tools:
        raise BadRequestError(
            "Invalid 'tool_choice': 'required' needs at least one tool.",
            param="tool_choice",
            code="invalid_value",
        )


async def create_run(
    store: Store,
    router: ProviderRouter,
    project: str,
    thread_id: str,
    overrides: dict[str, Any],
    additional_messages: list[dict[str, Any]],
    *,
    tracer: Tracer | None = None,
) -> Run:
    assistant = await store.assistants.get(project, overrides["assistant_id"])
    fields = run_fields(
        assistant,
        overrides,
        await run_prompt(store, project, assistant, overrides),
        await store.threads.extensions(project, thread_id),
    )
    _check_models(router, fields)
    run = await store.runs.create(project, thread_id, fields, additional_messages)
    if tracer is not None:
        tracer.start_run(project, run, fields["extensions"])
    return run


async def create_thread_and_run(
    store: Store,
    router: ProviderRouter,
    project: str,
    thread: dict[str, Any],
    overrides: dict[str, Any],
    *,
    tracer: Tracer | None = None,
) -> tuple[Thread, Run]:
    assistant = await store.assistants.get(project, overrides["assistant_id"])
    fields = run_fields(
        assistant,
        overrides,
        await run_prompt(store, project, assistant, overrides),
        thread.get("extensions"),
    )
    _check_models(router, fields)
    created, run = await store.runs.create_with_thread(project, thread, fields)
    if tracer is not None:
        tracer.start_run(project, run, fields["extensions"])
    return created, run


async def cancel_run(
    store: Store, project: str, thread_id: str, run_id: str, *, tracer: Tracer | None = None
) -> Run:
    run = await store.transitions.cancel(
        project, thread_id, run_id, cancellable=states.sources(RunStatus.CANCELLING)
    )
    if tracer is not None and run.status == RunStatus.CANCELLED.value:
        await tracer.end_run(store, run.id, run.status)  # no worker held it: it ended here
    return run


async def submit_tool_outputs(
    store: Store,
    project: str,
    thread_id: str,
    run_id: str,
    outputs: list[dict[str, str]],
    *,
    tracer: Tracer | None = None,
) -> tuple[Run, int]:
    """Submit outputs; returns the run and the sequence number its continuation follows."""
    assert states.can_transition(RunStatus.REQUIRES_ACTION, RunStatus.QUEUED)
    submitted = await store.transitions.submit_tool_outputs(
        project,
        thread_id,
        run_id,
        outputs,
        paused=RunStatus.REQUIRES_ACTION,
        resumed=RunStatus.QUEUED,
    )
    if tracer is not None and tracer.enabled:
        await tracer.close_tools(store, run_id, outputs)
    return submitted


async def wait_until_stopped(store: Store, run_id: str, *, poll: float = 0.25) -> str:
    """Wait until the run is terminal or paused (the SDK pollers' stop set); return the status."""
    while True:
        event = store.notifier.event(run_id)
        status = await store.runs.status(run_id)
        if status is None or status in states.POLL_STOP:
            return status or "unknown"
        with anyio.move_on_after(poll):
            await event.wait()
