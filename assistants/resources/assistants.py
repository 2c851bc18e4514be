"""`client.assistants`: create, retrieve, update, list, delete."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven, given
from assistants.pagination import AsyncPaginator
from assistants.resources._base import (
    Body,
    Headers,
    Query,
    Resource,
    Timeout,
    check_list,
    merge_extra,
)
from assistants.resources.vector_stores import check_tools, settle_tool_resources
from assistants.tools import FunctionTool, tool_definitions
from assistants.validation import prompts as pv
from store import ids
from store.errors import BadRequestError
from store.store import Store
from store.types import Assistant, AssistantDeleted, ListPage

_KNOWN_FIELDS = frozenset(
    {
        "model",
        "name",
        "description",
        "instructions",
        "tools",
        "tool_resources",
        "metadata",
        "temperature",
        "top_p",
        "response_format",
        "reasoning_effort",
        "fallbacks",  # an extension: models to try when the model fails for good
        "prompt",  # an extension: the prompt the instructions come from
    }
)
"""The fields an assistant's create and update accept."""


def check_assistant(fields: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """Validate assistant fields (create or update) with the API's wording."""
    for key in fields:
        if key not in _KNOWN_FIELDS:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )
    if create and fields.get("model") is None:
        raise v.missing("model")
    out = {**_model_and_texts(fields), **_tools_and_sampling(fields, create=create)}
    changes = _extensions(fields)
    if changes:
        out["extensions"] = changes
    if create:
        # The API's defaults, echoed as the hosted API did.
        for name, default in (("temperature", 1.0), ("top_p", 1.0), ("response_format", "auto")):
            if out.get(name) is None:
                out[name] = default
    return out


def _model_and_texts(fields: dict[str, Any]) -> dict[str, Any]:
    """The model, and the texts within their lengths: name, description, instructions."""
    out: dict[str, Any] = {}
    if "model" in fields:
        if fields["model"] is None:
            raise v.invalid_type("model", "a string", None)
        out["model"] = v.model_name(fields["model"], "model")
    if "name" in fields:
        out["name"] = v.optional_string(fields["name"], "name", max_length=v.ASSISTANT_NAME_MAX)
    if "description" in fields:
        out["description"] = v.optional_string(
            fields["description"], "description", max_length=v.ASSISTANT_DESCRIPTION_MAX
        )
    if "instructions" in fields:
        out["instructions"] = v.optional_string(
            fields["instructions"], "instructions", max_length=v.INSTRUCTIONS_MAX
        )
    return out


def _tools_and_sampling(fields: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """Tools and their resources (vector stores made inline only at creation), metadata, and
    how the model answers: temperature, top_p, response format, reasoning effort."""
    out: dict[str, Any] = {}
    if "tools" in fields:
        out["tools"] = (
            []
            if fields["tools"] is None
            else v.tools(fields["tools"], max_length=v.ASSISTANT_TOOLS_MAX)
        )
    if "tool_resources" in fields:
        out["tool_resources"] = v.tool_resources(
            fields["tool_resources"], allow_vector_stores=create
        )
    if "metadata" in fields:
        out["metadata"] = v.metadata(fields["metadata"])
    if "temperature" in fields:
        out["temperature"] = v.number(fields["temperature"], "temperature", minimum=0, maximum=2)
    if "top_p" in fields:
        out["top_p"] = v.number(fields["top_p"], "top_p", minimum=0, maximum=1)
    if "response_format" in fields:
        out["response_format"] = v.response_format(fields["response_format"])
    if "reasoning_effort" in fields:
        out["reasoning_effort"] = v.reasoning_effort(fields["reasoning_effort"])
    return out


def _extensions(fields: dict[str, Any]) -> dict[str, Any]:
    """Extension fields, kept together in `extensions`: a change names each one it sets (None
    removes it); `AsyncAssistants.update` merges the change into the stored ones."""
    changes: dict[str, Any] = {}
    if "fallbacks" in fields:
        changes["fallbacks"] = v.fallbacks(fields["fallbacks"]) or None
    if "prompt" in fields:
        changes["prompt"] = pv.prompt_ref(fields["prompt"])
        if changes["prompt"] is not None and fields.get("instructions") is not None:
            raise BadRequestError(
                "Pass either 'instructions' or 'prompt' (which gives the instructions), not both.",
                param="prompt",
                code="invalid_value",
            )
    return changes


class AsyncAssistants(Resource):
    def _check_models(self, fields: dict[str, Any]) -> None:
        """Unknown models (the model or a fallback) are 400s now, not failed runs later."""
        if "model" in fields:
            self._ctx.router.resolve(fields["model"])
        for i, model in enumerate((fields.get("extensions") or {}).get("fallbacks") or []):
            self._ctx.router.resolve(model, param=f"fallbacks[{i}]")

    async def _check_prompt(self, store: Store, extensions: dict[str, Any] | None) -> None:
        """A prompt reference must resolve when it is set (a 404 for an unknown prompt, version
        or label); later changes to the prompt show in new runs."""
        ref = (extensions or {}).get("prompt")
        if ref is not None:
            await store.prompts.resolve(
                self._project, ref["name"], version=ref.get("version"), label=ref.get("label")
            )

    async def create(
        self,
        *,
        model: str,
        description: str | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        name: str | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        prompt: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Assistant:
        """Create an assistant."""
        params = given(
            model=model,
            description=description,
            instructions=instructions,
            metadata=metadata,
            name=name,
            reasoning_effort=reasoning_effort,
            response_format=response_format,
            temperature=temperature,
            tool_resources=tool_resources,
            tools=tool_definitions(tools),
            top_p=top_p,
            prompt=prompt,
        )
        fields = check_assistant(merge_extra(params, extra_body), create=True)
        self._check_models(fields)
        store = await self._store()
        if "extensions" in fields:
            fields["extensions"] = _present(fields["extensions"])
            await self._check_prompt(store, fields["extensions"])
        check_tools(self._ctx.settings, fields.get("tools"))
        if "tool_resources" in fields:
            fields["tool_resources"] = await settle_tool_resources(
                store, self._project, fields["tool_resources"]
            )
        created = await store.assistants.create(self._project, fields)
        check_tools(self._ctx.settings, fields.get("tools"), assistant_id=created.id)
        return created

    async def retrieve(
        self,
        assistant_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Assistant:
        """Retrieve an assistant by id."""
        ids.check_id("assistant_id", assistant_id, "assistant")
        store = await self._store()
        return await store.assistants.get(self._project, assistant_id)

    async def update(
        self,
        assistant_id: str,
        *,
        description: str | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven = NOT_GIVEN,
        name: str | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Any | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_resources: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        tools: Iterable[dict[str, Any] | FunctionTool[..., Any]] | NotGiven = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        prompt: dict[str, Any] | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Assistant:
        """Change the given fields of an assistant; lists such as `tools` are replaced."""
        ids.check_id("assistant_id", assistant_id, "assistant")
        params = given(
            description=description,
            instructions=instructions,
            metadata=metadata,
            model=model,
            name=name,
            reasoning_effort=reasoning_effort,
            response_format=response_format,
            temperature=temperature,
            tool_resources=tool_resources,
            tools=tool_definitions(tools),
            top_p=top_p,
            prompt=prompt,
        )
        fields = check_assistant(merge_extra(params, extra_body), create=False)
        self._check_models(fields)
        store = await self._store()
        if "extensions" in fields:
            current = await store.assistants.get(self._project, assistant_id)
            stored = {**(current.model_extra or {}), "prompt": current.prompt}
            if current.prompt is not None:
                stored["prompt"] = current.prompt.to_dict()
            fields["extensions"] = _present({**stored, **fields["extensions"]})
            await self._check_prompt(store, fields["extensions"])
        check_tools(self._ctx.settings, fields.get("tools"))
        if "tool_resources" in fields:
            fields["tool_resources"] = await settle_tool_resources(
                store, self._project, fields["tool_resources"]
            )
        updated = await store.assistants.update(self._project, assistant_id, fields)
        check_tools(self._ctx.settings, fields.get("tools"), assistant_id=assistant_id)
        return updated

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
    ) -> AsyncPaginator[Assistant]:
        """List assistants: await for one page, or iterate every assistant."""
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)

        async def fetch(cursor: str | None) -> ListPage[Assistant]:
            store = await self._store()
            return await store.assistants.list(
                self._project,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)

    async def delete(
        self,
        assistant_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AssistantDeleted:
        """Delete an assistant. Runs already created keep their copy of its settings."""
        ids.check_id("assistant_id", assistant_id, "assistant")
        store = await self._store()
        return await store.assistants.delete(self._project, assistant_id)


def _present(extensions: dict[str, Any]) -> dict[str, Any] | None:
    """The extension fields that are set (None when none is)."""
    return {k: v for k, v in extensions.items() if v is not None} or None
