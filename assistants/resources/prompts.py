"""`client.prompts`: named templates with immutable numbered versions and release labels.

- `prompts.create/list/delete/retrieve`: a prompt by name (unique per project); `retrieve`
  resolves a version: the given `version`, the one `label` points at, or with neither the one
  `prod` points at if that label exists, else the latest.
- `prompts.versions.create/list`: each version holds a template (`messages` or `instructions`
  with `{{variables}}`), the model and its parameters, tools, and a commit message; numbered
  1, 2, 3... and never changed.
- `prompts.labels.set/delete/list`: `set(..., expected_version=n)` moves the label only if it
  still points at `n` (compare-and-set), else a 400 saying where it points now; every set, move
  and delete is kept in the label's `history`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from assistants.resources.chat import AsyncChatCompletions
from assistants.resources.prompt_versions import (
    AsyncPromptLabels,
    AsyncPromptVersions,
    known,
    plain,
)
from assistants.streaming.prompts import AsyncPromptRunStream, prompt_run
from assistants.validation import prompts as pv
from runtime.completions import AsyncCompletionStream
from runtime.prompts import render_messages
from store.completion_types import ChatCompletion
from store.errors import BadRequestError
from store.prompt_types import (
    Prompt,
    PromptBlueprint,
    PromptDeleted,
    PromptRun,
    PromptVersion,
    ResolvedPrompt,
)
from store.types import ListPage


class AsyncPrompts(Resource):
    def __init__(self, ctx: ClientContext) -> None:
        super().__init__(ctx)
        self.versions = AsyncPromptVersions(ctx)
        self.labels = AsyncPromptLabels(ctx)

    async def create(
        self,
        *,
        name: str,
        description: str | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Prompt:
        """Create a prompt (a name unique in the project); add versions with `versions.create`."""
        body = merge_extra(given(name=name, description=description, metadata=metadata), extra_body)
        known(body, pv.PROMPT_PARAMS)
        store = await self._store()
        return await store.prompts.create(
            self._project,
            name=pv.prompt_name(body.get("name")),
            description=pv.description(body.get("description")),
            metadata=v.metadata(body.get("metadata")),
        )

    def list(
        self,
        *,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[Prompt]:
        """List prompts, newest first: await for one page, or iterate them all."""
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)

        async def fetch(cursor: str | None) -> ListPage[Prompt]:
            store = await self._store()
            return await store.prompts.list_prompts(
                self._project,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)

    async def retrieve(
        self,
        name: str,
        *,
        version: int | NotGiven | None = NOT_GIVEN,
        label: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptVersion:
        """The version `name` resolves to: `version`, or the one `label` points at, or (neither
        given) the one `prod` points at if that label exists, else the latest. Its `label`
        field names the label it was reached through."""
        number, label_name = pv.choice(
            None if version is NOT_GIVEN else version, None if label is NOT_GIVEN else label
        )
        store = await self._store()
        resolved = await store.prompts.resolve(
            self._project, pv.prompt_name(name), version=number, label=label_name
        )
        return resolved.version.model_copy(update={"label": resolved.label})

    @overload
    async def run(
        self,
        prompt_name: str,
        *,
        prompt_version: int | NotGiven | None = NOT_GIVEN,
        prompt_release_label: str | NotGiven | None = NOT_GIVEN,
        input_variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        group_id: int | str | NotGiven | None = NOT_GIVEN,
        model_parameter_overrides: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        provider: str | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        stream: Literal[False] = False,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptRun: ...

    @overload
    async def run(
        self,
        prompt_name: str,
        *,
        prompt_version: int | NotGiven | None = NOT_GIVEN,
        prompt_release_label: str | NotGiven | None = NOT_GIVEN,
        input_variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        group_id: int | str | NotGiven | None = NOT_GIVEN,
        model_parameter_overrides: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        provider: str | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        stream: Literal[True],
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPromptRunStream: ...

    async def run(
        self,
        prompt_name: str,
        *,
        prompt_version: int | NotGiven | None = NOT_GIVEN,
        prompt_release_label: str | NotGiven | None = NOT_GIVEN,
        input_variables: dict[str, str] | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        group_id: int | str | NotGiven | None = NOT_GIVEN,
        model_parameter_overrides: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        provider: str | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        stream: bool = False,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptRun | AsyncPromptRunStream:
        """Render a version of the prompt and call the model with it (`chat.completions`).

        The version is `prompt_version`, or the one `prompt_release_label` points at, or with
        neither the one `prod` points at if that label exists, else the latest. `{{name}}` in
        the template is filled from `input_variables` (a missing one is a 400 naming it). The
        model is `model`, else the version's; the parameters the version's, then
        `model_parameter_overrides`. `tags`, `metadata` and `group_id` go with the call's
        trace, which also names the prompt, version and label. Returns a `PromptRun`
        (`request_id`, `raw_response`: the `ChatCompletion`, `prompt_blueprint`); with
        `stream=True`, an `AsyncPromptRunStream` of the chunks and then that same `PromptRun`.
        """
        body = merge_extra(
            given(
                prompt_version=prompt_version,
                prompt_release_label=prompt_release_label,
                input_variables=input_variables,
                tags=tags,
                metadata=metadata,
                group_id=group_id,
                model_parameter_overrides=model_parameter_overrides,
                provider=provider,
                model=model,
                stream=stream,
            ),
            extra_body,
        )
        known(body, pv.RUN_PARAMS)
        name = pv.prompt_name(prompt_name, "prompt_name")
        number, label = pv.choice(
            body.get("prompt_version"),
            body.get("prompt_release_label"),
            version_param="prompt_version",
            label_param="prompt_release_label",
        )
        variables = v.variables(plain(body.get("input_variables")), "input_variables")
        # A null `stream` is an unset one, as for chat completions and runs.
        given_stream = body.get("stream")
        streaming = False if given_stream is None else v.boolean(given_stream, "stream")
        store = await self._store()
        resolved = await store.prompts.resolve(self._project, name, version=number, label=label)
        blueprint = _blueprint(name, resolved, variables, body)
        call = {
            **blueprint.parameters,
            "metadata": _trace_metadata(name, resolved, body),
            "stream": streaming,
            **({"provider": blueprint.provider} if blueprint.provider else {}),
            **({"tags": list(body["tags"])} if body.get("tags") is not None else {}),
        }
        # `stream` travels in `extra_body`: either answer may come back.
        answer: ChatCompletion | AsyncCompletionStream = await AsyncChatCompletions(
            self._ctx
        ).create(
            messages=blueprint.messages, model=blueprint.model, extra_body=call, timeout=timeout
        )
        if isinstance(answer, AsyncCompletionStream):
            return AsyncPromptRunStream(answer, blueprint)
        return prompt_run(answer, blueprint)

    async def delete(
        self,
        name: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptDeleted:
        """Delete a prompt with its versions and labels; refused (400) while an assistant takes
        its instructions from it."""
        store = await self._store()
        return await store.prompts.delete(self._project, pv.prompt_name(name))


def _blueprint(
    name: str, resolved: ResolvedPrompt, variables: dict[str, str] | None, body: dict[str, Any]
) -> PromptBlueprint:
    """What the run sends: the version's messages rendered with `variables`, the model (the
    call's, else the version's: one is needed), the provider and the parameters."""
    version = resolved.version
    chosen = body.get("model") or version.model
    if chosen is None:
        raise BadRequestError(
            f"The prompt '{name}' version {version.version} names no model: pass model=.",
            param="model",
            code="missing_required_parameter",
        )
    return PromptBlueprint(
        prompt_name=name,
        prompt_version=version.version,
        prompt_release_label=resolved.label,
        messages=render_messages(version, variables, source="input_variables"),
        model=chosen,
        provider=body.get("provider"),
        parameters=_parameters(version, body.get("model_parameter_overrides")),
    )


def _trace_metadata(name: str, resolved: ResolvedPrompt, body: dict[str, Any]) -> dict[str, Any]:
    """The call's trace metadata: the prompt, version and label, the group, the caller's own."""
    return {
        "prompt_name": name,
        "prompt_version": str(resolved.version.version),
        **({"prompt_release_label": resolved.label} if resolved.label else {}),
        **({"group_id": str(body["group_id"])} if body.get("group_id") is not None else {}),
        **(v.metadata(plain(body.get("metadata"))) or {}),
    }


_VERSION_PARAMETERS = ("temperature", "top_p", "max_tokens", "stop", "response_format")
_NOT_OVERRIDABLE = ("messages", "model", "provider", "stream")


def _parameters(version: PromptVersion, overrides: object) -> dict[str, Any]:
    """The model parameters to send: the version's, then `model_parameter_overrides`."""
    out: dict[str, Any] = {}
    for name in _VERSION_PARAMETERS:
        value = getattr(version, name)
        if value is not None and not (name == "response_format" and not isinstance(value, dict)):
            out[name] = value
    if version.tools:
        out["tools"] = version.tools
        if version.tool_choice is not None:
            out["tool_choice"] = version.tool_choice
    if overrides is None:
        return out
    given = v.obj(plain(overrides), "model_parameter_overrides")
    for key in given:
        if key in _NOT_OVERRIDABLE:
            raise BadRequestError(
                f"Invalid 'model_parameter_overrides': '{key}' is not a model parameter"
                + (f"; pass {key}= instead." if key in ("model", "provider") else "."),
                param=f"model_parameter_overrides.{key}",
                code="invalid_value",
            )
    return {**out, **given}
