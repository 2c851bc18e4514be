"""Streaming through `openai.AsyncOpenAI` and `AsyncAssistantEventHandler`.

asyncio only: on trio, the SDK's `AsyncStream` stops at `[DONE]` without closing its inner
`_iter_events` async generator, and trio's finalizer turns that into a `ResourceWarning` (an
error here). That is the SDK's, not the server's; the non-streaming async tests run on both.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from tests.conformance.conftest import LiveServer
from tests.conformance.support import (
    TIME,
    WEATHER,
    AsyncRecorder,
    check_text_stream,
    check_tool_pause,
    collapse,
    echo_outputs,
    expected_text_run,
    function_calls,
    serve,
    text_of,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


BOUND = 20  # seconds: a hung stream fails the test instead of the session


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("astream")) as live:
        yield live


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with server.async_sdk() as sdk:
        yield sdk


async def paused_thread(client: openai.AsyncOpenAI) -> tuple[str, str]:
    assistant = await client.beta.assistants.create(model="test", tools=[WEATHER, TIME])
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "get_weather and get_time"}]
    )
    return assistant.id, thread.id


async def test_stream__pause_then_submit_stream(client: openai.AsyncOpenAI) -> None:
    """runs.stream up to requires_action, then submit_tool_outputs_stream to completion."""
    assistant, thread = await paused_thread(client)
    with anyio.fail_after(BOUND):
        rec = AsyncRecorder()
        async with client.beta.threads.runs.stream(
            thread_id=thread, assistant_id=assistant, event_handler=rec
        ) as stream:
            assert stream is rec
            await stream.until_done()
        run = await rec.get_final_run()
        check_tool_pause(rec, run)
        with pytest.raises(RuntimeError, match="No messages found"):
            await rec.get_final_messages()
        (step,) = await rec.get_final_run_steps()
        assert step.type == "tool_calls"

        cont = AsyncRecorder()
        async with client.beta.threads.runs.submit_tool_outputs_stream(
            thread_id=thread, run_id=run.id, tool_outputs=echo_outputs(run), event_handler=cont
        ) as stream:
            await stream.until_done()
    assert collapse(cont.events) == ["thread.run.step.completed", *expected_text_run()[1:]]
    text = "Tool results: get_weather-ok; get_time-ok"
    check_text_stream(cont, text, prefix=["on_run_step_done"])
    assert (await cont.get_final_run()).status == "completed"
    (message,) = await cont.get_final_messages()
    assert text_of(message) == text
    (reply_step,) = await cont.get_final_run_steps()
    assert reply_step.type == "message_creation"


async def test_create_and_run_stream(client: openai.AsyncOpenAI) -> None:
    """create_and_run_stream: thread.created first, then a complete text run."""
    assistant = await client.beta.assistants.create(model="test")
    rec = AsyncRecorder()
    with anyio.fail_after(BOUND):
        async with client.beta.threads.create_and_run_stream(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "async hello"}]},
            event_handler=rec,
        ) as stream:
            await stream.until_done()
    assert collapse(rec.events) == ["thread.created", *expected_text_run()]
    check_text_stream(rec, "You said: async hello")
    run = await rec.get_final_run()
    assert run.status == "completed"
    (message,) = await rec.get_final_messages()
    assert message.thread_id == run.thread_id


async def test_text_deltas_and_default_handler(client: openai.AsyncOpenAI) -> None:
    """The default async handler: `text_deltas` joins to the final message."""
    assistant = await client.beta.assistants.create(model="test")
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "a b c"}])
    with anyio.fail_after(BOUND):
        async with client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id
        ) as stream:
            text = "".join([delta async for delta in stream.text_deltas])
            assert text == "You said: a b c"
            assert (await stream.get_final_run()).status == "completed"


async def test_raw_streams(client: openai.AsyncOpenAI) -> None:
    """Raw async iteration of runs.create, submit_tool_outputs and create_and_run streams."""
    assistant, thread = await paused_thread(client)
    with anyio.fail_after(BOUND):
        stream = await client.beta.threads.runs.create(thread, assistant_id=assistant, stream=True)
        events = [event async for event in stream]
        assert events[-1].event == "thread.run.requires_action"
        run = events[-1].data
        assert len(function_calls(run)) == 2

        stream = await client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread, tool_outputs=echo_outputs(run), stream=True
        )
        names = [event.event async for event in stream]
        assert collapse(names) == ["thread.run.step.completed", *expected_text_run()[1:]]

        stream = await client.beta.threads.create_and_run(
            assistant_id=assistant,
            thread={"messages": [{"role": "user", "content": "nothing to call"}]},
            tools=[],
            stream=True,
        )
        names = [event.event async for event in stream]
        assert collapse(names) == ["thread.created", *expected_text_run()]
