"""`client.threads`: create, retrieve, update, delete, create_and_run and its poller."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven, given
from assistants.resources._base import (
    Body,
    ClientContext,
    Headers,
    Query,
    Resource,
    Timeout,
    merge_extra,
)
from assistants.resources.messages import AsyncMessages
from assistants.resources.runs import _THREAD_AND_RUN_PARAMS, AsyncRuns, _listed, check_run
from assistants.resources.vector_stores import (
    check_tools,
    new_thread_resources,
    settle_tool_resources,
)
from assistants.streaming.handler import AsyncAssistantEventHandler
from assistants.streaming.manager import AsyncAssistantStreamManager, AsyncEventStream
from assistants.tools import FunctionTool, tool_definitions
from assistants.validation.threads import check_thread, check_thread_update
from runtime import control
from runtime.file_search import events_without_result_content
from runtime.streams import run_events
from store import ids
from store.types import Run, Thread, ThreadDeleted


class AsyncThreads(Resource):
    def __init__(self, ctx: ClientContext) -> None:
        super().__init__(ctx)
        self.messages = AsyncMessages(ctx)
        self.runs = AsyncRuns(ctx)

    async def create(
        self,
        *,
        messages: Iterable[dict[str, Any]] | NotGiven = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Thread:
        """Create a thread, optionally with initial messages.

        Extensions (keyword-only): the trace fields `tags`, `user_id` and `session_id`, which
        every run on the thread inherits unless it sets its own.
        """
        params = given(
            messages=_listed(messages), metadata=metadata, tool_resources=tool_resources,
            tags=_listed(tags), user_id=user_id, session_id=session_id,
        )  # fmt: skip
        body = merge_extra(params, extra_body)
        thread = check_thread(body, "")
        store = await self._store()
        return await store.threads.create(
            self._project,
            messages=thread["messages"],
            metadata=thread["metadata"],
            tool_resources=await new_thread_resources(
                store, self._project, thread["tool_resources"], thread["messages"]
            ),
            extensions=thread["extensions"],
        )

    async def retrieve(
        self,
        thread_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Thread:
        """Retrieve a thread."""
        ids.check_id("thread_id", thread_id, "thread")
        store = await self._store()
        return await store.threads.get(self._project, thread_id)

    async def update(
        self,
        thread_id: str,
        *,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Thread:
        """Replace a thread's metadata, tool resources and/or trace fields (`tags`, `user_id`,
        `session_id`: each given one replaced, None removing it, the others kept)."""
        ids.check_id("thread_id", thread_id, "thread")
        params = given(
            metadata=metadata, tool_resources=tool_resources, tags=_listed(tags),
            user_id=user_id, session_id=session_id,
        )  # fmt: skip
        body = merge_extra(params, extra_body)
        fields = check_thread_update(body)
        store = await self._store()
        if fields.get("tool_resources") is not None:
            fields["tool_resources"] = await settle_tool_resources(
                store, self._project, fields["tool_resources"]
            )
        return await store.threads.update(self._project, thread_id, fields)

    async def delete(
        self,
        thread_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> ThreadDeleted:
        """Delete a thread with its messages and runs (refused while a run is active)."""
        ids.check_id("thread_id", thread_id, "thread")
        store = await self._store()
        return await store.threads.delete(self._project, thread_id)

    @overload
    async def create_and_run(
        self,
        *,
        assistant_id: str,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        stream: Literal[True],
        temperature: float | NotGiven | None = NOT_GIVEN,
        thread: dict[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
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
    async def create_and_run(
        self,
        *,
        assistant_id: str,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        stream: Literal[False] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        thread: dict[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
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

    async def create_and_run(
        self,
        *,
        assistant_id: str,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        stream: bool | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        thread: dict[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
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
        """Create a thread and queue a run on it; the run's `thread_id` names the new thread.

        With `stream=True`, returns the typed events (from `thread.created`) instead of the run.
        """
        params = given(
            assistant_id=assistant_id,
            instructions=instructions,
            max_completion_tokens=max_completion_tokens,
            max_prompt_tokens=max_prompt_tokens,
            metadata=metadata,
            model=model,
            parallel_tool_calls=parallel_tool_calls,
            response_format=response_format,
            stream=stream,
            temperature=temperature,
            thread=thread,
            tool_choice=tool_choice,
            tool_resources=tool_resources,
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
        thread_body = check_thread(body.pop("thread", None))
        resources = v.tool_resources(body.pop("tool_resources", None))
        if resources is not None:
            thread_body["tool_resources"] = resources
        overrides = check_run(body, allowed=_THREAD_AND_RUN_PARAMS)
        check_tools(self._ctx.settings, overrides.get("tools"))
        overrides.pop("additional_messages", None)
        store = await self._store()
        thread_body["tool_resources"] = await new_thread_resources(
            store, self._project, thread_body["tool_resources"], thread_body["messages"]
        )
        _, run = await control.create_thread_and_run(
            store,
            self._ctx.router,
            self._project,
            thread_body,
            overrides,
            tracer=await self._tracer(),
        )
        if body.get("stream"):
            return AsyncEventStream(events_without_result_content(run_events(store, run.id)))
        return run

    async def create_and_run_poll(
        self,
        *,
        assistant_id: str,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        thread: dict[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        poll_interval_ms: int | NotGiven = NOT_GIVEN,
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
        """Create a thread and a run, then wait until the run is terminal or `requires_action`."""
        run = await self.create_and_run(
            assistant_id=assistant_id,
            instructions=instructions,
            max_completion_tokens=max_completion_tokens,
            max_prompt_tokens=max_prompt_tokens,
            metadata=metadata,
            model=model,
            parallel_tool_calls=parallel_tool_calls,
            response_format=response_format,
            temperature=temperature,
            thread=thread,
            tool_choice=tool_choice,
            tool_resources=tool_resources,
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
        return await self.runs.poll(run.id, run.thread_id, poll_interval_ms=poll_interval_ms)

    def create_and_run_stream(
        self,
        *,
        assistant_id: str,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        thread: dict[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: Any | NotGiven = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation_strategy: dict[str, Any] | NotGiven | None = NOT_GIVEN,
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
        """Create a thread and a run, and stream it into `event_handler`."""
        params = given(
            instructions=instructions, max_completion_tokens=max_completion_tokens,
            max_prompt_tokens=max_prompt_tokens, metadata=metadata, model=model,
            parallel_tool_calls=parallel_tool_calls, response_format=response_format,
            temperature=temperature, thread=thread, tool_choice=tool_choice,
            tool_resources=tool_resources, tools=tools, top_p=top_p,
            truncation_strategy=truncation_strategy, variables=variables, prompt=prompt,
            tags=tags, user_id=user_id, session_id=session_id,
        )  # fmt: skip

        async def request() -> AsyncEventStream:
            return await self.create_and_run(
                assistant_id=assistant_id, stream=True, extra_body=extra_body, **params
            )

        return AsyncAssistantStreamManager(
            request,
            event_handler=event_handler or AsyncAssistantEventHandler(),
            requested_handler=event_handler,
        )
