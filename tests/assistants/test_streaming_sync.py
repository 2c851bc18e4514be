"""Streaming on the blocking `Client`: iterators, `stream()` managers, our handler and the SDK's."""

from __future__ import annotations

import warnings
from typing import Any

from assistants import Client
from assistants.streaming import AssistantEventHandler
from assistants.types import Run

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

F_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


class SdkHandler(openai.AssistantEventHandler):
    """An app's existing handler, subclassing the openai SDK's class."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.created.append(tool_call.function.name)


def test_sync_client__stream_iterators_and_handlers() -> None:
    """Iterate `create(stream=True)`; `stream()` with ours and the SDK's handler; text_deltas."""
    with Client(database_url="sqlite+aiosqlite:///:memory:", poll_seconds=0.05) as client:
        assistant = client.assistants.create(model="test", tools=[F_TOOL])
        thread = client.threads.create(messages=[{"role": "user", "content": "call f"}])
        events = list(client.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True))
        assert events[0].event == "thread.run.created"
        assert events[-1].event == "thread.run.requires_action"
        run = events[-1].data
        assert isinstance(run, Run)
        assert run.required_action is not None
        call = run.required_action.submit_tool_outputs.tool_calls[0]
        with client.threads.runs.submit_tool_outputs_stream(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "ok!"}],
        ) as stream:
            assert isinstance(stream, AssistantEventHandler)
            text = "".join(stream.text_deltas)
        assert "ok!" in text
        assert stream.get_final_run().status == "completed"

        thread2 = client.threads.create(messages=[{"role": "user", "content": "call f again"}])
        handler = SdkHandler()
        with client.threads.runs.stream(
            thread_id=thread2.id, assistant_id=assistant.id, event_handler=handler
        ) as sdk_stream:
            sdk_stream.until_done()
        assert handler.created == ["f"]
        assert sdk_stream.get_final_run().status == "requires_action"

        closed = client.threads.runs.stream_events(thread.id, run.id)
        first = next(iter(closed))
        closed.close()
        assert first.seq == 1
