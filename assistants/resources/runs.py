"""`client.threads.runs`: create, retrieve, update, list, cancel, submit_tool_outputs, pollers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, overload

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven, given
from assistants.pagination import AsyncPaginator
from assistants.resources._base import (
    Body,
    ClientContext,
    Headers,
    Query,
    Resource,
    Timeout,
    check_list,
    merge_extra,
)
from assistants.resources.steps import AsyncSteps
from assistants.resources.vector_stores import (
    attach_files,
    check_attachments,
    check_tools,
    searched_files,
)
from assistants.streaming.handler import AsyncAssistantEventHandler
from assistants.streaming.manager import AsyncAssistantStreamManager, AsyncEventStream
from assistants.tools import FunctionTool, as_tools, run_calls, tool_definitions
from assistants.validation import prompts as pv
from runtime import control
from runtime.file_search import events_without_result_content
from runtime.streams import check_after, run_events
from runtime.trace_context import TRACE_FIELDS, check_trace_fields
from store import ids
from store.errors import BadRequestError
from store.types import ListPage, Run

_RUN_PARAMS = frozenset(
    {
        "assistant_id",
        "model",
        "instructions",
        "additional_instructions",
        "additional_messages",
        "tools",
        "metadata",
        "temperature",
        "top_p",
        "max_prompt_tokens",
        "max_completion_tokens",
        "truncation_strategy",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "stream",
        "include",
        "variables",
        "prompt",
        "fallbacks",
        *TRACE_FIELDS,
    }
)
_THREAD_AND_RUN_PARAMS = (
    _RUN_PARAMS - {"additional_instructions", "additional_messages", "reasoning_effort", "include"}
) | {"thread", "tool_resources"}


def check_run(fields: dict[str, Any], *, allowed: frozenset[str] = _RUN_PARAMS) -> dict[str, Any]:
    """Validate the body of a run creation; returns the overrides for `runtime.control`."""
    for key in fields:
        if key not in allowed:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )
    if fields.get("assistant_id") is None:
        raise v.missing("assistant_id")
    out: dict[str, Any] = {
        "assistant_id": ids.check_id("assistant_id", fields["assistant_id"], "assistant")
    }
    if fields.get("stream") is not None:
        v.boolean(fields["stream"], "stream")
    if fields.get("model") is not None:
        out["model"] = v.model_name(fields["model"], "model")
    for name in ("instructions", "additional_instructions"):
        if fields.get(name) is not None:
            out[name] = v.string(fields[name], name, max_length=v.INSTRUCTIONS_MAX)
    out["additional_messages"] = v.new_messages(
        fields.get("additional_messages"), "additional_messages"
    )
    if fields.get("tools") is not None:
        out["tools"] = v.tools(fields["tools"], max_length=v.RUN_TOOLS_MAX)
    out["metadata"] = v.metadata(fields.get("metadata"))
    out["temperature"] = v.number(fields.get("temperature"), "temperature", minimum=0, maximum=2)
    out["top_p"] = v.number(fields.get("top_p"), "top_p", minimum=0, maximum=1)
    out["max_prompt_tokens"] = v.token_budget(fields.get("max_prompt_tokens"), "max_prompt_tokens")
    out["max_completion_tokens"] = v.token_budget(
        fields.get("max_completion_tokens"), "max_completion_tokens"
    )
    out["truncation_strategy"] = v.truncation_strategy(fields.get("truncation_strategy"))
    out["tool_choice"] = v.tool_choice(fields.get("tool_choice"))
    if fields.get("parallel_tool_calls") is not None:
        out["parallel_tool_calls"] = v.boolean(fields["parallel_tool_calls"], "parallel_tool_calls")
    out["response_format"] = v.response_format(fields.get("response_format"))
    out["reasoning_effort"] = v.reasoning_effort(fields.get("reasoning_effort"))
    v.include(fields.get("include"))
    out["variables"] = v.variables(fields.get("variables"))
    out["prompt"] = pv.prompt_ref(fields.get("prompt"))
    if out["prompt"] is not None and out.get("instructions") is not None:
        raise BadRequestError(
            "Pass either 'instructions' or 'prompt' (which gives the instructions), not both.",
            param="prompt",
            code="invalid_value",
        )
    out["fallbacks"] = v.fallbacks(fields.get("fallbacks"))
    out["trace"] = check_trace_fields(fields)
    return out


class AsyncRuns(Resource):
    def __init__(self, ctx: ClientContext) -> None:
        super().__init__(ctx)
        self.steps = AsyncSteps(ctx)

    @overload
    async def create(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        include: Sequence[str] | NotGiven = NOT_GIVEN,
        additional_instructions: str | NotGiven | None = NOT_GIVEN,
        additional_messages: Iterable[dict[str, Any]] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        stream: Literal[True],
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        prompt: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncEventStream: ...

    @overload
    async def create(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        include: Sequence[str] | NotGiven = NOT_GIVEN,
        additional_instructions: str | NotGiven | None = NOT_GIVEN,
        additional_messages: Iterable[dict[str, Any]] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        stream: Literal[False] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        prompt: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run: ...

    async def create(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        include: Sequence[str] | NotGiven = NOT_GIVEN,
        additional_instructions: str | NotGiven | None = NOT_GIVEN,
        additional_messages: Iterable[dict[str, Any]] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        stream: bool | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        prompt: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run | AsyncEventStream:
        """Queue a run of an assistant on a thread.

        With `stream=True`, returns the run's typed events (from `thread.run.created` to its
        next stop) instead of the run. `variables` (an extension) fills `{{name}}` placeholders
        in the instructions.
        """
        ids.check_id("thread_id", thread_id, "thread")
        params = given(
            assistant_id=assistant_id,
            include=include,
            additional_instructions=additional_instructions,
            additional_messages=_listed(additional_messages),
            instructions=instructions,
            max_completion_tokens=max_completion_tokens,
            max_prompt_tokens=max_prompt_tokens,
            metadata=metadata,
            model=model,
            parallel_tool_calls=parallel_tool_calls,
            reasoning_effort=reasoning_effort,
            response_format=response_format,
            stream=stream,
            temperature=temperature,
            tool_choice=tool_choice,
            tools=tool_definitions(tools),
            top_p=top_p,
            truncation_strategy=truncation_strategy,
            variables=variables,
            tags=tags,
            user_id=user_id,
            session_id=session_id,
            prompt=prompt,
        )
        body = merge_extra(params, extra_body)
        overrides = check_run(body)
        check_tools(self._ctx.settings, overrides.get("tools"))
        store = await self._store()
        added = overrides.pop("additional_messages")
        attached = [a for m in added for a in m.get("attachments") or ()]
        if searched_files(attached):
            # Into the thread's vector store before the run is queued, so its searches see them.
            await check_attachments(store, self._project, attached)
            await store.assistants.get(self._project, overrides["assistant_id"])
            await attach_files(store, self._project, thread_id, attached)
        run = await control.create_run(
            store,
            self._ctx.router,
            self._project,
            thread_id,
            overrides,
            added,
            tracer=await self._tracer(),
        )
        if body.get("stream"):
            events = run_events(store, run.id)
            if not v.include(body.get("include")):
                events = events_without_result_content(events)
            return AsyncEventStream(events)
        return run

    async def retrieve(
        self,
        run_id: str,
        *,
        thread_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run:
        """Retrieve a run."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        store = await self._store()
        return await store.runs.get(self._project, thread_id, run_id)

    async def update(
        self,
        run_id: str,
        *,
        thread_id: str,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run:
        """Replace a run's metadata (allowed in any status)."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        store = await self._store()
        if metadata is NOT_GIVEN:
            return await store.runs.get(self._project, thread_id, run_id)
        return await store.runs.update(self._project, thread_id, run_id, v.metadata(metadata))

    def list(
        self,
        thread_id: str,
        *,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[Run]:
        """List a thread's runs."""
        ids.check_id("thread_id", thread_id, "thread")
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)

        async def fetch(cursor: str | None) -> ListPage[Run]:
            store = await self._store()
            return await store.runs.list(
                self._project,
                thread_id,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)

    async def cancel(
        self,
        run_id: str,
        *,
        thread_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run:
        """Cancel a run: at once if no worker holds it, else `cancelling` until the worker stops."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        store = await self._store()
        return await control.cancel_run(
            store, self._project, thread_id, run_id, tracer=await self._tracer()
        )

    @overload
    async def submit_tool_outputs(
        self,
        run_id: str,
        *,
        thread_id: str,
        tool_outputs: Iterable[dict[str, Any]],
        stream: Literal[True],
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncEventStream: ...

    @overload
    async def submit_tool_outputs(
        self,
        run_id: str,
        *,
        thread_id: str,
        tool_outputs: Iterable[dict[str, Any]],
        stream: Literal[False] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run: ...

    async def submit_tool_outputs(
        self,
        run_id: str,
        *,
        thread_id: str,
        tool_outputs: Iterable[dict[str, Any]],
        stream: bool | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run | AsyncEventStream:
        """Submit the outputs of every pending tool call, in one request; the run is re-queued.

        With `stream=True`, returns the continuation's typed events (from the tool step's
        `thread.run.step.completed` to the run's next stop) instead of the run.
        """
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        if stream not in (NOT_GIVEN, None):
            v.boolean(stream, "stream")
        outputs = v.tool_outputs(_listed(tool_outputs))
        store = await self._store()
        run, before = await control.submit_tool_outputs(
            store, self._project, thread_id, run_id, outputs, tracer=await self._tracer()
        )
        if stream:
            return AsyncEventStream(
                events_without_result_content(run_events(store, run.id, after=before))
            )
        return run

    async def stream_events(
        self,
        thread_id: str,
        run_id: str,
        *,
        after: int = 0,
    ) -> AsyncEventStream:
        """Re-attach to a run's events (an extension): every event after sequence `after`.

        Each event carries its `seq`; pass the last one you received to resume after a broken
        connection or a restart. Works on running and finished runs, follows the run through
        `requires_action` pauses, and ends with its terminal event.
        """
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        after = v.integer(after, "after")
        store = await self._store()
        await store.runs.get(self._project, thread_id, run_id)
        await check_after(store, run_id, after)
        events = run_events(store, run_id, after=after, through_pauses=True)
        return AsyncEventStream(events_without_result_content(events))

    # --- streaming helpers -----------------------------------------------------------------

    def stream(
        self,
        *,
        assistant_id: str,
        include: Sequence[str] | NotGiven = NOT_GIVEN,
        additional_instructions: str | NotGiven | None = NOT_GIVEN,
        additional_messages: Iterable[dict[str, Any]] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        thread_id: str,
        event_handler: Any = None,
        variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        prompt: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncAssistantStreamManager[Any]:
        """Create a run and stream it into `event_handler`: `async with ... as handler:`."""
        params = given(
            include=include, additional_instructions=additional_instructions,
            additional_messages=additional_messages, instructions=instructions,
            max_completion_tokens=max_completion_tokens, max_prompt_tokens=max_prompt_tokens,
            metadata=metadata, model=model, parallel_tool_calls=parallel_tool_calls,
            reasoning_effort=reasoning_effort, response_format=response_format,
            temperature=temperature, tool_choice=tool_choice, tools=tools, top_p=top_p,
            truncation_strategy=truncation_strategy, variables=variables, prompt=prompt,
            tags=tags, user_id=user_id, session_id=session_id,
        )  # fmt: skip

        async def request() -> AsyncEventStream:
            return await self.create(
                thread_id, assistant_id=assistant_id, stream=True, extra_body=extra_body, **params
            )

        return AsyncAssistantStreamManager(
            request,
            event_handler=event_handler or AsyncAssistantEventHandler(),
            requested_handler=event_handler,
        )

    def create_and_stream(
        self,
        *,
        assistant_id: str,
        additional_instructions: str | NotGiven | None = NOT_GIVEN,
        additional_messages: Iterable[dict[str, Any]] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        thread_id: str,
        event_handler: Any = None,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncAssistantStreamManager[Any]:
        """The older name of `stream` (no `include`)."""
        return self.stream(
            assistant_id=assistant_id, additional_instructions=additional_instructions,
            additional_messages=additional_messages, instructions=instructions,
            max_completion_tokens=max_completion_tokens, max_prompt_tokens=max_prompt_tokens,
            metadata=metadata, model=model, parallel_tool_calls=parallel_tool_calls,
            reasoning_effort=reasoning_effort, response_format=response_format,
            temperature=temperature, tool_choice=tool_choice, tools=tools, top_p=top_p,
            truncation_strategy=truncation_strategy, thread_id=thread_id,
            event_handler=event_handler, extra_body=extra_body,
        )  # fmt: skip

    def submit_tool_outputs_stream(
        self,
        *,
        tool_outputs: Iterable[dict[str, Any]],
        run_id: str,
        thread_id: str,
        event_handler: Any = None,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncAssistantStreamManager[Any]:
        """Submit tool outputs and stream the continuation into a new `event_handler`."""

        async def request() -> AsyncEventStream:
            return await self.submit_tool_outputs(
                run_id, thread_id=thread_id, tool_outputs=tool_outputs, stream=True
            )

        return AsyncAssistantStreamManager(
            request,
            event_handler=event_handler or AsyncAssistantEventHandler(),
            requested_handler=event_handler,
        )

    # --- pollers ---------------------------------------------------------------------------

    async def poll(
        self,
        run_id: str,
        thread_id: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
    ) -> Run:
        """Wait until the run is terminal or `requires_action`, and return it.

        In-process this waits on the run's commits, so it returns as soon as the run stops;
        `poll_interval_ms` only bounds how often it re-reads when another process runs it.
        """
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        store = await self._store()
        await store.runs.get(self._project, thread_id, run_id)
        interval = (
            0.25 if isinstance(poll_interval_ms, NotGiven) else max(poll_interval_ms, 1) / 1000
        )
        await control.wait_until_stopped(store, run_id, poll=interval)
        return await store.runs.get(self._project, thread_id, run_id)

    async def create_and_poll(
        self,
        *,
        assistant_id: str,
        include: Sequence[str] | NotGiven = NOT_GIVEN,
        additional_instructions: str | NotGiven | None = NOT_GIVEN,
        additional_messages: Iterable[dict[str, Any]] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
        thread_id: str,
        variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        prompt: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run:
        """Create a run and wait until it is terminal or `requires_action`."""
        run = await self.create(
            thread_id,
            assistant_id=assistant_id,
            include=include,
            additional_instructions=additional_instructions,
            additional_messages=additional_messages,
            instructions=instructions,
            max_completion_tokens=max_completion_tokens,
            max_prompt_tokens=max_prompt_tokens,
            metadata=metadata,
            model=model,
            parallel_tool_calls=parallel_tool_calls,
            reasoning_effort=reasoning_effort,
            response_format=response_format,
            temperature=temperature,
            tool_choice=tool_choice,
            tools=tools,
            top_p=top_p,
            truncation_strategy=truncation_strategy,
            variables=variables,
            tags=tags,
            user_id=user_id,
            session_id=session_id,
            prompt=prompt,
            extra_body=extra_body,
        )
        return await self.poll(run.id, thread_id, poll_interval_ms=poll_interval_ms)

    async def submit_tool_outputs_and_poll(
        self,
        *,
        tool_outputs: Iterable[dict[str, Any]],
        run_id: str,
        thread_id: str,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run:
        """Submit tool outputs and wait until the run is terminal or `requires_action` again."""
        run = await self.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=tool_outputs)
        return await self.poll(run.id, thread_id, poll_interval_ms=poll_interval_ms)

    # --- Python tools, run for you ---------------------------------------------------------

    async def create_and_run_tools(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        functions: Iterable[Callable[..., Any]],
        max_rounds: int = 32,
        **params: Any,
    ) -> Run:
        """Create a run and execute the Python `functions` it asks for until it stops.

        `params` are `runs.create`'s. Each round runs the requested functions (in parallel when
        the model asked for several) and submits their outputs; a function that raises, or
        arguments that do not validate, become an error output the model reads. Returns the run
        in a terminal status (or paused after `max_rounds` rounds).
        """
        run = await self.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, **params)
        return await self._run_tools(run, as_tools(functions), max_rounds)

    async def submit_tool_outputs_and_run_tools(
        self,
        *,
        tool_outputs: Iterable[dict[str, Any]],
        run_id: str,
        thread_id: str,
        functions: Iterable[Callable[..., Any]],
        max_rounds: int = 32,
    ) -> Run:
        """Submit outputs you computed, then run `functions` for any further rounds."""
        run = await self.submit_tool_outputs_and_poll(
            tool_outputs=tool_outputs, run_id=run_id, thread_id=thread_id
        )
        return await self._run_tools(run, as_tools(functions), max_rounds)

    async def _run_tools(
        self, run: Run, tools: dict[str, FunctionTool[..., Any]], max_rounds: int
    ) -> Run:
        for _ in range(max_rounds):
            if run.status != "requires_action" or run.required_action is None:
                return run
            outputs = await run_calls(run.required_action.submit_tool_outputs.tool_calls, tools)
            run = await self.submit_tool_outputs_and_poll(
                tool_outputs=outputs, run_id=run.id, thread_id=run.thread_id
            )
        return run


def _listed(value: Any) -> Any:
    """Materialise an iterable parameter (generators included) as a list."""
    if value is NOT_GIVEN or value is None or isinstance(value, str | dict):
        return value
    try:
        return list(value)
    except TypeError:
        return value
