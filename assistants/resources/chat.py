"""`client.chat.completions`: one stateless call to any model, as openai-python makes it.

`create(...)` takes openai-python's parameters, with this runtime's extensions keyword-only, and
returns a `ChatCompletion`, or with `stream=True` an `AsyncCompletionStream` of
`ChatCompletionChunk`s. The engine is `runtime.completions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, overload

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
from assistants.validation.completions import completion_params
from runtime.completions import AsyncCompletionStream
from store.completion_types import ChatCompletion

_JSON_TYPES = frozenset({dict, list, tuple, str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """A top-level argument as JSON would give it: mappings as dicts, iterables as lists."""
    if type(value) in _JSON_TYPES:  # the usual case, without the ABCs' checks below
        return value
    if isinstance(value, Mapping) and not isinstance(value, dict):
        return dict(value)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | dict | list | tuple):
        return list(value)
    return value


class AsyncChatCompletions(Resource):
    @overload
    async def create(
        self,
        *,
        messages: Iterable[Mapping[str, Any]],
        model: str,
        audio: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        function_call: Any | NotGiven = NOT_GIVEN,
        functions: Iterable[dict[str, Any]] | NotGiven = NOT_GIVEN,
        logit_bias: dict[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        modalities: list[str] | NotGiven | None = NOT_GIVEN,
        moderation: Any | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        prediction: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        prompt_cache_key: str | NotGiven | None = NOT_GIVEN,
        prompt_cache_options: Any | NotGiven = NOT_GIVEN,
        prompt_cache_retention: str | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        safety_identifier: str | NotGiven | None = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream: Literal[False] | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Iterable[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        verbosity: str | NotGiven | None = NOT_GIVEN,
        web_search_options: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        num_retries: int | NotGiven | None = NOT_GIVEN,
        fallbacks: Sequence[str] | NotGiven | None = NOT_GIVEN,
        variables: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        provider: str | NotGiven | None = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        api_base: str | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        trace_id: str | NotGiven | None = NOT_GIVEN,
        span_id: str | NotGiven | None = NOT_GIVEN,
        parent_span_id: str | NotGiven | None = NOT_GIVEN,
        send_trace: bool | NotGiven | None = NOT_GIVEN,
        store_content: bool | NotGiven | None = NOT_GIVEN,
        group_id: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        messages: Iterable[Mapping[str, Any]],
        model: str,
        audio: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        function_call: Any | NotGiven = NOT_GIVEN,
        functions: Iterable[dict[str, Any]] | NotGiven = NOT_GIVEN,
        logit_bias: dict[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        modalities: list[str] | NotGiven | None = NOT_GIVEN,
        moderation: Any | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        prediction: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        prompt_cache_key: str | NotGiven | None = NOT_GIVEN,
        prompt_cache_options: Any | NotGiven = NOT_GIVEN,
        prompt_cache_retention: str | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        safety_identifier: str | NotGiven | None = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream: Literal[True],
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Iterable[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        verbosity: str | NotGiven | None = NOT_GIVEN,
        web_search_options: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        num_retries: int | NotGiven | None = NOT_GIVEN,
        fallbacks: Sequence[str] | NotGiven | None = NOT_GIVEN,
        variables: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        provider: str | NotGiven | None = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        api_base: str | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        trace_id: str | NotGiven | None = NOT_GIVEN,
        span_id: str | NotGiven | None = NOT_GIVEN,
        parent_span_id: str | NotGiven | None = NOT_GIVEN,
        send_trace: bool | NotGiven | None = NOT_GIVEN,
        store_content: bool | NotGiven | None = NOT_GIVEN,
        group_id: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncCompletionStream: ...

    @overload
    async def create(
        self,
        *,
        messages: Iterable[Mapping[str, Any]],
        model: str,
        audio: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        function_call: Any | NotGiven = NOT_GIVEN,
        functions: Iterable[dict[str, Any]] | NotGiven = NOT_GIVEN,
        logit_bias: dict[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        modalities: list[str] | NotGiven | None = NOT_GIVEN,
        moderation: Any | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        prediction: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        prompt_cache_key: str | NotGiven | None = NOT_GIVEN,
        prompt_cache_options: Any | NotGiven = NOT_GIVEN,
        prompt_cache_retention: str | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        safety_identifier: str | NotGiven | None = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream: bool | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Iterable[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        verbosity: str | NotGiven | None = NOT_GIVEN,
        web_search_options: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        num_retries: int | NotGiven | None = NOT_GIVEN,
        fallbacks: Sequence[str] | NotGiven | None = NOT_GIVEN,
        variables: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        provider: str | NotGiven | None = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        api_base: str | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        trace_id: str | NotGiven | None = NOT_GIVEN,
        span_id: str | NotGiven | None = NOT_GIVEN,
        parent_span_id: str | NotGiven | None = NOT_GIVEN,
        send_trace: bool | NotGiven | None = NOT_GIVEN,
        store_content: bool | NotGiven | None = NOT_GIVEN,
        group_id: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> ChatCompletion | AsyncCompletionStream: ...

    async def create(
        self,
        *,
        messages: Iterable[Mapping[str, Any]],
        model: str,
        audio: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        function_call: Any | NotGiven = NOT_GIVEN,
        functions: Iterable[dict[str, Any]] | NotGiven = NOT_GIVEN,
        logit_bias: dict[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        modalities: list[str] | NotGiven | None = NOT_GIVEN,
        moderation: Any | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        prediction: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        prompt_cache_key: str | NotGiven | None = NOT_GIVEN,
        prompt_cache_options: Any | NotGiven = NOT_GIVEN,
        prompt_cache_retention: str | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        safety_identifier: str | NotGiven | None = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream: bool | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Iterable[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        verbosity: str | NotGiven | None = NOT_GIVEN,
        web_search_options: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        num_retries: int | NotGiven | None = NOT_GIVEN,
        fallbacks: Sequence[str] | NotGiven | None = NOT_GIVEN,
        variables: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        provider: str | NotGiven | None = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        api_base: str | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        user_id: str | NotGiven | None = NOT_GIVEN,
        session_id: str | NotGiven | None = NOT_GIVEN,
        trace_id: str | NotGiven | None = NOT_GIVEN,
        span_id: str | NotGiven | None = NOT_GIVEN,
        parent_span_id: str | NotGiven | None = NOT_GIVEN,
        send_trace: bool | NotGiven | None = NOT_GIVEN,
        store_content: bool | NotGiven | None = NOT_GIVEN,
        group_id: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> ChatCompletion | AsyncCompletionStream:
        """Create a model response for the given chat conversation (openai-python's
        `chat.completions.create`), through any configured provider.

        `stream=True` returns an `AsyncCompletionStream` of `ChatCompletionChunk`s (OpenAI's
        delta format for every provider, the usage chunk last) once a model has begun
        answering. Extensions (keyword-only): `num_retries`, `fallbacks`, `variables` (for
        `{{name}}` in message text), `provider` (for a custom model name), per-call `api_key`
        and `api_base`, and the trace fields `tags`, `user_id`, `session_id`, `trace_id`,
        `span_id`, `parent_span_id`, `send_trace`, `store_content`, `group_id` (with
        `metadata`), echoed on the answer.
        `timeout` bounds each attempt (seconds); the other `extra_*` options are ignored
        in-process.
        """
        fields = merge_extra(
            given(
                messages=messages,
                model=model,
                audio=audio,
                frequency_penalty=frequency_penalty,
                function_call=function_call,
                functions=functions,
                logit_bias=logit_bias,
                logprobs=logprobs,
                max_completion_tokens=max_completion_tokens,
                max_tokens=max_tokens,
                metadata=metadata,
                modalities=modalities,
                moderation=moderation,
                n=n,
                parallel_tool_calls=parallel_tool_calls,
                prediction=prediction,
                presence_penalty=presence_penalty,
                prompt_cache_key=prompt_cache_key,
                prompt_cache_options=prompt_cache_options,
                prompt_cache_retention=prompt_cache_retention,
                reasoning_effort=reasoning_effort,
                response_format=response_format,
                safety_identifier=safety_identifier,
                seed=seed,
                service_tier=service_tier,
                stop=stop,
                store=store,
                stream=stream,
                stream_options=stream_options,
                temperature=temperature,
                tool_choice=tool_choice,
                tools=tools,
                top_logprobs=top_logprobs,
                top_p=top_p,
                user=user,
                verbosity=verbosity,
                web_search_options=web_search_options,
                num_retries=num_retries,
                fallbacks=fallbacks,
                variables=variables,
                provider=provider,
                api_key=api_key,
                api_base=api_base,
                tags=tags,
                user_id=user_id,
                session_id=session_id,
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=parent_span_id,
                send_trace=send_trace,
                store_content=store_content,
                group_id=group_id,
            ),
            extra_body,
        )
        return await self._call(fields, timeout)

    async def _call(
        self, fields: dict[str, Any], timeout: Timeout
    ) -> ChatCompletion | AsyncCompletionStream:
        """Check the request's fields (`timeout`, if a number, bounding each attempt unless
        the fields name one) and call the model: a `ChatCompletion`, or a stream of chunks."""
        params = {name: _plain(value) for name, value in fields.items()}
        if isinstance(timeout, int | float) and "timeout" not in params:
            params["timeout"] = timeout
        request = completion_params(params)
        engine = self._ctx.completions
        if request.stream:
            return await engine.stream(request, project=self._project)
        return await engine.create(request, project=self._project)


class AsyncChat(Resource):
    """`client.chat`: holds `completions`."""

    def __init__(self, ctx: ClientContext) -> None:
        super().__init__(ctx)
        self.completions = AsyncChatCompletions(ctx)
