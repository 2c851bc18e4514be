"""Spans: a run's root span, its model calls, the reading API, trace fields and bad input."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pytest

from assistants import AsyncClient
from assistants.errors import BadRequestError, NotFoundError
from assistants.testing import ScriptedModel
from runtime.providers.base import ProviderCallError
from runtime.tracing import WRITE_CHUNK
from store.span_types import SpanEnd, SpanRecord
from store.store import Store
from tests.conftest import WEATHER_TOOL
from tests.helpers import tool_round_trip

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def traced(database_url: str) -> AsyncIterator[AsyncClient]:
    """A client with its worker, tracing on (the default)."""
    async with AsyncClient(
        database_url=database_url,
        poll_seconds=0.05,
        prices={"test": {"prompt": 1, "completion": 2}},
    ) as c:
        yield c


async def _tool_round_trip(client: AsyncClient, **trace: Any) -> str:
    """Run the test model through one tool call and its output; returns the run's id."""
    return (await tool_round_trip(client, **trace)).id


async def test_run__root_and_model_spans_form_a_tree(traced: AsyncClient) -> None:
    """A run with a tool round trip is a root span with its model calls, tokens and cost."""
    run_id = await _tool_round_trip(traced, tags=["prod", "weather"], user_id="u_1")
    run = await traced.threads.runs.retrieve(
        run_id, thread_id=(await traced.spans.list(run_id=run_id)).data[0].thread_id or ""
    )
    trace_id = run.trace_id
    assert trace_id is not None
    assert trace_id.startswith("tr_")
    trace = await traced.traces.retrieve(trace_id)
    (root,) = trace.spans
    assert root["kind"] == "run"
    assert root["id"] == run.span_id
    assert root["status"] == "completed"
    assert root["tags"] == ["prod", "weather"]
    assert root["user_id"] == "u_1"
    assert run.usage is not None
    assert root["usage"] == run.usage.to_dict()
    assert root["duration_ms"] is not None
    assert root["duration_ms"] >= 0
    models = [c for c in root["children"] if c["kind"] == "model"]
    assert len(models) == 2
    first, second = models
    assert first["output"]["tool_calls"][0]["name"] == "get_weather"
    assert first["input"][-1] == {"role": "user", "content": "Weather in Paris?"}
    assert "sunny, 21C" in second["output"]["text"]
    for span in models:
        assert span["status"] == "completed"
        assert span["model"] == "test"
        assert span["provider"] == "test"
        assert span["usage"]["total_tokens"] > 0
        assert span["cost"] == pytest.approx(
            (span["usage"]["prompt_tokens"] + 2 * span["usage"]["completion_tokens"]) / 1e6
        )
        assert span["time_to_first_token_ms"] is not None
        assert span["tags"] == ["prod", "weather"]
        assert span["run_id"] == run_id
    (tool,) = [c for c in root["children"] if c["kind"] == "tool"]
    assert tool["name"] == "execute_tool get_weather"
    assert tool["status"] == "completed"
    assert tool["input"] == {"arguments": first["output"]["tool_calls"][0]["arguments"]}
    assert tool["output"] == {"output": "sunny, 21C"}
    assert first["ended_at"] <= tool["started_at"] <= tool["ended_at"] <= second["started_at"]
    assert tool["metadata"]["tool_call_id"] == first["output"]["tool_calls"][0]["id"]
    assert trace.usage["total_tokens"] == sum(s["usage"]["total_tokens"] for s in models)
    assert trace.span_count == 4


async def test_spans_list__filters_and_pages(traced: AsyncClient) -> None:
    """`spans.list` filters by tag, user, session and kind, and pages newest first."""
    await _tool_round_trip(traced, tags=["a"], session_id="s_1")
    await _tool_round_trip(traced, tags=["b"], user_id="u_2")
    by_tag = (await traced.spans.list(tag="a")).data
    assert len(by_tag) == 4
    assert all(s.tags == ["a"] for s in by_tag)
    assert {s.session_id for s in by_tag} == {"s_1"}
    assert len((await traced.spans.list(user_id="u_2")).data) == 4
    assert len((await traced.spans.list(session_id="s_1", kind="run")).data) == 1
    first = await traced.spans.list(limit=4)
    assert len(first.data) == 4
    assert first.has_more
    rest = await traced.spans.list(limit=5, after=first.data[-1].id)
    assert len(rest.data) == 4
    assert not rest.has_more
    seen = [s.id for s in first.data] + [s.id for s in rest.data]
    assert len(set(seen)) == 8
    assert (await traced.spans.retrieve(seen[0])).id == seen[0]
    assert (await traced.spans.list(since=first.data[0].started_at + 1)).data == []


async def test_send_trace_false__stores_nothing_but_returns_ids(traced: AsyncClient) -> None:
    """`send_trace=False` keeps a run's spans out of the store; the run still has a trace id."""
    run_id = await _tool_round_trip(traced, send_trace=False)
    assert (await traced.spans.list(run_id=run_id)).data == []
    assert (await traced.spans.list()).data == []


async def test_store_content_false__keeps_timings_not_content(traced: AsyncClient) -> None:
    """`store_content=False` keeps tokens and timings but not what the model saw or said."""
    run_id = await _tool_round_trip(traced, store_content=False)
    spans = (await traced.spans.list(run_id=run_id, kind="model")).data
    spans += (await traced.spans.list(run_id=run_id, kind="tool")).data
    assert len(spans) == 3
    for span in spans:
        assert span.input is None
        assert span.output is None
        assert span.ended_at is not None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tags": ["x"] * 10_000}, "tags"),
        ({"tags": ["x" * 1_000_000]}, "tags[0]"),
        ({"tags": "prod"}, "tags"),
        ({"user_id": 5}, "user_id"),
        ({"session_id": "s" * 300}, "session_id"),
        ({"send_trace": "no"}, "send_trace"),
    ],
)
async def test_trace_fields__bad_values_are_400s(
    traced: AsyncClient, body: dict[str, object], param: str
) -> None:
    """Oversized or mistyped trace fields are refused, naming the field; nothing is created."""
    assistant = await traced.assistants.create(model="test")
    thread = await traced.threads.create()
    with pytest.raises(BadRequestError) as info:
        await traced.threads.runs.create(thread.id, assistant_id=assistant.id, extra_body=body)
    assert info.value.param == param
    assert param.split("[", maxsplit=1)[0] in info.value.message
    assert (await traced.threads.runs.list(thread.id)).data == []


async def test_reading__malformed_and_unknown_ids(traced: AsyncClient) -> None:
    """Malformed ids are 400s naming the field and the format; unknown ones 404s."""
    with pytest.raises(BadRequestError, match="'sp_' followed by 16") as info:
        await traced.spans.retrieve("span_1")
    assert info.value.param == "span_id"
    with pytest.raises(BadRequestError, match="'tr_' followed by 32") as info:
        await traced.traces.retrieve("tr_xyz")
    assert info.value.param == "trace_id"
    with pytest.raises(BadRequestError) as info:
        await traced.spans.list(trace_id="nope")
    assert info.value.param == "trace_id"
    with pytest.raises(BadRequestError) as info:
        await traced.spans.list(kind="banana")
    assert info.value.param == "kind"
    with pytest.raises(NotFoundError):
        await traced.spans.retrieve("sp_0123456789abcdef")
    with pytest.raises(NotFoundError):
        await traced.traces.retrieve("tr_" + "0" * 32)


async def test_spans__scoped_by_project(traced: AsyncClient) -> None:
    """Another project sees none of this project's spans or traces (404, empty lists)."""
    run_id = await _tool_round_trip(traced)
    span = (await traced.spans.list(run_id=run_id, kind="run")).data[0]
    other = traced.for_project("other")
    assert (await other.spans.list()).data == []
    with pytest.raises(NotFoundError):
        await other.spans.retrieve(span.id)
    with pytest.raises(NotFoundError):
        await other.traces.retrieve(span.trace_id)


async def test_unknown_parent__is_accepted_as_a_root(traced: AsyncClient) -> None:
    """A span whose parent lives elsewhere is stored and shown as a root of its trace."""
    store = await traced.store()
    await store.spans.write(
        [
            SpanRecord(
                id="sp_00000000000000aa",
                project="default",
                trace_id="tr_" + "1" * 32,
                parent_span_id="sp_ffffffffffffffff",
                kind="completion",
                name="chat test",
                status="completed",
                started_at=1.0,
                ended_at=2.0,
            )
        ]
    )
    trace = await traced.traces.retrieve("tr_" + "1" * 32)
    assert [s["id"] for s in trace.spans] == ["sp_00000000000000aa"]
    assert trace.duration_ms == 1000.0


async def test_full_queue__drops_spans_with_a_counter_never_blocks(
    database_url: str,
) -> None:
    """A full span buffer drops new spans (counted, warned); the run completes regardless."""
    async with AsyncClient(
        database_url=database_url, poll_seconds=0.05, trace_queue_size=1, trace_flush_seconds=5
    ) as client:
        with anyio.fail_after(10):
            await _tool_round_trip(client)
        tracer = await client._ctx.tracer()
        assert tracer.dropped >= 1
        assert len((await client.spans.list()).data) == 1


async def test_run_with_fallback__failed_model_is_a_span_of_its_own(database_url: str) -> None:
    """A run whose first model fails shows that call (failed, with its error) and the fallback
    that answered (listing what failed before it) under the run's root."""
    down = ScriptedModel([ProviderCallError("upstream is down (503)")], name="down")
    async with AsyncClient(
        database_url=database_url, poll_seconds=0.05, providers={"down": down}
    ) as client:
        assistant = await client.assistants.create(model="down", extra_body={"fallbacks": ["test"]})
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi there"}])
        run = await client.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.status == "completed"
        assert run.trace_id is not None
        trace = await client.traces.retrieve(run.trace_id)
        (root,) = trace.spans
        failed, answered = root["children"]
        assert failed["status"] == "failed"
        assert failed["model"] == "down"
        assert failed["error"] == {"code": "server_error", "message": "upstream is down (503)"}
        assert answered["status"] == "completed"
        assert answered["model"] == "test"
        assert answered["requested_model"] == "down"
        assert answered["fallbacks"] == [
            {"model": "down", "code": "server_error", "error": "upstream is down (503)"}
        ]


async def test_completion__a_span_per_call_with_fallbacks(traced: AsyncClient) -> None:
    """Each chat completion is a `completion` span in the caller's trace, under the caller's
    parent span, with the failed fallback listed, tokens, cost and latency."""
    trace_id = "tr_" + "ab" * 16
    answer = await traced.chat.completions.create(
        model="test",
        messages=[{"role": "user", "content": "Hello"}],
        trace_id=trace_id,
        parent_span_id="sp_00000000000000ff",
        tags=["chat"],
        session_id="s_9",
    )
    span = await traced.spans.retrieve(answer.span_id or "")
    assert span.kind == "completion"
    assert span.trace_id == trace_id
    assert span.parent_span_id == "sp_00000000000000ff"
    assert span.status == "completed"
    assert span.usage is not None
    assert span.usage["total_tokens"] > 0
    assert span.cost is not None
    assert span.duration_ms is not None
    assert span.input == [{"role": "user", "content": "Hello"}]
    assert "Hello" in span.output[0]["content"]
    trace = await traced.traces.retrieve(trace_id)
    assert [s["id"] for s in trace.spans] == [span.id]
    hidden = await traced.chat.completions.create(
        model="test", messages=[{"role": "user", "content": "x"}], send_trace=False
    )
    with pytest.raises(NotFoundError):
        await traced.spans.retrieve(hidden.span_id or "")
    private = await traced.chat.completions.create(
        model="test",
        messages=[{"role": "user", "content": "x"}],
        extra_body={"store_content": False},
    )
    kept = await traced.spans.retrieve(private.span_id or "")
    assert kept.input is None
    assert kept.output is None


async def test_completion__group_id_and_store_content_as_keywords(traced: AsyncClient) -> None:
    """`group_id` and `store_content` are keyword arguments like the other trace fields: the
    span carries the group and no content, and the answer echoes both."""
    answer = await traced.chat.completions.create(
        model="test",
        messages=[{"role": "user", "content": "Hello"}],
        group_id="experiment-7",
        store_content=False,
        user_id="u_2",
    )
    assert answer.to_dict()["group_id"] == "experiment-7"
    assert answer.to_dict()["store_content"] is False
    span = await traced.spans.retrieve(answer.span_id or "")
    assert span.group_id == "experiment-7"
    assert span.user_id == "u_2"
    assert span.input is None
    assert span.output is None
    assert [s.id for s in (await traced.spans.list(user_id="u_2")).data] == [span.id]


@pytest.mark.parametrize(
    ("group_id", "wording"),
    [
        ("", "empty string"),
        ("g" * 257, "string too long"),
        (7, "expected a string"),
    ],
)
async def test_completion__bad_group_id_is_a_400(
    traced: AsyncClient, group_id: Any, wording: str
) -> None:
    """A completion's `group_id` is a non-empty string of at most 256 characters."""
    with pytest.raises(BadRequestError, match=wording) as info:
        await traced.chat.completions.create(
            model="test", messages=[{"role": "user", "content": "x"}], group_id=group_id
        )
    assert info.value.param == "group_id"
    assert (await traced.spans.list(kind="completion")).data == []


async def test_completion__fallback_recorded_on_the_span(database_url: str) -> None:
    """A completion whose first model fails records the failure on its span."""
    down = ScriptedModel([ProviderCallError("upstream is down (503)")], name="down")
    async with AsyncClient(
        database_url=database_url, worker=False, providers={"down": down}
    ) as client:
        answer = await client.chat.completions.create(
            model="down", messages=[{"role": "user", "content": "hi"}], fallbacks=["test"]
        )
        span = await client.spans.retrieve(answer.span_id or "")
        assert span.model == "test"
        assert span.requested_model == "down"
        assert span.fallbacks == [
            {"model": "down", "code": "provider_error", "error": "upstream is down (503)"}
        ]


async def test_completion__malformed_trace_id_is_a_400(traced: AsyncClient) -> None:
    """A completion's `trace_id` must be `tr_` + 32 hex digits (the 400 names both)."""
    with pytest.raises(BadRequestError, match="'tr_' followed by 32") as info:
        await traced.chat.completions.create(
            model="test", messages=[{"role": "user", "content": "x"}], trace_id="t1"
        )
    assert info.value.param == "trace_id"


async def test_retention__prunes_spans_older_than_the_setting(database_url: str) -> None:
    """With `trace_retention_days`, spans that started before the window are deleted, newer
    ones kept, in every project."""
    client = AsyncClient(database_url=database_url, worker=False, trace_retention_days=1)
    try:
        store = await client.store()
        now = time.time()
        await store.spans.write(
            [
                SpanRecord(
                    id=f"sp_{i:016x}",
                    project=project,
                    trace_id="tr_" + "2" * 32,
                    kind="completion",
                    name="chat test",
                    status="completed",
                    started_at=started,
                )
                for i, (project, started) in enumerate(
                    [("default", now - 2 * 86400), ("other", now - 3 * 86400), ("default", now)]
                )
            ]
        )
        tracer = await client._ctx.tracer()
        assert await tracer.prune_expired() == 2
        assert [s.id for s in (await client.spans.list()).data] == [f"sp_{2:016x}"]
        assert (await client.for_project("other").spans.list()).data == []
    finally:
        await client.aclose()


async def test_tool_span__end_written_before_its_opening_is_completed_later(
    store: Store,
) -> None:
    """A tool output taken by one process may be stored before the worker (another process)
    writes the span it opened: the end stores the span, and the opening then fills in the
    name, start and arguments without reopening it."""

    def tool(name: str, started: float, **more: Any) -> SpanRecord:
        return SpanRecord(
            id="sp_00000000000000bb",
            project="default",
            trace_id="tr_" + "3" * 32,
            parent_span_id="sp_00000000000000aa",
            kind="tool",
            name=name,
            status="in_progress",
            started_at=started,
            metadata={"tool_call_id": "call_1"},
            **more,
        )

    closing = tool("execute_tool", 20.0)
    await store.spans.write(
        [SpanEnd("sp_00000000000000bb", 20.0, "completed", {"output": "ok"}, span=closing)]
    )
    await store.spans.write([tool("execute_tool get_weather", 12.5, input={"arguments": "{}"})])
    span = await store.spans.get("default", "sp_00000000000000bb")
    assert span.name == "execute_tool get_weather"
    assert span.status == "completed"
    assert span.started_at == 12.5
    assert span.ended_at == 20.0
    assert span.duration_ms == 7500.0
    assert span.input == {"arguments": "{}"}
    assert span.output == {"output": "ok"}


async def test_tool_span__cancelled_while_waiting_ends_with_the_run(traced: AsyncClient) -> None:
    """A run cancelled while it waits for tool outputs: its open tool span shows `cancelled`,
    ended when the run was; the root shows the run's `cancelled`."""
    assistant = await traced.assistants.create(model="test", tools=[WEATHER_TOOL])
    thread = await traced.threads.create(messages=[{"role": "user", "content": "Weather?"}])
    run = await traced.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    run = await traced.threads.runs.cancel(run.id, thread_id=thread.id)
    assert run.status == "cancelled"
    assert run.trace_id is not None
    (root,) = (await traced.traces.retrieve(run.trace_id)).spans
    assert root["status"] == "cancelled"
    assert root["ended_at"] is not None
    (tool,) = [c for c in root["children"] if c["kind"] == "tool"]
    assert tool["status"] == "cancelled"
    assert tool["ended_at"] is not None
    assert root["duration_ms"] >= 0
    assert tool["duration_ms"] >= 0


async def test_run__joins_the_callers_trace_under_its_parent(traced: AsyncClient) -> None:
    """A run given `trace_id`, `parent_span_id` and `group_id` puts its root in that trace
    under that parent (stored elsewhere: shown as a root), its metadata on the root, and the
    group on every span; malformed ids are 400s naming the field and the format."""
    trace_id = "tr_" + "c" * 32
    run_id = await _tool_round_trip(
        traced,
        trace_id=trace_id,
        parent_span_id="sp_00000000000000cc",
        group_id="g-7",
        metadata={"ticket": "T-1"},
    )
    trace = await traced.traces.retrieve(trace_id)
    (root,) = trace.spans
    assert root["run_id"] == run_id
    assert root["parent_span_id"] == "sp_00000000000000cc"
    assert root["metadata"] == {"ticket": "T-1"}
    assert {s["group_id"] for s in [root, *root["children"]]} == {"g-7"}
    assistant = await traced.assistants.create(model="test")
    thread = await traced.threads.create()
    for body, param, wording in (
        ({"trace_id": "abc"}, "trace_id", "'tr_' followed by 32"),
        ({"parent_span_id": "sp_1"}, "parent_span_id", "'sp_' followed by 16"),
        ({"group_id": 7}, "group_id", "expected a string"),
    ):
        with pytest.raises(BadRequestError, match=wording) as info:
            await traced.threads.runs.create(thread.id, assistant_id=assistant.id, extra_body=body)
        assert info.value.param == param


async def test_flush__writes_a_large_batch_in_order_chunk_by_chunk(database_url: str) -> None:
    """A flush of 2.5 chunks' worth of spans, each ended later in the same queue, stores every
    span with its end, and hands the exporters one chunk at a time, in queue order."""
    client = AsyncClient(database_url=database_url, worker=False)
    try:
        tracer = await client._ctx.tracer()
        exported: list[list[str]] = []

        class Recorder:
            def export(self, items: Sequence[SpanRecord | SpanEnd]) -> None:
                exported.append([i.id for i in items])

            def shutdown(self) -> None:
                pass

        tracer.exporters.append(Recorder())
        count = WRITE_CHUNK * 2 + WRITE_CHUNK // 2
        ids = [f"sp_{i:016x}" for i in range(count)]
        for i, span_id in enumerate(ids):
            tracer.record(
                SpanRecord(
                    id=span_id,
                    project="default",
                    trace_id="tr_" + "3" * 32,
                    kind="completion",
                    name="chat test",
                    status="in_progress",
                    started_at=1000.0 + i,
                )
            )
        for span_id in ids:
            tracer.record(SpanEnd(id=span_id, ended_at=5000.0, status="completed"))
        await tracer.flush()
        assert [len(batch) for batch in exported] == [WRITE_CHUNK] * 5
        assert [i for batch in exported for i in batch] == ids + ids
        assert tracer.written == 2 * count
        assert tracer.failed == 0
        trace = await client.traces.retrieve("tr_" + "3" * 32)
        assert sorted(s["id"] for s in trace.spans) == ids
        assert {s["status"] for s in trace.spans} == {"completed"}
    finally:
        await client.aclose()
