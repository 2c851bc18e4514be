"""`client.threads.runs.steps`: list and retrieve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven
from assistants.pagination import AsyncPaginator
from assistants.resources._base import Body, Headers, Query, Resource, Timeout, check_list
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
        v.include(None if include is NOT_GIVEN else include)
        store = await self._store()
        return await store.runs.get_step(self._project, thread_id, run_id, step_id)

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
        v.include(None if include is NOT_GIVEN else include)
        lim, ordering, first_after, first_before = check_list(limit, order, after, before)

        async def fetch(cursor: str | None) -> ListPage[RunStep]:
            store = await self._store()
            return await store.runs.list_steps(
                self._project,
                thread_id,
                run_id,
                limit=lim,
                order=ordering,
                after=cursor if cursor is not None else first_after,
                before=None if cursor is not None else first_before,
            )

        return AsyncPaginator(fetch)
