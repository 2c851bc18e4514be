"""Realistic event streams, as `(event name, JSON data)` pairs in the order of CONTRACT §8.3.

Full objects are built with our `store.types` models (`to_dict()`); deltas are written as the
wire sends them: `annotations: []` and tool call `id`/`name` in the first fragment only.
"""

from __future__ import annotations

import json
from typing import Any

from store.types import (
    Message,
    MessageCreationStepDetails,
    Run,
    RunStatus,
    RunStep,
    RunStepStatus,
    ToolCallsStepDetails,
)
from tests.conftest import WEATHER_TOOL

Event = tuple[str, Any]

T0 = 1_718_000_000
THREAD = "thread_8Fq3tQ1uWm2xY7pN"
ASSISTANT = "asst_Zb2kV9cL4rT6yH1s"
RUN = "run_Qw5eR7tY9uI1oP3a"
# `strict` set: our tool definitions leave unset keys out, the SDK's dump shows them.
TOOL: dict[str, Any] = json.loads(json.dumps(WEATHER_TOOL))
TOOL["function"]["strict"] = False
USAGE = {"prompt_tokens": 182, "completion_tokens": 41, "total_tokens": 223}


def run(status: RunStatus, **fields: Any) -> dict[str, Any]:
    """The run as of an event: `created_at` T0, expiring 600 s later."""
    data: dict[str, Any] = {
        "id": RUN,
        "created_at": T0,
        "thread_id": THREAD,
        "assistant_id": ASSISTANT,
        "status": status,
        "model": "gpt-4o-mini",
        "instructions": "You answer weather questions briefly.",
        "tools": [TOOL],
        "metadata": {},
        "expires_at": T0 + 600,
        "temperature": 1.0,
        "top_p": 1.0,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "tool_choice": "auto",
        "response_format": "auto",
    }
    if status not in ("queued",):
        data["started_at"] = T0 + 1
    data.update(fields)
    return Run.model_validate(data).to_dict()


def step(step_id: str, status: RunStepStatus, details: Any, **fields: Any) -> dict[str, Any]:
    """A run step of `RUN`."""
    data = {
        "id": step_id,
        "created_at": T0 + 2,
        "run_id": RUN,
        "assistant_id": ASSISTANT,
        "thread_id": THREAD,
        "type": details.type,
        "status": status,
        "step_details": details,
        "expired_at": None,
        "metadata": {},
        **fields,
    }
    return RunStep.model_validate(data).to_dict()


def message_step(step_id: str, message_id: str, status: RunStepStatus, **fields: Any) -> Any:
    details = MessageCreationStepDetails.model_validate(
        {"message_creation": {"message_id": message_id}}
    )
    return step(step_id, status, details, **fields)


def tool_step(step_id: str, status: RunStepStatus, calls: list[Any], **fields: Any) -> Any:
    details = ToolCallsStepDetails.model_validate({"tool_calls": calls})
    return step(step_id, status, details, **fields)


def message(message_id: str, status: str, content: list[Any], **fields: Any) -> dict[str, Any]:
    """An assistant message of `RUN`."""
    data = {
        "id": message_id,
        "created_at": T0 + 3,
        "thread_id": THREAD,
        "status": status,
        "role": "assistant",
        "content": content,
        "assistant_id": ASSISTANT,
        "run_id": RUN,
        "attachments": [],
        "metadata": {},
        **fields,
    }
    return Message.model_validate(data).to_dict()


def text(value: str, annotations: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def message_delta(message_id: str, *parts: dict[str, Any]) -> Event:
    return (
        "thread.message.delta",
        {"id": message_id, "object": "thread.message.delta", "delta": {"content": list(parts)}},
    )


def text_part(index: int, value: str, *, first: bool = False, **more: Any) -> dict[str, Any]:
    """A text fragment; the first of a block carries `annotations: []`."""
    fragment: dict[str, Any] = {"value": value, **more}
    if first:
        fragment.setdefault("annotations", [])
    return {"index": index, "type": "text", "text": fragment}


def calls_delta(step_id: str, *calls: dict[str, Any]) -> Event:
    return (
        "thread.run.step.delta",
        {
            "id": step_id,
            "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": list(calls)}},
        },
    )


def first_call(index: int, call_id: str, name: str, arguments: str = "") -> dict[str, Any]:
    return {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments, "output": None},
    }


def more_arguments(index: int, arguments: str) -> dict[str, Any]:
    return {"index": index, "type": "function", "function": {"arguments": arguments}}


def function_call(call_id: str, arguments: str, output: str | None = None) -> dict[str, Any]:
    function = {"name": "get_weather", "arguments": arguments, "output": output}
    return {"id": call_id, "type": "function", "function": function}


def run_start(*, created: bool = True) -> list[Event]:
    events: list[Event] = [("thread.run.created", run("queued"))] if created else []
    return [
        *events,
        ("thread.run.queued", run("queued")),
        ("thread.run.in_progress", run("in_progress")),
    ]


def text_message(step_id: str, message_id: str, pieces: list[str]) -> list[Event]:
    """A message step from creation to completion, its text streamed in `pieces`."""
    done = {"completed_at": T0 + 9, "usage": USAGE}
    return [
        ("thread.run.step.created", message_step(step_id, message_id, "in_progress")),
        ("thread.run.step.in_progress", message_step(step_id, message_id, "in_progress")),
        ("thread.message.created", message(message_id, "in_progress", [])),
        ("thread.message.in_progress", message(message_id, "in_progress", [])),
        message_delta(message_id, text_part(0, pieces[0], first=True)),
        *[message_delta(message_id, text_part(0, piece)) for piece in pieces[1:]],
        (
            "thread.message.completed",
            message(message_id, "completed", [text("".join(pieces))], completed_at=T0 + 9),
        ),
        ("thread.run.step.completed", message_step(step_id, message_id, "completed", **done)),
    ]


def completed_run() -> Event:
    return (
        "thread.run.completed",
        run("completed", completed_at=T0 + 10, expires_at=None, usage=USAGE),
    )


HELLO = ["Hello", "!", " The weather", " in Paris", " is sunny", ", 22 °C."]


def text_run() -> list[Event]:
    return [*run_start(), *text_message("step_msg1", "msg_A1", HELLO), completed_run()]


def thread_and_run() -> list[Event]:
    thread = {
        "id": THREAD,
        "object": "thread",
        "created_at": T0,
        "tool_resources": {
            "code_interpreter": {"file_ids": []},
            "file_search": {"vector_store_ids": []},
        },
        "metadata": {},
    }
    return [("thread.created", thread), *text_run()]


CALL_A = "call_Ab12Cd34Ef56Gh78"
CALL_B = "call_Ij90Kl12Mn34Op56"
PARIS = '{"city": "Paris"}'
TOKYO = '{"city": "Tokyo", "unit": "c"}'


def required(*calls: tuple[str, str]) -> dict[str, Any]:
    """The run paused on `calls` (`(id, arguments)` pairs), full arguments included."""
    tool_calls = [
        {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": args}}
        for call_id, args in calls
    ]
    action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": tool_calls}}
    return run("requires_action", required_action=action, usage=USAGE)


def function_call_run() -> list[Event]:
    return [
        *run_start(),
        ("thread.run.step.created", tool_step("step_tool1", "in_progress", [])),
        ("thread.run.step.in_progress", tool_step("step_tool1", "in_progress", [])),
        calls_delta("step_tool1", first_call(0, CALL_A, "get_weather")),
        calls_delta("step_tool1", more_arguments(0, '{"ci')),
        calls_delta("step_tool1", more_arguments(0, 'ty": "Pa')),
        calls_delta("step_tool1", more_arguments(0, 'ris"}')),
        ("thread.run.requires_action", required((CALL_A, PARIS))),
    ]


def parallel_calls_run() -> list[Event]:
    """Two calls whose fragments interleave, one chunk carrying fragments of both."""
    return [
        *run_start(),
        ("thread.run.step.created", tool_step("step_tool1", "in_progress", [])),
        ("thread.run.step.in_progress", tool_step("step_tool1", "in_progress", [])),
        calls_delta("step_tool1", first_call(0, CALL_A, "get_weather")),
        calls_delta("step_tool1", more_arguments(0, '{"city": ')),
        calls_delta("step_tool1", first_call(1, CALL_B, "get_weather", '{"ci')),
        calls_delta("step_tool1", more_arguments(0, '"Paris"}')),
        calls_delta("step_tool1", more_arguments(1, 'ty": "Tokyo",'), more_arguments(1, " ")),
        calls_delta("step_tool1", more_arguments(0, ""), more_arguments(1, '"unit": "c"}')),
        (
            "thread.run.requires_action",
            required((CALL_A, PARIS), (CALL_B, TOKYO)),
        ),
    ]


def continuation() -> list[Event]:
    """The submit-tool-outputs stream: step completed with outputs, no `run.created`."""
    outputs = [function_call(CALL_A, PARIS, "sunny, 22"), function_call(CALL_B, TOKYO, "rain, 18")]
    done = tool_step("step_tool1", "completed", outputs, completed_at=T0 + 5, usage=USAGE)
    return [
        ("thread.run.step.completed", done),
        *run_start(created=False),
        *text_message("step_msg2", "msg_B2", ["Paris: sunny", ", 22 °C", ". Tokyo: rain."]),
        completed_run(),
    ]


def code_step(step_id: str, inputs: list[str], logs: str) -> list[Event]:
    """A code interpreter step streamed and completed within the run."""
    call_id = f"call_ci_{step_id}"
    first = {
        "index": 0,
        "id": call_id,
        "type": "code_interpreter",
        "code_interpreter": {"input": inputs[0], "outputs": []},
    }
    call = {"id": call_id, "type": "code_interpreter"}
    outputs = [{"type": "logs", "logs": logs}]
    finished = {**call, "code_interpreter": {"input": "".join(inputs), "outputs": outputs}}
    return [
        ("thread.run.step.created", tool_step(step_id, "in_progress", [])),
        ("thread.run.step.in_progress", tool_step(step_id, "in_progress", [])),
        calls_delta(step_id, first),
        *[
            calls_delta(
                step_id,
                {"index": 0, "type": "code_interpreter", "code_interpreter": {"input": piece}},
            )
            for piece in inputs[1:]
        ],
        calls_delta(
            step_id,
            {
                "index": 0,
                "type": "code_interpreter",
                "code_interpreter": {"outputs": [{"index": 0, "type": "logs", "logs": logs}]},
            },
        ),
        ("thread.run.step.completed", tool_step(step_id, "completed", [finished], usage=USAGE)),
    ]


def multi_round_run() -> list[Event]:
    """Tool step, message, tool step, message: one stream, two rounds."""
    return [
        *run_start(),
        *code_step("step_code1", ["import math\n", "print(math", ".sqrt(2))"], "1.4142135\n"),
        *text_message("step_msg1", "msg_A1", ["The root", " is 1.414."]),
        *code_step("step_code2", ["print(2 ", "** 10)"], "1024\n"),
        *text_message("step_msg2", "msg_A2", ["And 2^10", " = 1024."]),
        completed_run(),
    ]


def second_round() -> list[Event]:
    """A continuation that calls a tool again, so pauses again."""
    done = tool_step(
        "step_tool1", "completed", [function_call(CALL_A, PARIS, "sunny")], usage=USAGE
    )
    return [
        ("thread.run.step.completed", done),
        *run_start(created=False),
        ("thread.run.step.created", tool_step("step_tool2", "in_progress", [])),
        ("thread.run.step.in_progress", tool_step("step_tool2", "in_progress", [])),
        calls_delta("step_tool2", first_call(0, CALL_B, "get_weather", '{"city": ')),
        calls_delta("step_tool2", more_arguments(0, '"Tokyo", "unit": "c"}')),
        ("thread.run.requires_action", required((CALL_B, TOKYO))),
    ]


def _interrupted_message(message_id: str) -> list[Event]:
    return [
        ("thread.run.step.created", message_step("step_msg1", message_id, "in_progress")),
        ("thread.run.step.in_progress", message_step("step_msg1", message_id, "in_progress")),
        ("thread.message.created", message(message_id, "in_progress", [])),
        ("thread.message.in_progress", message(message_id, "in_progress", [])),
        message_delta(message_id, text_part(0, "Let me", first=True)),
        message_delta(message_id, text_part(0, " think")),
    ]


def cancelled_run() -> list[Event]:
    incomplete = {"incomplete_at": T0 + 6, "incomplete_details": {"reason": "run_cancelled"}}
    return [
        *run_start(),
        *_interrupted_message("msg_C1"),
        ("thread.run.cancelling", run("cancelling")),
        (
            "thread.message.incomplete",
            message("msg_C1", "incomplete", [text("Let me think")], **incomplete),
        ),
        (
            "thread.run.step.cancelled",
            message_step("step_msg1", "msg_C1", "cancelled", cancelled_at=T0 + 6),
        ),
        ("thread.run.cancelled", run("cancelled", cancelled_at=T0 + 6, expires_at=None)),
    ]


def failed_run() -> list[Event]:
    """A run failing during a tool call, then the spec's bare `error` event."""
    error = {"code": "server_error", "message": "The model provider failed."}
    return [
        *run_start(),
        ("thread.run.step.created", tool_step("step_tool1", "in_progress", [])),
        calls_delta("step_tool1", first_call(0, CALL_A, "get_weather", '{"city"')),
        calls_delta("step_tool1", more_arguments(0, ': "Par')),
        (
            "thread.run.step.failed",
            tool_step(
                "step_tool1",
                "failed",
                [function_call(CALL_A, '{"city": "Par')],
                failed_at=T0 + 4,
                last_error=error,
            ),
        ),
        ("thread.run.failed", run("failed", failed_at=T0 + 4, last_error=error, expires_at=None)),
        # `misalignment` (null) is an optional field of the SDK's error model, not of ours.
        (
            "error",
            {"message": "The model provider failed.", "type": "server_error", "misalignment": None},
        ),
    ]


def incomplete_run() -> list[Event]:
    msg = {"incomplete_at": T0 + 7, "incomplete_details": {"reason": "max_tokens"}}
    return [
        *run_start(),
        *_interrupted_message("msg_D1"),
        (
            "thread.message.incomplete",
            message("msg_D1", "incomplete", [text("Let me think")], **msg),
        ),
        (
            "thread.run.step.completed",
            message_step("step_msg1", "msg_D1", "completed", usage=USAGE),
        ),
        (
            "thread.run.incomplete",
            run(
                "incomplete",
                expires_at=None,
                usage=USAGE,
                incomplete_details={"reason": "max_completion_tokens"},
            ),
        ),
    ]


def expired_run() -> list[Event]:
    return [
        *run_start(),
        ("thread.run.step.created", tool_step("step_tool1", "in_progress", [])),
        calls_delta("step_tool1", first_call(0, CALL_A, "get_weather", PARIS[:5])),
        calls_delta("step_tool1", more_arguments(0, PARIS[5:])),
        (
            "thread.run.step.expired",
            tool_step("step_tool1", "expired", [function_call(CALL_A, PARIS)], expired_at=T0 + 600),
        ),
        ("thread.run.expired", run("expired", expires_at=None)),
    ]


def image_then_text_run() -> list[Event]:
    """Content blocks image_file (0), text (1), image_url (2): index changes end blocks."""
    image = {"type": "image_file", "image_file": {"file_id": "file-Pl0t9xYz", "detail": "auto"}}
    url = {"type": "image_url", "image_url": {"url": "https://example.com/chart.png"}}
    content = [image, text("Here is the chart."), url]
    return [
        *run_start(),
        ("thread.run.step.created", message_step("step_msg1", "msg_E1", "in_progress")),
        ("thread.message.created", message("msg_E1", "in_progress", [])),
        message_delta("msg_E1", {"index": 0, **image}),
        message_delta("msg_E1", text_part(1, "Here is", first=True)),
        message_delta("msg_E1", text_part(1, " the chart.")),
        message_delta("msg_E1", {"index": 2, **url}),
        ("thread.message.completed", message("msg_E1", "completed", content, completed_at=T0 + 9)),
        ("thread.run.step.completed", message_step("step_msg1", "msg_E1", "completed")),
        completed_run(),
    ]


def refusal_and_citation_run() -> list[Event]:
    """A cited text block (annotation fragments with their own index), then a refusal block."""
    citation = {
        "index": 0,
        "type": "file_citation",
        "text": "【4:0†guide.pdf】",
        "start_index": 16,
        "end_index": 31,
        "file_citation": {"file_id": "file-Gu1de", "quote": "sunny all week"},
    }
    cited = {k: v for k, v in citation.items() if k != "index"}
    cited["file_citation"] = {"file_id": "file-Gu1de"}
    content = [
        text("It will be sunny【4:0†guide.pdf】.", [cited]),
        {"type": "refusal", "refusal": "I cannot forecast further."},
    ]
    return [
        *run_start(),
        ("thread.run.step.created", message_step("step_msg1", "msg_F1", "in_progress")),
        ("thread.message.created", message("msg_F1", "in_progress", [])),
        message_delta("msg_F1", text_part(0, "It will be sunny", first=True)),
        message_delta("msg_F1", text_part(0, "【4:0†guide.pdf】", annotations=[citation])),
        message_delta("msg_F1", text_part(0, ".")),
        message_delta("msg_F1", {"index": 1, "type": "refusal", "refusal": "I cannot"}),
        message_delta("msg_F1", {"index": 1, "type": "refusal", "refusal": " forecast further."}),
        ("thread.message.completed", message("msg_F1", "completed", content, completed_at=T0 + 9)),
        ("thread.run.step.completed", message_step("step_msg1", "msg_F1", "completed")),
        completed_run(),
    ]


def unknown_event_run() -> list[Event]:
    """A text run with an event name from the future in the middle."""
    future = ("thread.run.future_event", {"id": RUN, "object": "thread.run.future", "hint": 1})
    events = text_run()
    return [*events[:3], future, *events[3:]]


def partial_fragment_run() -> list[Event]:
    """A function call whose first fragment has no `arguments` (still partial after it)."""
    first = {"index": 0, "id": CALL_A, "type": "function", "function": {"name": "get_weather"}}
    return [
        *run_start(),
        ("thread.run.step.created", tool_step("step_tool1", "in_progress", [])),
        calls_delta("step_tool1", first),
        calls_delta("step_tool1", more_arguments(0, PARIS)),
        ("thread.run.requires_action", required((CALL_A, PARIS))),
    ]


SCENARIOS = {
    "text_run": text_run,
    "thread_and_run": thread_and_run,
    "function_call_run": function_call_run,
    "parallel_calls_run": parallel_calls_run,
    "continuation": continuation,
    "multi_round_run": multi_round_run,
    "second_round": second_round,
    "cancelled_run": cancelled_run,
    "failed_run": failed_run,
    "incomplete_run": incomplete_run,
    "expired_run": expired_run,
    "image_then_text_run": image_then_text_run,
    "refusal_and_citation_run": refusal_and_citation_run,
    "unknown_event_run": unknown_event_run,
    "partial_fragment_run": partial_fragment_run,
}


def wire(events: list[Event]) -> list[Event]:
    """`events` through JSON, as a stream carries them."""
    return [(name, json.loads(json.dumps(data))) for name, data in events]
