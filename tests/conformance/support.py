"""What the SDK conformance tests share: tools, servers, recording handlers, error checks."""

from __future__ import annotations

import itertools
import json
import threading
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from assistants import AsyncClient
from assistants.testing import Finish, FunctionModel, ModelRequest, TextDelta, UsageChunk
from runtime.providers.base import Chunk, Provider
from tests.conformance.conftest import LiveServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai
    from openai import AssistantEventHandler, AsyncAssistantEventHandler
    from openai.types.beta import AssistantStreamEvent, FunctionToolParam
    from openai.types.beta.threads import (
        ImageFile,
        Message,
        MessageDelta,
        Text,
    )
    from openai.types.beta.threads import TextDelta as SDKTextDelta
    from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput
    from openai.types.beta.threads.runs import (
        RunStep,
        RunStepDelta,
        RunStepInclude,
        ToolCall,
        ToolCallDelta,
    )

WEATHER: FunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TIME: FunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}

INCLUDE_CONTENT: RunStepInclude = "step_details.tool_calls[*].file_search.results[*].content"

TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}
RUN_STOP_EVENTS = {
    "thread.run.requires_action",
    "thread.run.completed",
    "thread.run.incomplete",
    "thread.run.failed",
    "thread.run.cancelled",
    "thread.run.expired",
}


@contextmanager
def serve(
    tmp_path: Path,
    *,
    worker: bool = True,
    providers: Mapping[str, Provider] | None = None,
    keys: list[str] | None = None,
    name: str = "server.db",
    client_options: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Iterator[LiveServer]:
    """A `LiveServer` on a fresh SQLite file (worker on unless `worker=False`)."""
    options: dict[str, Any] = {"poll_seconds": 0.05, "sweep_seconds": 0.05}
    options.update(client_options or {})
    client = AsyncClient(
        database_url=db_url(tmp_path, name), worker=worker, providers=providers, **options
    )
    with LiveServer(client, keys=keys, **settings) as server:
        yield server


def db_url(tmp_path: Path, name: str = "server.db") -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}"


def check_error(
    exc: openai.APIStatusError,
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    check_code: bool = True,
) -> None:
    """`exc` carries OpenAI's error shape: status, inner body, message, code, param, request id."""
    assert exc.status_code == status
    assert isinstance(exc.body, dict), exc.body
    assert exc.body["message"] == message
    assert exc.body["type"] == "invalid_request_error"
    assert exc.message == f"Error code: {status} - {message}"
    if check_code:
        assert exc.code == code
        assert exc.param == param
    assert exc.request_id is not None
    assert exc.request_id.startswith("req_")


def function_calls(run: Any) -> list[Any]:
    """The tool calls a run paused at `requires_action` waits on."""
    assert run.status == "requires_action", run.status
    assert run.required_action is not None
    return list(run.required_action.submit_tool_outputs.tool_calls)


def echo_outputs(run: Any) -> list[ToolOutput]:
    """Outputs for every pending call: `<name>-ok`."""
    outputs: list[ToolOutput] = []
    for call in function_calls(run):
        args = json.loads(call.function.arguments)
        outputs.append({"tool_call_id": call.id, "output": f"{call.function.name}-ok"})
        assert isinstance(args, dict)
    return outputs


def text_of(message: Any) -> str:
    """The text of a message's first content part."""
    part = message.content[0]
    assert part.type == "text"
    return str(part.text.value)


@dataclass
class Gate:
    """A model that says "Hello", then waits for `opened` before finishing " world"."""

    reached: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)

    def model(self) -> FunctionModel:
        return FunctionModel(self._answer, name="gated")

    def _answer(self, request: ModelRequest) -> AsyncIterator[Chunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[Chunk]:
        yield TextDelta("Hello")
        self.reached.set()
        await anyio.to_thread.run_sync(self.opened.wait, abandon_on_cancel=True)
        yield TextDelta(" world")
        yield UsageChunk(prompt_tokens=1, completion_tokens=2)
        yield Finish("stop")


# --- recording handlers ---------------------------------------------------------------------

CALLBACKS = (
    "on_event",
    "on_text_created",
    "on_text_delta",
    "on_text_done",
    "on_message_created",
    "on_message_delta",
    "on_message_done",
    "on_run_step_created",
    "on_run_step_delta",
    "on_run_step_done",
    "on_tool_call_created",
    "on_tool_call_delta",
    "on_tool_call_done",
    "on_image_file_done",
    "on_exception",
    "on_timeout",
    "on_end",
)


class Recorder(AssistantEventHandler):
    """Records every callback (name and a JSON-able summary of its arguments)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, Any]] = []
        self.events: list[str] = []

    def names(self, callback: str | None = None) -> list[str]:
        return [name for name, _ in self.log if callback is None or name == callback]

    def args(self, callback: str) -> list[Any]:
        return [arg for name, arg in self.log if name == callback]

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)
        self.log.append(("on_event", event.event))

    def on_text_created(self, text: Text) -> None:
        self.log.append(("on_text_created", text.value))

    def on_text_delta(self, delta: SDKTextDelta, snapshot: Text) -> None:
        self.log.append(("on_text_delta", (delta.value, snapshot.value)))

    def on_text_done(self, text: Text) -> None:
        self.log.append(("on_text_done", text.value))

    def on_message_created(self, message: Message) -> None:
        self.log.append(("on_message_created", message.id))

    def on_message_delta(self, delta: MessageDelta, snapshot: Message) -> None:
        self.log.append(("on_message_delta", snapshot.id))

    def on_message_done(self, message: Message) -> None:
        self.log.append(("on_message_done", (message.id, message.status, text_of(message))))

    def on_run_step_created(self, run_step: RunStep) -> None:
        self.log.append(("on_run_step_created", (run_step.id, run_step.type)))

    def on_run_step_delta(self, delta: RunStepDelta, snapshot: RunStep) -> None:
        self.log.append(("on_run_step_delta", snapshot.id))

    def on_run_step_done(self, run_step: RunStep) -> None:
        self.log.append(("on_run_step_done", (run_step.id, run_step.status)))

    def on_tool_call_created(self, tool_call: ToolCall) -> None:
        assert tool_call.type == "function"
        self.log.append(("on_tool_call_created", (tool_call.id, tool_call.function.name)))

    def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        assert snapshot.type == "function"
        self.log.append(("on_tool_call_delta", (snapshot.id, snapshot.function.arguments)))

    def on_tool_call_done(self, tool_call: ToolCall) -> None:
        assert tool_call.type == "function"
        self.log.append(("on_tool_call_done", (tool_call.id, tool_call.function.arguments)))

    def on_image_file_done(self, image_file: ImageFile) -> None:
        self.log.append(("on_image_file_done", image_file.file_id))

    def on_exception(self, exception: Exception) -> None:
        self.log.append(("on_exception", repr(exception)))

    def on_timeout(self) -> None:
        self.log.append(("on_timeout", None))

    def on_end(self) -> None:
        self.log.append(("on_end", None))


class AsyncRecorder(AsyncAssistantEventHandler):
    """The async twin of `Recorder`."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, Any]] = []
        self.events: list[str] = []

    def names(self, callback: str | None = None) -> list[str]:
        return [name for name, _ in self.log if callback is None or name == callback]

    def args(self, callback: str) -> list[Any]:
        return [arg for name, arg in self.log if name == callback]

    async def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)
        self.log.append(("on_event", event.event))

    async def on_text_created(self, text: Text) -> None:
        self.log.append(("on_text_created", text.value))

    async def on_text_delta(self, delta: SDKTextDelta, snapshot: Text) -> None:
        self.log.append(("on_text_delta", (delta.value, snapshot.value)))

    async def on_text_done(self, text: Text) -> None:
        self.log.append(("on_text_done", text.value))

    async def on_message_created(self, message: Message) -> None:
        self.log.append(("on_message_created", message.id))

    async def on_message_delta(self, delta: MessageDelta, snapshot: Message) -> None:
        self.log.append(("on_message_delta", snapshot.id))

    async def on_message_done(self, message: Message) -> None:
        self.log.append(("on_message_done", (message.id, message.status, text_of(message))))

    async def on_run_step_created(self, run_step: RunStep) -> None:
        self.log.append(("on_run_step_created", (run_step.id, run_step.type)))

    async def on_run_step_delta(self, delta: RunStepDelta, snapshot: RunStep) -> None:
        self.log.append(("on_run_step_delta", snapshot.id))

    async def on_run_step_done(self, run_step: RunStep) -> None:
        self.log.append(("on_run_step_done", (run_step.id, run_step.status)))

    async def on_tool_call_created(self, tool_call: ToolCall) -> None:
        assert tool_call.type == "function"
        self.log.append(("on_tool_call_created", (tool_call.id, tool_call.function.name)))

    async def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        assert snapshot.type == "function"
        self.log.append(("on_tool_call_delta", (snapshot.id, snapshot.function.arguments)))

    async def on_tool_call_done(self, tool_call: ToolCall) -> None:
        assert tool_call.type == "function"
        self.log.append(("on_tool_call_done", (tool_call.id, tool_call.function.arguments)))

    async def on_image_file_done(self, image_file: ImageFile) -> None:
        self.log.append(("on_image_file_done", image_file.file_id))

    async def on_exception(self, exception: Exception) -> None:
        self.log.append(("on_exception", repr(exception)))

    async def on_timeout(self) -> None:
        self.log.append(("on_timeout", None))

    async def on_end(self) -> None:
        self.log.append(("on_end", None))


TEXT_RUN_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    # thread.message.delta x n
    "thread.message.completed",
    "thread.run.step.completed",
    "thread.run.completed",
]


def collapse(events: Sequence[str]) -> list[str]:
    """`events` with each run of repeated delta events folded into one."""
    out: list[str] = []
    for event in events:
        if event.endswith(".delta") and out and out[-1] == event:
            continue
        out.append(event)
    return out


def expected_text_run(*, deltas: bool = True) -> list[str]:
    """§8.3's text-only sequence, with the message deltas folded into one entry."""
    events = list(TEXT_RUN_EVENTS)
    if deltas:
        events.insert(7, "thread.message.delta")
    return events


# --- checks on recorded handler logs --------------------------------------------------------

QUIET = {"on_event", "on_text_delta", "on_message_delta", "on_run_step_delta", "on_tool_call_delta"}


def milestones(log: list[tuple[str, Any]]) -> list[str]:
    """The callbacks of `log` that are not per-event or per-fragment."""
    return [name for name, _ in log if name not in QUIET]


def check_tool_pause(rec: Recorder | AsyncRecorder, run: Any) -> None:
    """A stream that ended at requires_action: every callback in §8.4's order, args consistent."""
    calls = function_calls(run)
    assert collapse(rec.events) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    expected = ["on_run_step_created"]
    for _ in calls:
        expected += ["on_tool_call_created", "on_tool_call_done"]
    assert milestones(rec.log) == [*expected, "on_end"]
    assert rec.log[-1] == ("on_end", None)
    assert len(rec.names("on_event")) == len(rec.events)
    assert len(rec.names("on_run_step_delta")) == rec.events.count("thread.run.step.delta")
    ((step_id, step_type),) = rec.args("on_run_step_created")
    assert step_type == "tool_calls"
    assert rec.args("on_tool_call_created") == [(c.id, c.function.name) for c in calls]
    assert rec.args("on_tool_call_done") == [(c.id, c.function.arguments) for c in calls]
    # Each call's snapshot only grows, fragment by fragment, to the final arguments.
    for call in calls:
        seen = [args for cid, args in rec.args("on_tool_call_delta") if cid == call.id]
        for before, after in itertools.pairwise(seen):
            assert after.startswith(before)
            assert len(after) > len(before)
        if seen:
            assert seen[-1] == call.function.arguments
    assert step_id


def check_text_stream(
    rec: Recorder | AsyncRecorder, text: str, *, prefix: list[str] | None = None
) -> None:
    """A stream that produced one text message and completed, preceded by `prefix` callbacks."""
    assert milestones(rec.log) == [
        *(prefix or []),
        "on_run_step_created",
        "on_message_created",
        "on_text_created",
        "on_text_done",
        "on_message_done",
        "on_run_step_done",
        "on_end",
    ]
    deltas = rec.args("on_text_delta")
    assert deltas, "no text deltas"
    assert "".join(fragment for fragment, _ in deltas) == text
    assert rec.args("on_text_created") == [deltas[0][0]]
    running = ""
    for fragment, snapshot in deltas:
        running += fragment
        assert snapshot == running
    assert rec.args("on_text_done") == [text]
    ((message_id, status, final),) = rec.args("on_message_done")
    assert (status, final) == ("completed", text)
    assert rec.args("on_message_created") == [message_id]
    assert set(rec.args("on_message_delta")) == {message_id}
    assert len(rec.names("on_message_delta")) == rec.events.count("thread.message.delta")
    assert rec.events[-1] == "thread.run.completed"
