"""A thread's trace fields (`tags`, `user_id`, `session_id`): kept and returned by the thread,
inherited by its runs for the fields a run leaves out, and carried by every span of those runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from assistants import AsyncClient, Client
from assistants.errors import BadRequestError

pytestmark = pytest.mark.timeout(30)

TRACE: dict[str, Any] = {"tags": ["support", "eu"], "user_id": "user_1", "session_id": "sess_1"}


@pytest.fixture
async def traced(database_url: str) -> AsyncIterator[AsyncClient]:
    """A client with its worker, tracing on (the default)."""
    async with AsyncClient(database_url=database_url, poll_seconds=0.05) as c:
        yield c


def _trace_of(obj: Any) -> dict[str, Any]:
    data = obj.to_dict()
    return {k: data[k] for k in ("tags", "user_id", "session_id") if k in data}


async def _span_fields(client: AsyncClient, run_id: str) -> list[dict[str, Any]]:
    spans = (await client.spans.list(run_id=run_id)).data
    assert {s.kind for s in spans} == {"run", "model"}
    return [{"tags": s.tags, "user_id": s.user_id, "session_id": s.session_id} for s in spans]


async def test_thread__keeps_and_returns_its_trace_fields(traced: AsyncClient) -> None:
    """Create, retrieve and update show the trace fields; an update replaces the ones given,
    None removes one, and the others stay."""
    thread = await traced.threads.create(
        messages=[{"role": "user", "content": "hi"}], tags=["support", "eu"], user_id="user_1"
    )
    assert _trace_of(thread) == {"tags": ["support", "eu"], "user_id": "user_1"}
    assert _trace_of(await traced.threads.retrieve(thread.id)) == _trace_of(thread)
    plain = await traced.threads.create()
    assert _trace_of(plain) == {}

    updated = await traced.threads.update(thread.id, session_id="sess_1", user_id=None)
    assert _trace_of(updated) == {"tags": ["support", "eu"], "session_id": "sess_1"}
    updated = await traced.threads.update(thread.id, extra_body={"tags": ["vip"]})
    assert _trace_of(updated) == {"tags": ["vip"], "session_id": "sess_1"}
    updated = await traced.threads.update(thread.id, metadata={"k": "v"})
    assert _trace_of(updated) == {"tags": ["vip"], "session_id": "sess_1"}
    assert _trace_of(await traced.threads.retrieve(thread.id)) == _trace_of(updated)


async def test_run__inherits_the_threads_trace_fields(traced: AsyncClient) -> None:
    """A run that sets no trace fields takes the thread's; the run and every span show them."""
    assistant = await traced.assistants.create(model="test")
    thread = await traced.threads.create(
        messages=[{"role": "user", "content": "hi"}], extra_body=TRACE
    )
    run = await traced.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert _trace_of(run) == TRACE
    assert await _span_fields(traced, run.id) == [TRACE, TRACE]


async def test_run__its_own_fields_override_the_threads(traced: AsyncClient) -> None:
    """A run's own `tags` and `user_id` win; the `session_id` it leaves out is the thread's.
    A later change to the thread leaves runs already created as they were."""
    assistant = await traced.assistants.create(model="test")
    thread = await traced.threads.create(
        messages=[{"role": "user", "content": "hi"}],
        tags=["support", "eu"],
        user_id="user_1",
        session_id="sess_1",
    )
    run = await traced.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tags=["batch"], user_id="user_2"
    )
    mixed = {"tags": ["batch"], "user_id": "user_2", "session_id": "sess_1"}
    assert _trace_of(run) == mixed
    assert await _span_fields(traced, run.id) == [mixed, mixed]
    await traced.threads.update(thread.id, session_id="sess_2")
    again = await traced.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert _trace_of(again) == mixed
    later = await traced.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert _trace_of(later) == {**TRACE, "session_id": "sess_2"}


async def test_create_and_run__the_new_threads_fields_reach_the_run(traced: AsyncClient) -> None:
    """create_and_run's `thread` takes the trace fields: the thread keeps them and the run
    inherits those it does not set itself."""
    assistant = await traced.assistants.create(model="test")
    run = await traced.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "hi"}], **TRACE},
        session_id="sess_run",
    )
    assert run.status == "completed"
    expected = {**TRACE, "session_id": "sess_run"}
    assert _trace_of(run) == expected
    assert _trace_of(await traced.threads.retrieve(run.thread_id)) == TRACE
    assert await _span_fields(traced, run.id) == [expected, expected]


@pytest.mark.parametrize(
    ("body", "param", "wording"),
    [
        ({"tags": "prod"}, "tags", "expected an array of strings, but got str"),
        ({"tags": ["x"] * 10_000}, "tags", "array too long"),
        ({"tags": [""]}, "tags[0]", "expected a non-empty string"),
        ({"tags": [7]}, "tags[0]", "expected a string, but got int"),
        ({"user_id": 5}, "user_id", "expected a string, but got int"),
        ({"session_id": "s" * 300}, "session_id", "string too long"),
        ({"group_id": "g"}, "group_id", "Unrecognized request argument supplied"),
    ],
)
async def test_bad_trace_fields__400s_naming_the_field(
    traced: AsyncClient, body: dict[str, Any], param: str, wording: str
) -> None:
    """Create and update refuse a bad trace field with the runs' limits and wording, naming
    it; the failed update changes nothing. In create_and_run the name is `thread.<field>`."""
    with pytest.raises(BadRequestError, match=wording) as info:
        await traced.threads.create(extra_body=body)
    assert info.value.param == param
    thread = await traced.threads.create(extra_body=TRACE)
    with pytest.raises(BadRequestError, match=wording) as info:
        await traced.threads.update(thread.id, metadata={"k": "v"}, extra_body=body)
    assert info.value.param == param
    unchanged = await traced.threads.retrieve(thread.id)
    assert _trace_of(unchanged) == TRACE
    assert unchanged.metadata == {}
    assistant = await traced.assistants.create(model="test")
    with pytest.raises(BadRequestError, match=wording) as info:
        await traced.threads.create_and_run(assistant_id=assistant.id, thread=body)
    assert info.value.param == f"thread.{param}"


def test_sync_client__thread_trace_fields_reach_the_spans() -> None:
    """The blocking client takes the same keywords, and its runs inherit them."""
    with Client(database_url="sqlite+aiosqlite:///:memory:", poll_seconds=0.05) as client:
        assistant = client.assistants.create(model="test")
        thread = client.threads.create(
            messages=[{"role": "user", "content": "hi"}], tags=["sync"], user_id="user_s"
        )
        thread = client.threads.update(thread.id, session_id="sess_s")
        assert _trace_of(thread) == {"tags": ["sync"], "user_id": "user_s", "session_id": "sess_s"}
        run = client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert _trace_of(run) == _trace_of(thread)
        spans = client.spans.list(run_id=run.id).data
        assert spans
        assert all(
            (s.tags, s.user_id, s.session_id) == (["sync"], "user_s", "sess_s") for s in spans
        )
