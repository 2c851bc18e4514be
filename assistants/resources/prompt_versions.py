"""`client.prompts.versions` and `client.prompts.labels` (see `assistants.resources.prompts`).

- `versions.create/list`: each version holds a template (`messages` or `instructions` with
  `{{variables}}`), the model and its parameters, tools, and a commit message; numbered 1, 2,
  3... and never changed.
- `labels.set/delete/list`: `set(..., expected_version=n)` moves the label only if it still
  points at `n` (compare-and-set), else a 400 saying where it points now; every set, move and
  delete is kept in the label's `history`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
from assistants.validation import prompts as pv
from store.errors import BadRequestError
from store.prompt_types import PromptLabel, PromptLabelDeleted, PromptLabelList, PromptVersion
from store.types import ListPage


def known(fields: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key in fields:
        if key not in allowed:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )


class AsyncPromptVersions(Resource):
    async def create(
        self,
        name: str,
        *,
        messages: Iterable[Mapping[str, Any]] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        tools: Iterable[Mapping[str, Any]] | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        commit_message: str | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptVersion:
        """Add the prompt's next version (numbered 1, 2, 3...; versions never change).

        The template is `messages` (chat messages whose content may hold `{{variables}}`) or
        `instructions` (text), exactly one of them.
        """
        prompt = pv.prompt_name(name)
        body = merge_extra(
            given(
                messages=plain_list(messages),
                instructions=instructions,
                model=model,
                temperature=temperature,
                top_p=top_p,
                max_tokens=max_tokens,
                stop=list(stop) if isinstance(stop, list | tuple) else stop,
                response_format=plain(response_format),
                tools=plain_list(tools),
                tool_choice=plain(tool_choice),
                commit_message=commit_message,
            ),
            extra_body,
        )
        known(body, pv.VERSION_PARAMS)
        v.json_tree(body)
        fields = pv.version_fields(body)
        store = await self._store()
        return await store.prompts.create_version(self._project, prompt, fields)

    def list(
        self,
        name: str,
        *,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[PromptVersion]:
        """List the prompt's versions, newest first: await for one page, or iterate them all."""
        prompt = pv.prompt_name(name)
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)

        async def fetch(cursor: str | None) -> ListPage[PromptVersion]:
            store = await self._store()
            return await store.prompts.list_versions(
                self._project,
                prompt,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)


class AsyncPromptLabels(Resource):
    async def set(
        self,
        name: str,
        *,
        label: str,
        version: int,
        expected_version: int | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptLabel:
        """Point `label` at `version` (creating the label if needed).

        With `expected_version`, the move happens only if the label still points there; if it
        moved meanwhile, a 400 (`code="label_moved"`) says where it points now.
        """
        prompt = pv.prompt_name(name)
        expected = None if expected_version is NOT_GIVEN else expected_version
        store = await self._store()
        return await store.prompts.labels.set(
            self._project,
            prompt,
            label=pv.label(label),
            version=pv.version_number(version),
            expected_version=(
                None if expected is None else pv.version_number(expected, "expected_version")
            ),
        )

    async def delete(
        self,
        name: str,
        *,
        label: str,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptLabelDeleted:
        """Remove a label (its history is kept). Assistants that take their instructions
        through it fail to start new runs (400) until it is set again."""
        store = await self._store()
        return await store.prompts.labels.delete(
            self._project, pv.prompt_name(name), label=pv.label(label)
        )

    async def list(
        self,
        name: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> PromptLabelList:
        """The prompt's labels, each with the version it points at and its history."""
        store = await self._store()
        return await store.prompts.labels.list(self._project, pv.prompt_name(name))


def plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) and not isinstance(value, dict) else value


def plain_list(value: Any) -> Any:
    if value is NOT_GIVEN or value is None or isinstance(value, list):
        return value
    return [plain(item) for item in value]
