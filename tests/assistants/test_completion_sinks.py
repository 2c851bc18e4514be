"""The completions engine's observers: plain and async sinks, and the span of a client's first
call before its store is open."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from structlog.testing import capture_logs

from assistants import AsyncClient
from runtime.completions import FinishedCall

pytestmark = [pytest.mark.timeout(30), pytest.mark.anyio]

USER = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
async def chat() -> AsyncIterator[AsyncClient]:
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        yield client


async def test_sink__a_plain_function_hears_each_call_and_one_that_raises_is_logged(
    chat: AsyncClient,
) -> None:
    seen: list[FinishedCall] = []

    def broken(call: FinishedCall) -> None:
        raise RuntimeError("observer down")

    engine = chat.chat.completions._ctx.completions
    engine.add_sink(broken)
    engine.add_sink(seen.append)
    with capture_logs() as logs:
        answer = await chat.chat.completions.create(model="test", messages=USER)
    assert [(c.span_id, c.status) for c in seen] == [(answer.span_id, "completed")]
    failures = [e for e in logs if e["event"] == "completion_sink_failed"]
    assert [e["error"] for e in failures] == ["RuntimeError: observer down"]


async def test_sink__an_async_one_finishes_though_the_caller_is_cancelled_meanwhile(
    chat: AsyncClient,
) -> None:
    """What an async sink awaits is shielded: cancelling the caller while the sink waits does
    not cut the sink short, and the record is kept."""
    entered, release = anyio.Event(), anyio.Event()
    seen: list[str] = []

    async def slow(call: FinishedCall) -> None:
        entered.set()
        await release.wait()
        seen.append(call.status)

    chat.chat.completions._ctx.completions.add_sink(slow)

    async def caller(scope: anyio.CancelScope) -> None:
        with scope:
            await chat.chat.completions.create(model="test", messages=USER)

    scope = anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller, scope)
        await entered.wait()
        scope.cancel()
        release.set()
    assert seen == ["completed"]


async def test_span__a_clients_first_call_opens_the_store_for_its_span() -> None:
    """Without `async with`, the store opens on first use: the first completion's span is kept."""
    client = AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False)
    try:
        assert client._ctx._tracer is None
        answer = await client.chat.completions.create(model="test", messages=USER)
        span = await client.spans.retrieve(answer.span_id or "")
        assert (span.kind, span.status) == ("completion", "completed")
    finally:
        await client.aclose()
