"""`client.spans` and `client.traces`: what runs, model calls and tool calls did, and when.

Spans are written in the background (`runtime.tracing`); every read here first writes what this
process has queued, so a span recorded before a call returned is in the next read.
`spans.list` pages newest first; `traces.retrieve` returns a trace's spans as a tree.
"""

from __future__ import annotations

import math
from typing import Any

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven
from assistants.pagination import AsyncPaginator
from assistants.resources._base import Body, Headers, Query, Resource, Timeout
from store import span_types as sp
from store.errors import BadRequestError
from store.span_types import Span, SpanFilter, Trace
from store.types import ListPage


def _time(value: object, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequestError(
            f"Invalid type for '{param}': expected Unix seconds (a number), but got "
            f"{type(value).__name__}.",
            param=param,
            code="invalid_type",
        )
    if not math.isfinite(value):  # `since=nan` would match nothing, `inf` everything
        raise BadRequestError(
            f"Invalid '{param}': {value}. Expected Unix seconds (a finite number).",
            param=param,
            code="invalid_value",
        )
    return float(value)


def check_span_filter(
    *,
    trace_id: object = None,
    session_id: object = None,
    user_id: object = None,
    tag: object = None,
    kind: object = None,
    since: object = None,
    until: object = None,
    run_id: object = None,
) -> SpanFilter:
    """The filters of `spans.list`, validated (OpenAI's 400 wording, naming the field)."""
    strings: dict[str, str | None] = {}
    for name, value in (
        ("session_id", session_id),
        ("user_id", user_id),
        ("tag", tag),
        ("run_id", run_id),
    ):
        strings[name] = None if value is None else v.string(value, name, max_length=256)
    if kind is not None and kind not in sp.KINDS:
        raise v.invalid_value("kind", kind, list(sp.KINDS))
    return SpanFilter(
        trace_id=None if trace_id is None else sp.check_trace_id(trace_id),
        kind=None if kind is None else str(kind),
        since=None if since is None else _time(since, "since"),
        until=None if until is None else _time(until, "until"),
        **strings,
    )


def _given(value: Any) -> Any:
    return None if value is NOT_GIVEN else value


class AsyncSpans(Resource):
    def list(
        self,
        *,
        trace_id: str | NotGiven = NOT_GIVEN,
        session_id: str | NotGiven = NOT_GIVEN,
        user_id: str | NotGiven = NOT_GIVEN,
        tag: str | NotGiven = NOT_GIVEN,
        kind: str | NotGiven = NOT_GIVEN,
        run_id: str | NotGiven = NOT_GIVEN,
        since: float | NotGiven = NOT_GIVEN,
        until: float | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        after: str | NotGiven = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[Span]:
        """List spans, newest first, filtered by trace, session, user, tag, kind, run or start
        time (`since` inclusive, `until` exclusive, Unix seconds)."""
        where = check_span_filter(
            trace_id=_given(trace_id),
            session_id=_given(session_id),
            user_id=_given(user_id),
            tag=_given(tag),
            kind=_given(kind),
            run_id=_given(run_id),
            since=_given(since),
            until=_given(until),
        )
        lim, _, first_after, _ = v.list_params(_given(limit), None, _given(after), None)
        if first_after is not None:
            sp.check_span_id(first_after, "after")

        async def fetch(cursor: str | None) -> ListPage[Span]:
            await (await self._tracer()).flush()
            store = await self._store()
            return await store.spans.list(
                self._project, where, limit=lim, after=cursor if cursor is not None else first_after
            )

        return AsyncPaginator(fetch)

    async def retrieve(
        self,
        span_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Span:
        """Retrieve a span by id (`sp_` + 16 hex digits)."""
        sp.check_span_id(span_id)
        await (await self._tracer()).flush()
        store = await self._store()
        return await store.spans.get(self._project, span_id)


class AsyncTraces(Resource):
    async def retrieve(
        self,
        trace_id: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Trace:
        """A trace's spans as a tree (roots in `spans`, each with `children`), with its total
        tokens, cost and duration."""
        sp.check_trace_id(trace_id)
        await (await self._tracer()).flush()
        store = await self._store()
        return await store.spans.trace(self._project, trace_id)
