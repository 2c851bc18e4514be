"""Run streams through the client: order, shapes, resume, handlers (ours and the SDK's), faults."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from assistants import AsyncClient, BadRequestError
from assistants.streaming import AsyncAssistantEventHandler
from assistants.testing import FunctionModel, ModelRequest, ScriptedModel, tool_call
from runtime.providers.base import Chunk, ProviderCallError, TextDelta
from tests.conftest import WEATHER_TOOL
from tests.helpers import other_task_turns

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

F_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
G_TOOL = {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}}
TEXT_RUN = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]
TEXT_END = ["thread.message.completed", "thread.run.step.completed", "thread.run.completed"]


def _squash(names: list[str]) -> list[str]:
    """Names with runs of the same delta event collapsed (their count varies with the text)."""
    out: list[str] = []
    for name in names:
        if not (out and name == out[-1] and name.endswith(".delta")):
            out.append(name)
    return out


async def _events(stream: Any) -> list[Any]:
    return [event async for event in stream]


@asynccontextmanager
async def _answered_by(
    answer: Callable[[ModelRequest], AsyncIterator[Chunk]],
    database_url: str = "sqlite+aiosqlite:///:memory:",
) -> AsyncIterator[tuple[AsyncClient, str, str]]:
    """A client whose model `m` answers with `answer`, an assistant on that model and a thread
    holding one user message: `(client, assistant id, thread id)`."""
    async with AsyncClient(database_url=database_url, providers={"m": FunctionModel(answer)}) as c:
        assistant = await c.assistants.create(model="m")
        thread = await c.threads.create(messages=[{"role": "user", "content": "hi"}])
        yield c, assistant.id, thread.id


async def test_create_stream__text_run_in_the_contracts_order(live_client: AsyncClient) -> None:
    """`runs.create(stream=True)`: the canonical text-run sequence, contiguous seqs, full text."""
    assistant = await live_client.assistants.create(model="test")
    thread = await live_client.threads.create(
        messages=[{"role": "user", "content": "stream me please"}]
    )
    with anyio.fail_after(10):
        events = await _events(
            await live_client.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
        )
    names = [e.event for e in events]
    assert _squash(names) == [*TEXT_RUN, "thread.message.delta", *TEXT_END]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    created = events[5].data
    assert created.content == []
    deltas = [e.data.delta.content[0] for e in events if e.event == "thread.message.delta"]
    assert len(deltas) >= 3
    assert deltas[0].text.annotations == []
    assert all(d.text.annotations is None for d in deltas[1:])
    text = "".join(d.text.value for d in deltas)
    completed = events[-3].data
    assert completed.content[0].text.value == text
    assert "stream me please" in text
    stored = await live_client.threads.messages.retrieve(completed.id, thread_id=thread.id)
    assert stored.to_dict() == completed.to_dict()


async def test_tool_run_stream_then_submit_stream__contract_shapes(
    live_client: AsyncClient,
) -> None:
    """Tool deltas carry id/name once; the continuation starts with the step's completion."""
    assistant = await live_client.assistants.create(model="test", tools=[WEATHER_TOOL])
    thread = await live_client.threads.create(
        messages=[{"role": "user", "content": "get_weather now"}]
    )
    with anyio.fail_after(10):
        events = await _events(
            await live_client.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
        )
    names = _squash([e.event for e in events])
    assert names == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    assert events[3].data.step_details.tool_calls == []
    deltas = [
        e.data.delta.step_details.tool_calls[0]
        for e in events
        if e.event == "thread.run.step.delta"
    ]
    first, rest = deltas[0], deltas[1:]
    assert first.id is not None
    assert first.function.name == "get_weather"
    assert first.function.output is None
    assert rest
    assert all(d.id is None and d.function.name is None for d in rest)
    run = events[-1].data
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.arguments == "".join(d.function.arguments for d in deltas)
    with anyio.fail_after(10):
        tail = await _events(
            await live_client.threads.runs.submit_tool_outputs(
                run.id,
                thread_id=thread.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
                stream=True,
            )
        )
    names = _squash([e.event for e in tail])
    assert names[:3] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress"]
    assert "thread.run.created" not in names
    assert names[-1] == "thread.run.completed"
    assert tail[0].data.step_details.tool_calls[0].function.output == "sunny"
    assert tail[0].seq == events[-1].seq + 1


async def test_create_and_run_stream__starts_with_thread_created(live_client: AsyncClient) -> None:
    """`threads.create_and_run(stream=True)` begins with `thread.created` (the new thread)."""
    assistant = await live_client.assistants.create(model="test")
    with anyio.fail_after(10):
        stream = await live_client.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "hi"}]},
            stream=True,
        )
        events = await _events(stream)
    assert events[0].event == "thread.created"
    assert events[1].event == "thread.run.created"
    assert events[1].data.thread_id == events[0].data.id
    assert events[-1].event == "thread.run.completed"


async def test_stream_events__resume_and_late_attach_replay_identically(
    live_client: AsyncClient,
) -> None:
    """Resuming after any seq yields the rest exactly once; a late subscriber sees it all."""
    assistant = await live_client.assistants.create(model="test", tools=[F_TOOL])
    thread = await live_client.threads.create(messages=[{"role": "user", "content": "call f"}])
    with anyio.fail_after(10):
        live = await _events(
            await live_client.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
        )
        run = live[-1].data
        call = run.required_action.submit_tool_outputs.tool_calls[0]
        live += await _events(
            await live_client.threads.runs.submit_tool_outputs(
                run.id,
                thread_id=thread.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "o"}],
                stream=True,
            )
        )
        replay = await _events(await live_client.threads.runs.stream_events(thread.id, run.id))
        assert [e.to_dict() for e in replay] == [e.to_dict() for e in live]
        middle = live[len(live) // 2].seq
        resumed = await _events(
            await live_client.threads.runs.stream_events(thread.id, run.id, after=middle)
        )
    assert [e.seq for e in resumed] == [e.seq for e in live if e.seq > middle]
    last = live[-1].seq
    assert (
        await _events(await live_client.threads.runs.stream_events(thread.id, run.id, after=last))
        == []
    )
    for bad in (last + 1, -1):
        with pytest.raises(BadRequestError) as info:
            await live_client.threads.runs.stream_events(thread.id, run.id, after=bad)
        assert info.value.param == "after"


async def test_stream_events__a_reader_catching_up_lets_other_tasks_run(
    database_url: str,
) -> None:
    """Replaying a long log hands the loop back every few events, not once per page of 500."""

    async def many(request: ModelRequest) -> AsyncIterator[Chunk]:
        for i in range(150):
            yield TextDelta(f"w{i} ")

    async with _answered_by(many, database_url) as (client, assistant_id, thread_id):
        with anyio.fail_after(20):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread_id, assistant_id=assistant_id
            )
            assert run.status == "completed"
            async with other_task_turns() as turns:
                before = turns()
                stream = await client.threads.runs.stream_events(thread_id, run.id)
                events = [event async for event in stream]
                during = turns() - before
    assert events[-1].event == "thread.run.completed"
    assert len(events) > 150
    assert during >= len(events) // 32, (during, len(events))  # 0 when a page went in one step


async def test_create_stream__a_reader_that_lags_while_waiting_gets_every_event_from_the_log(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst past the live buffer while the reader waits: it reads the rest from the log."""
    monkeypatch.setattr("store.notify.MAX_BUFFER", 3)
    gate = anyio.Event()

    async def burst(request: ModelRequest) -> AsyncIterator[Chunk]:
        await gate.wait()
        for i in range(40):
            yield TextDelta(f"w{i} ")

    async with _answered_by(burst, database_url) as (client, assistant_id, thread_id):
        events: list[Any] = []
        with anyio.fail_after(20):
            stream = await client.threads.runs.create(
                thread_id, assistant_id=assistant_id, stream=True
            )
            async for event in stream:
                events.append(event)
                if event.event == "thread.run.in_progress":
                    gate.set()  # the reader goes back to waiting; the burst overflows its buffer
            replay = await _events(
                await client.threads.runs.stream_events(thread_id, events[0].data.id)
            )
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.to_dict() for e in events] == [e.to_dict() for e in replay]
    text = "".join(
        e.data.delta.content[0].text.value for e in events if e.event == "thread.message.delta"
    )
    assert text == "".join(f"w{i} " for i in range(40))


class Recorder(AsyncAssistantEventHandler):
    """Our handler, recording the callbacks it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.text = ""

    async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.calls.append("text_delta")
        self.text += delta.value

    async def on_tool_call_created(self, tool_call: Any) -> None:
        self.calls.append(f"tool_call_created:{tool_call.function.name}")

    async def on_tool_call_done(self, tool_call: Any) -> None:
        self.calls.append("tool_call_done")

    async def on_message_done(self, message: Any) -> None:
        self.calls.append("message_done")

    async def on_end(self) -> None:
        self.calls.append("end")


class SdkRecorder(openai.AsyncAssistantEventHandler):
    """The openai SDK's own handler class, as an existing app subclasses it."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.tools: list[str] = []

    async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value

    async def on_tool_call_created(self, tool_call: Any) -> None:
        self.tools.append(tool_call.function.name)


@pytest.mark.parametrize("handler_class", [Recorder, SdkRecorder])
async def test_stream_helpers__our_and_the_sdks_handlers(
    live_client: AsyncClient, handler_class: Any
) -> None:
    """`runs.stream` + `submit_tool_outputs_stream` drive our handler and the SDK's alike."""
    assistant = await live_client.assistants.create(model="test", tools=[F_TOOL])
    thread = await live_client.threads.create(messages=[{"role": "user", "content": "call f"}])
    with anyio.fail_after(10):
        async with live_client.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id, event_handler=handler_class()
        ) as stream:
            await stream.until_done()
        run = await stream.get_final_run()
        assert run.status == "requires_action"
        call = run.required_action.submit_tool_outputs.tool_calls[0]
        second = handler_class()
        async with live_client.threads.runs.submit_tool_outputs_stream(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "forty-two"}],
            event_handler=second,
        ) as stream2:
            await stream2.until_done()
    final = await stream2.get_final_run()
    assert final.status == "completed"
    assert "forty-two" in second.text
    (message,) = await stream2.get_final_messages()
    assert message.content[0].text.value == second.text
    if isinstance(stream, Recorder):
        assert stream.calls[0] == "tool_call_created:f"
        assert stream.calls[-2:] == ["tool_call_done", "end"]
    else:
        assert stream.tools == ["f"]


async def test_sdk_accumulation__final_snapshots_equal_the_stored_objects() -> None:
    """The SDK's own handler, fed our streams, ends with exactly the persisted objects."""
    model = ScriptedModel(
        [
            [tool_call("f", a=1), tool_call("g", b=2)],
            [tool_call("f", a=3)],
            "all done here",
        ]
    )
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", providers={"m": model}, poll_seconds=0.05
    ) as client:
        assistant = await client.assistants.create(model="m", tools=[F_TOOL, G_TOOL])
        thread = await client.threads.create(messages=[{"role": "user", "content": "go"}])
        handler = SdkRecorder()
        with anyio.fail_after(10):
            async with client.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
            ) as stream:
                await stream.until_done()
            run = await stream.get_final_run()
            steps = [await stream.get_final_run_steps()]
            while run.status == "requires_action":
                calls = run.required_action.submit_tool_outputs.tool_calls
                handler = SdkRecorder()
                async with client.threads.runs.submit_tool_outputs_stream(
                    thread_id=thread.id,
                    run_id=run.id,
                    event_handler=handler,
                    tool_outputs=[{"tool_call_id": c.id, "output": c.function.name} for c in calls],
                ) as stream:
                    await stream.until_done()
                run = await stream.get_final_run()
                steps.append(await stream.get_final_run_steps())
        assert run.status == "completed"

        def same(snapshot: Any, stored: Any) -> None:
            """Equal as the SDK sees them: our stored object parsed by the snapshot's SDK model."""
            parsed = type(snapshot).model_validate(stored.to_dict())
            assert snapshot.model_dump(mode="json") == parsed.model_dump(mode="json")

        for msg in await stream.get_final_messages():
            same(msg, await client.threads.messages.retrieve(msg.id, thread_id=thread.id))
        for group in steps:
            for snapshot in group:
                stored = await client.threads.runs.steps.retrieve(
                    snapshot.id, thread_id=thread.id, run_id=run.id
                )
                if snapshot.status == "completed":
                    same(snapshot, stored)
                assert snapshot.id == stored.id
        same(run, await client.threads.runs.retrieve(run.id, thread_id=thread.id))


async def test_failed_stream__message_incomplete_run_failed_stream_ends() -> None:
    """A provider stream breaking mid-message: the stream says so (incomplete, failed) and ends."""

    async def broken(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("half ")
        yield TextDelta("way")
        raise ProviderCallError("upstream closed the stream")

    async with _answered_by(broken) as (client, assistant_id, thread_id):
        with anyio.fail_after(10):
            events = await _events(
                await client.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True)
            )
    names = _squash([e.event for e in events])
    assert names[-3:] == [
        "thread.message.incomplete",
        "thread.run.step.failed",
        "thread.run.failed",
    ]
    assert events[-3].data.content[0].text.value == "half way"
    assert events[-1].data.last_error.message == "upstream closed the stream"


async def test_cancel_mid_stream__closing_events_then_cancelled() -> None:
    """Cancel while streaming: the stream shows cancelling, the closes, then cancelled."""
    started = anyio.Event()

    async def slow(request: ModelRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("partial")
        started.set()
        await anyio.sleep_forever()
        yield TextDelta("never")

    async with _answered_by(slow) as (client, assistant_id, thread_id):
        with anyio.fail_after(10):
            stream = await client.threads.runs.create(
                thread_id, assistant_id=assistant_id, stream=True
            )
            seen: list[Any] = []
            async for event in stream:
                seen.append(event)
                if event.event == "thread.message.delta":
                    await started.wait()
                    await client.threads.runs.cancel(seen[0].data.id, thread_id=thread_id)
    assert _squash([e.event for e in seen])[-5:] == [
        "thread.message.delta",
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
    ]


async def test_two_subscribers_and_a_quitter__same_events_nothing_leaks(
    live_client: AsyncClient,
) -> None:
    """Two subscribers see identical events; one that stops early leaves no subscription behind."""
    assistant = await live_client.assistants.create(model="test")
    thread = await live_client.threads.create(
        messages=[{"role": "user", "content": "many words " * 40}]
    )
    store = await live_client.store()
    run = await live_client.threads.runs.create(thread.id, assistant_id=assistant.id)
    results: dict[str, list[Any]] = {}

    async def follow(name: str, limit: int | None) -> None:
        stream = await live_client.threads.runs.stream_events(thread.id, run.id)
        got: list[Any] = []
        async for event in stream:
            got.append(event.to_dict())
            if limit is not None and len(got) >= limit:
                await stream.close()
                break
        results[name] = got

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow, "a", None)
            tg.start_soon(follow, "b", None)
            tg.start_soon(follow, "quitter", 3)
        done = await live_client.threads.runs.poll(run.id, thread.id)
    assert done.status == "completed"
    assert results["a"] == results["b"]
    assert results["a"][-1]["event"] == "thread.run.completed"
    assert len(results["quitter"]) == 3
    assert not store.notifier.has_listeners(run.id)


async def test_handler_callback_raises__on_exception_then_reraised_run_unharmed(
    live_client: AsyncClient,
) -> None:
    """A callback that raises reaches on_exception and the caller; the run still completes."""

    class Boom(AsyncAssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[Exception] = []
            self.ended = False

        async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            raise ValueError("handler bug")

        async def on_exception(self, exception: Exception) -> None:
            self.errors.append(exception)

        async def on_end(self) -> None:
            self.ended = True

    assistant = await live_client.assistants.create(model="test")
    thread = await live_client.threads.create(messages=[{"role": "user", "content": "hi there"}])
    handler = Boom()
    with anyio.fail_after(10):
        with pytest.raises(ValueError, match="handler bug"):
            async with live_client.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
            ) as stream:
                await stream.until_done()
        runs = await live_client.threads.runs.list(thread.id)
        done = await live_client.threads.runs.poll(runs.data[0].id, thread.id)
    assert done.status == "completed"
    assert [str(e) for e in handler.errors] == ["handler bug"]
    assert handler.ended


async def test_handler_callbacks__subclass_mixin_and_instance_attributes_are_called(
    live_client: AsyncClient,
) -> None:
    """Only callbacks a handler defines are called; they are found wherever they are defined."""
    seen: list[str] = []

    class Mixin:
        async def on_message_done(self, message: Any) -> None:
            seen.append("mixin.on_message_done")

    class Handler(Mixin, AsyncAssistantEventHandler):
        async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            seen.append("on_text_delta")

    handler = Handler()

    async def on_run_step_done(step: Any) -> None:
        seen.append("instance.on_run_step_done")

    handler.on_run_step_done = on_run_step_done  # type: ignore[method-assign,assignment]
    assistant = await live_client.assistants.create(model="test")
    thread = await live_client.threads.create(messages=[{"role": "user", "content": "hi there"}])
    with anyio.fail_after(30):
        async with live_client.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
        ) as stream:
            await stream.until_done()
    assert "on_text_delta" in seen
    assert seen.count("mixin.on_message_done") == 1
    assert seen.count("instance.on_run_step_done") == 1
    assert seen.index("mixin.on_message_done") > seen.index("on_text_delta")
