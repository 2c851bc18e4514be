"""Stream events (CONTRACT §8): each SSE event's name, and `data` as the JSON it implies."""

from __future__ import annotations

from typing import Any, Final

from assistants.server.openapi.common import JSON, ref

_RUN_EVENTS: Final = (
    "created",
    "queued",
    "in_progress",
    "requires_action",
    "completed",
    "incomplete",
    "failed",
    "cancelling",
    "cancelled",
    "expired",
)
_STEP_EVENTS: Final = ("created", "in_progress", "completed", "failed", "cancelled", "expired")
_MESSAGE_EVENTS: Final = ("created", "in_progress", "completed", "incomplete")


def _indexed(kind: str, **properties: Any) -> dict[str, Any]:
    """A list-entry fragment: `index` and `type` always, every other key optional."""
    return {
        "type": "object",
        "required": ["index", "type"],
        "properties": {"index": {"type": "integer"}, "type": {"const": kind}, **properties},
    }


def _fragment(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def stream_schemas() -> dict[str, Any]:
    """One SSE event: its name, and `data` as the JSON its name implies.

    Delta fragments follow the spec: a key is either absent or carries a value (a fragment sends
    `id`, `name` and `annotations` once, in its first piece); only a function's `output` is
    nullable.
    """
    string = {"type": "string"}
    detail = {"enum": ["auto", "low", "high"]}
    annotation = {
        "type": "object",
        "required": ["index", "type"],
        "properties": {
            "index": {"type": "integer"},
            "type": {"enum": ["file_citation", "file_path"]},
            "text": string,
            "start_index": {"type": "integer"},
            "end_index": {"type": "integer"},
            "file_citation": _fragment(file_id=string, quote=string),
            "file_path": _fragment(file_id=string),
        },
    }
    message_delta = {
        "type": "object",
        "required": ["id", "object", "delta"],
        "properties": {
            "id": string,
            "object": {"const": "thread.message.delta"},
            "delta": _fragment(
                role={"enum": ["user", "assistant"]},
                content={
                    "type": "array",
                    "items": {
                        "oneOf": [
                            _indexed(
                                "text",
                                text=_fragment(
                                    value=string, annotations={"type": "array", "items": annotation}
                                ),
                            ),
                            _indexed(
                                "image_file", image_file=_fragment(file_id=string, detail=detail)
                            ),
                            _indexed("image_url", image_url=_fragment(url=string, detail=detail)),
                            _indexed("refusal", refusal=string),
                        ]
                    },
                },
            ),
        },
    }
    tool_call_delta = {
        "oneOf": [
            _indexed(
                "function",
                id=string,
                function=_fragment(
                    name=string, arguments=string, output={"type": ["string", "null"]}
                ),
            ),
            _indexed(
                "code_interpreter",
                id=string,
                code_interpreter=_fragment(
                    input=string,
                    outputs={
                        "type": "array",
                        "items": {
                            "oneOf": [
                                _indexed("logs", logs=string),
                                _indexed("image", image=_fragment(file_id=string)),
                            ]
                        },
                    },
                ),
            ),
            _indexed("file_search", id=string, file_search={"type": "object"}),
        ]
    }
    step_delta = {
        "type": "object",
        "required": ["id", "object", "delta"],
        "properties": {
            "id": string,
            "object": {"const": "thread.run.step.delta"},
            "delta": _fragment(
                step_details={
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["type"],
                            "properties": {
                                "type": {"const": "message_creation"},
                                "message_creation": _fragment(message_id=string),
                            },
                        },
                        {
                            "type": "object",
                            "required": ["type"],
                            "properties": {
                                "type": {"const": "tool_calls"},
                                "tool_calls": {"type": "array", "items": tool_call_delta},
                            },
                        },
                    ]
                }
            ),
        },
    }

    def event(names: list[str], data: dict[str, Any]) -> dict[str, Any]:
        return {
            "properties": {
                "event": {"enum": names},
                "data": {"contentMediaType": JSON, "contentSchema": data},
            }
        }

    def data_events(*objects: str) -> dict[str, Any]:
        return {
            "description": "One server-sent `data:` event (no event name): "
            + ", ".join(objects)
            + " as JSON, then `[DONE]`; an error after the first event is a last `data` "
            "event holding OpenAI's error object, without `[DONE]`.",
            "type": "object",
            "required": ["data"],
            "properties": {"event": string, "data": string, "id": string},
            "oneOf": [
                *(
                    {"properties": {"data": {"contentMediaType": JSON, "contentSchema": ref(o)}}}
                    for o in (*objects, "ErrorResponse")
                ),
                {"properties": {"data": {"const": "[DONE]"}}},
            ],
        }

    return {
        "ChatCompletionStreamEvent": data_events("ChatCompletionChunk"),
        "PromptRunStreamEvent": data_events("ChatCompletionChunk", "PromptRun"),
        "MessageDeltaEvent": message_delta,
        "RunStepDeltaEvent": step_delta,
        "AssistantStreamEvent": {
            "description": 'One server-sent event of a run (the body says `"stream": true`): '
            "an event name, and data that is the JSON object the name implies; the stream "
            "ends with `done` / `[DONE]`.",
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": string,
                "data": string,
                "id": string,
                "retry": {"type": "integer"},
            },
            "oneOf": [
                event(["thread.created"], ref("Thread")),
                event([f"thread.run.{e}" for e in _RUN_EVENTS], ref("Run")),
                event([f"thread.run.step.{e}" for e in _STEP_EVENTS], ref("RunStep")),
                event(["thread.run.step.delta"], ref("RunStepDeltaEvent")),
                event([f"thread.message.{e}" for e in _MESSAGE_EVENTS], ref("Message")),
                event(["thread.message.delta"], ref("MessageDeltaEvent")),
                event(["error"], ref("ErrorResponse")),
                {"properties": {"event": {"const": "done"}, "data": {"const": "[DONE]"}}},
            ],
        },
    }
