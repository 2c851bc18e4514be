"""`client.threads.runs.steps`: list and retrieve (file_search result content only when
`include` asks for it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven
from assistants.pagination import AsyncPaginator
from assistants.resources._base import Body, Headers, Query, Resource, Timeout, check_list
from runtime.file_search import without_result_content
from store import ids
from store.types import ListPage, RunStep


class AsyncSteps(Resource):
    async def retrieve(
        self,
        step_id: str,
        *,
        thread_id: str,
        run_id: str,
        include: Sequence[str] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> RunStep:
        """Retrieve one step of a run."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        ids.check_id("step_id", step_id, "step")
        included = v.include(None if include is NOT_GIVEN else include)
        store = await self._store()
        step = await store.runs.get_step(self._project, thread_id, run_id, step_id)
        return step if included else _without_content(step)

    def list(
        self,
        run_id: str,
        *,
        thread_id: str,
        after: str | NotGiven = NOT_GIVEN,
        before: str | NotGiven = NOT_GIVEN,
        include: Sequence[str] | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        order: Literal["asc", "desc"] | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[RunStep]:
        """List a run's steps."""
        ids.check_id("thread_id", thread_id, "thread")
        ids.check_id("run_id", run_id, "run")
        included = v.include(None if include is NOT_GIVEN else include)
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)

        async def fetch(cursor: str | None) -> ListPage[RunStep]:
            store = await self._store()
            steps = await store.runs.list_steps(
                self._project,
                thread_id,
                run_id,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )
            if not included:
                steps.data = [_without_content(s) for s in steps.data]
            return steps

        return AsyncPaginator(fetch)


def _without_content(step: RunStep) -> RunStep:
    """The step as shown without `include`: its file_search results leave out their content."""
    data = step.to_dict()
    shown = without_result_content(data)
    return step if shown is data else RunStep.model_validate(shown)
