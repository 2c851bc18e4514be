"""The server's OpenAPI 3.1 document, served at `/openapi.json`.

The routes parse their JSON bodies by hand (so that errors carry OpenAI's wording), which leaves
FastAPI's generated document without request bodies or response shapes. This module describes
every `/v1` route of the wire contract instead:

- request bodies, written from the contract's request shapes and limits (CONTRACT §2.1, §7.1);
- `200` responses, generated from the wire models in `store.types` (every field a plain model
  serialises is required, nulls included; the `OmitNone` pieces leave unset keys out);
- `400` / `401` / `403` / `404` / `413` / `415` in OpenAI's error shape (`{"error": {message,
  type, param, code}}`);
- the list and include query parameters (`limit` 1 to 100, `order`, `after`, `before`, `run_id`,
  `include[]`).

Besides the contract, `GET /v1/models` and `GET /v1/models/{model}` (openai-python's
`client.models`: what this server can run). Routes outside both (the run events extension,
the inspector's `/v1/inspector/` reads, `/health`) are left out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from assistants import validation as v
from store import types

__all__ = ["openapi_schema"]

JSON: Final = "application/json"
SSE: Final = "text/event-stream"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


# --- response objects, from the wire models -------------------------------------------------

_RESPONSE_MODELS: Final[tuple[type[BaseModel], ...]] = (
    types.Assistant,
    types.AssistantDeleted,
    types.Thread,
    types.ThreadDeleted,
    types.Message,
    types.MessageDeleted,
    types.Run,
    types.RunStep,
    types.ModelCard,
)


def _response_schemas() -> dict[str, Any]:
    """JSON schemas of the wire objects, keyed by model name, referring to each other.

    The top-level objects carry every field, nulls included (CONTRACT §3 marks them required).
    A nested object requires its fields without defaults and its `type` discriminator; its
    optional keys may be absent (a streamed payload leaves out what the caller left out,
    e.g. `{"type": "file_search"}` as a tool) or null.
    """
    _, top = models_json_schema(
        [(model, "validation") for model in _RESPONSE_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    defs: dict[str, Any] = top["$defs"]
    top_level = {model.__name__ for model in _RESPONSE_MODELS}
    for name, schema in defs.items():
        properties = schema.get("properties")
        if not properties:
            continue
        if name in top_level:
            schema["required"] = list(properties)
        elif "type" in properties and "type" not in schema.get("required", []):
            schema["required"] = ["type", *schema.get("required", [])]
    return defs


def _list_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["object", "data", "first_id", "last_id", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref(item)},
            "first_id": {"type": ["string", "null"]},
            "last_id": {"type": ["string", "null"]},
            "has_more": {"type": "boolean"},
        },
    }


_MODEL_LIST: Final = {
    "type": "object",
    "required": ["object", "data"],
    "properties": {
        "object": {"const": "list"},
        "data": {"type": "array", "items": _ref("ModelCard")},
    },
}


_ERROR_RESPONSE: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


# --- request bodies, from the contract --------------------------------------------------------


def _string(max_length: int | None = None) -> dict[str, Any]:
    return {"type": "string"} if max_length is None else {"type": "string", "maxLength": max_length}


def _request_schemas() -> dict[str, Any]:
    metadata = {
        "type": ["object", "null"],
        "description": "At most 16 pairs; keys of at most 64 characters, string values of at "
        "most 512.",
        "maxProperties": v.METADATA_MAX_PAIRS,
        "propertyNames": {"maxLength": v.METADATA_KEY_MAX},
        "additionalProperties": _string(v.METADATA_VALUE_MAX),
    }
    function_object = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": "^[a-zA-Z0-9_-]+$",
                "minLength": 1,
                "maxLength": v.FUNCTION_NAME_MAX,
            },
            "description": {"type": ["string", "null"]},
            "parameters": {"type": ["object", "null"], "description": "A JSON Schema object."},
            "strict": {"type": ["boolean", "null"]},
        },
    }
    file_search_tool = {
        "type": "object",
        "additionalProperties": False,
        "required": ["type"],
        "properties": {
            "type": {"const": "file_search"},
            "file_search": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    "max_num_results": {
                        "type": ["integer", "null"],
                        "minimum": 1,
                        "maximum": 50,
                    },
                    "ranking_options": {
                        "type": ["object", "null"],
                        "additionalProperties": False,
                        "required": ["score_threshold"],
                        "properties": {
                            "ranker": {
                                "anyOf": [
                                    {"enum": ["auto", "default_2024_08_21"]},
                                    {"type": "null"},
                                ]
                            },
                            "score_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                },
            },
        },
    }
    tool = {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {"type": {"const": "code_interpreter"}},
            },
            file_search_tool,
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "function"],
                "properties": {"type": {"const": "function"}, "function": function_object},
            },
        ]
    }
    file_ids = {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "maxItems": v.FILE_IDS_MAX,
    }
    vector_store_ids = {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": 1}
    tool_resources: dict[str, Any] = {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {
            "code_interpreter": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {"file_ids": file_ids},
            },
            "file_search": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {"vector_store_ids": vector_store_ids},
            },
        },
    }
    chunking_strategy = {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {"type": {"const": "auto"}},
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "static"],
                "properties": {
                    "type": {"const": "static"},
                    "static": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["max_chunk_size_tokens", "chunk_overlap_tokens"],
                        "properties": {
                            "max_chunk_size_tokens": {
                                "type": "integer",
                                "minimum": 100,
                                "maximum": 4096,
                            },
                            "chunk_overlap_tokens": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "At most half of max_chunk_size_tokens.",
                            },
                        },
                    },
                },
            },
        ]
    }
    thread_tool_resources: dict[str, Any] = copy.deepcopy(tool_resources)
    thread_tool_resources["properties"]["file_search"]["properties"]["vector_stores"] = {
        "type": ["array", "null"],
        "maxItems": 1,
        "description": "A vector store to create with the thread; exclusive with vector_store_ids.",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "file_ids": {"type": "array", "items": {"type": "string"}, "maxItems": 10000},
                "chunking_strategy": chunking_strategy,
                "metadata": metadata,
            },
        },
    }
    response_format = {
        "description": 'The string "auto", or a response format object; echoed as given.',
        "anyOf": [
            {"const": "auto"},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {"type": {"enum": ["text", "json_object"]}},
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "json_schema"],
                "properties": {
                    "type": {"const": "json_schema"},
                    "json_schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {
                            "name": _string(64),
                            "description": {"type": ["string", "null"]},
                            "schema": {"type": ["object", "null"]},
                            "strict": {"type": ["boolean", "null"]},
                        },
                    },
                },
            },
            {"type": "null"},
        ],
    }
    tool_choice = {
        "anyOf": [
            {"enum": ["none", "auto", "required"]},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "function"],
                "properties": {
                    "type": {"const": "function"},
                    "function": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    },
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {"type": {"enum": ["code_interpreter", "file_search"]}},
            },
            {"type": "null"},
        ]
    }
    truncation_strategy = {
        "type": ["object", "null"],
        "additionalProperties": False,
        "required": ["type"],
        "properties": {
            "type": {"enum": ["auto", "last_messages"]},
            "last_messages": {"type": ["integer", "null"], "minimum": 1},
        },
    }
    detail = {"anyOf": [{"enum": ["auto", "low", "high"]}, {"type": "null"}]}
    content_part = {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "text"],
                "properties": {
                    "type": {"const": "text"},
                    "text": _string(v.MESSAGE_CONTENT_MAX),
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "image_file"],
                "properties": {
                    "type": {"const": "image_file"},
                    "image_file": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["file_id"],
                        "properties": {"file_id": {"type": "string"}, "detail": detail},
                    },
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "image_url"],
                "properties": {
                    "type": {"const": "image_url"},
                    "image_url": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["url"],
                        "properties": {"url": {"type": "string"}, "detail": detail},
                    },
                },
            },
        ]
    }
    attachments = {
        "type": ["array", "null"],
        "maxItems": v.MESSAGE_ATTACHMENTS_MAX,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "file_id": {"type": ["string", "null"]},
                "tools": {
                    "type": ["array", "null"],
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type"],
                        "properties": {"type": {"enum": ["code_interpreter", "file_search"]}},
                    },
                },
            },
        },
    }
    create_message = {
        "type": "object",
        "additionalProperties": False,
        "required": ["role", "content"],
        "properties": {
            "role": {"enum": ["user", "assistant"]},
            "content": {
                "anyOf": [
                    _string(v.MESSAGE_CONTENT_MAX),
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": v.MESSAGE_PARTS_MAX,
                        "items": _ref("MessageContentPartParam"),
                    },
                ]
            },
            "attachments": _ref("AttachmentsParam"),
            "metadata": _ref("MetadataParam"),
        },
    }
    create_thread = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "messages": {
                "type": ["array", "null"],
                "maxItems": v.THREAD_MESSAGES_MAX,
                "items": _ref("CreateMessageRequest"),
            },
            "tool_resources": _ref("ThreadToolResourcesParam"),
            "metadata": _ref("MetadataParam"),
        },
    }
    temperature = {"type": ["number", "null"], "minimum": 0, "maximum": 2}
    top_p = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    tokens = {"type": ["integer", "null"], "minimum": v.TOKENS_MIN}
    reasoning_effort = {
        "anyOf": [
            {"enum": ["none", "minimal", "low", "medium", "high", "xhigh", "max"]},
            {"type": "null"},
        ]
    }
    assistant_fields: dict[str, Any] = {
        "model": _string(256),
        "name": {"type": ["string", "null"], "maxLength": v.ASSISTANT_NAME_MAX},
        "description": {"type": ["string", "null"], "maxLength": v.ASSISTANT_DESCRIPTION_MAX},
        "instructions": {"type": ["string", "null"], "maxLength": v.INSTRUCTIONS_MAX},
        "tools": {
            "type": ["array", "null"],
            "items": _ref("ToolParam"),
            "maxItems": v.ASSISTANT_TOOLS_MAX,
        },
        "tool_resources": _ref("ToolResourcesParam"),
        "metadata": _ref("MetadataParam"),
        "temperature": temperature,
        "top_p": top_p,
        "response_format": _ref("ResponseFormatParam"),
        "reasoning_effort": _ref("ReasoningEffortParam"),
    }
    run_tools = {"type": ["array", "null"], "items": _ref("ToolParam"), "maxItems": v.RUN_TOOLS_MAX}
    run_common: dict[str, Any] = {
        "assistant_id": {"type": "string"},
        "model": {"type": ["string", "null"], "maxLength": 256},
        "instructions": {"type": ["string", "null"], "maxLength": v.INSTRUCTIONS_MAX},
        "tools": run_tools,
        "metadata": _ref("MetadataParam"),
        "temperature": temperature,
        "top_p": top_p,
        "stream": {"type": ["boolean", "null"]},
        "max_prompt_tokens": tokens,
        "max_completion_tokens": tokens,
        "truncation_strategy": _ref("TruncationStrategyParam"),
        "tool_choice": _ref("ToolChoiceParam"),
        "parallel_tool_calls": {"type": ["boolean", "null"]},
        "response_format": _ref("ResponseFormatParam"),
    }
    return {
        "MetadataParam": metadata,
        "ToolParam": tool,
        "ToolResourcesParam": tool_resources,
        "ThreadToolResourcesParam": thread_tool_resources,
        "ResponseFormatParam": response_format,
        "ToolChoiceParam": tool_choice,
        "TruncationStrategyParam": truncation_strategy,
        "ReasoningEffortParam": reasoning_effort,
        "MessageContentPartParam": content_part,
        "AttachmentsParam": attachments,
        "CreateAssistantRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["model"],
            "properties": assistant_fields,
        },
        "ModifyAssistantRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": assistant_fields,
        },
        "CreateThreadRequest": create_thread,
        "ModifyThreadRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "tool_resources": _ref("ToolResourcesParam"),
                "metadata": _ref("MetadataParam"),
            },
        },
        "CreateMessageRequest": create_message,
        "ModifyMetadataRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"metadata": _ref("MetadataParam")},
        },
        "CreateRunRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["assistant_id"],
            "properties": {
                **run_common,
                "additional_instructions": {
                    "type": ["string", "null"],
                    "maxLength": v.INSTRUCTIONS_MAX,
                },
                "additional_messages": {
                    "type": ["array", "null"],
                    "maxItems": v.THREAD_MESSAGES_MAX,
                    "items": _ref("CreateMessageRequest"),
                },
                "reasoning_effort": _ref("ReasoningEffortParam"),
            },
        },
        "CreateThreadAndRunRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["assistant_id"],
            "properties": {
                **run_common,
                "thread": _ref("CreateThreadRequest"),
                "tool_resources": _ref("ToolResourcesParam"),
            },
        },
        "SubmitToolOutputsRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tool_outputs"],
            "properties": {
                "tool_outputs": {
                    "type": "array",
                    "description": "One entry per pending tool call, all in one request.",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["tool_call_id"],
                        "properties": {
                            "tool_call_id": {"type": "string"},
                            "output": {"type": ["string", "null"], "maxLength": v.TOOL_OUTPUT_MAX},
                        },
                    },
                },
                "stream": {"type": ["boolean", "null"]},
            },
        },
        "ErrorResponse": _ERROR_RESPONSE,
    }


# --- stream events (CONTRACT §8) ---------------------------------------------------------------

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


def _stream_schemas() -> dict[str, Any]:
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

    return {
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
                event(["thread.created"], _ref("Thread")),
                event([f"thread.run.{e}" for e in _RUN_EVENTS], _ref("Run")),
                event([f"thread.run.step.{e}" for e in _STEP_EVENTS], _ref("RunStep")),
                event(["thread.run.step.delta"], _ref("RunStepDeltaEvent")),
                event([f"thread.message.{e}" for e in _MESSAGE_EVENTS], _ref("Message")),
                event(["thread.message.delta"], _ref("MessageDeltaEvent")),
                event(["error"], _ref("ErrorResponse")),
                {"properties": {"event": {"const": "done"}, "data": {"const": "[DONE]"}}},
            ],
        },
    }


# --- operations -------------------------------------------------------------------------------

_LIST = ("limit", "order", "after", "before")
_ID_PREFIX: Final = {
    "assistant_id": "asst",
    "thread_id": "thread",
    "message_id": "msg",
    "run_id": "run",
    "step_id": "step",
}


@dataclass(frozen=True)
class _Operation:
    operation_id: str
    summary: str
    tag: str
    response: str
    body: str | None = None
    body_required: bool = False
    query: tuple[str, ...] = ()
    streams: bool = False
    is_list: bool = False


_OPERATIONS: Final[dict[tuple[str, str], _Operation]] = {
    ("POST", "/v1/assistants"): _Operation(
        "createAssistant",
        "Create an assistant",
        "Assistants",
        "Assistant",
        body="CreateAssistantRequest",
        body_required=True,
    ),
    ("GET", "/v1/assistants"): _Operation(
        "listAssistants", "List assistants", "Assistants", "Assistant", query=_LIST, is_list=True
    ),
    ("GET", "/v1/assistants/{assistant_id}"): _Operation(
        "getAssistant", "Retrieve an assistant", "Assistants", "Assistant"
    ),
    ("POST", "/v1/assistants/{assistant_id}"): _Operation(
        "modifyAssistant",
        "Modify an assistant",
        "Assistants",
        "Assistant",
        body="ModifyAssistantRequest",
    ),
    ("DELETE", "/v1/assistants/{assistant_id}"): _Operation(
        "deleteAssistant", "Delete an assistant", "Assistants", "AssistantDeleted"
    ),
    ("POST", "/v1/threads"): _Operation(
        "createThread", "Create a thread", "Threads", "Thread", body="CreateThreadRequest"
    ),
    ("POST", "/v1/threads/runs"): _Operation(
        "createThreadAndRun",
        "Create a thread and run it",
        "Runs",
        "Run",
        body="CreateThreadAndRunRequest",
        body_required=True,
        streams=True,
    ),
    ("GET", "/v1/threads/{thread_id}"): _Operation(
        "getThread", "Retrieve a thread", "Threads", "Thread"
    ),
    ("POST", "/v1/threads/{thread_id}"): _Operation(
        "modifyThread", "Modify a thread", "Threads", "Thread", body="ModifyThreadRequest"
    ),
    ("DELETE", "/v1/threads/{thread_id}"): _Operation(
        "deleteThread", "Delete a thread", "Threads", "ThreadDeleted"
    ),
    ("POST", "/v1/threads/{thread_id}/messages"): _Operation(
        "createMessage",
        "Create a message",
        "Messages",
        "Message",
        body="CreateMessageRequest",
        body_required=True,
    ),
    ("GET", "/v1/threads/{thread_id}/messages"): _Operation(
        "listMessages",
        "List messages",
        "Messages",
        "Message",
        query=(*_LIST, "run_id"),
        is_list=True,
    ),
    ("GET", "/v1/threads/{thread_id}/messages/{message_id}"): _Operation(
        "getMessage", "Retrieve a message", "Messages", "Message"
    ),
    ("POST", "/v1/threads/{thread_id}/messages/{message_id}"): _Operation(
        "modifyMessage", "Modify a message", "Messages", "Message", body="ModifyMetadataRequest"
    ),
    ("DELETE", "/v1/threads/{thread_id}/messages/{message_id}"): _Operation(
        "deleteMessage", "Delete a message", "Messages", "MessageDeleted"
    ),
    ("POST", "/v1/threads/{thread_id}/runs"): _Operation(
        "createRun",
        "Create a run",
        "Runs",
        "Run",
        body="CreateRunRequest",
        body_required=True,
        query=("include[]",),
        streams=True,
    ),
    ("GET", "/v1/threads/{thread_id}/runs"): _Operation(
        "listRuns", "List runs", "Runs", "Run", query=_LIST, is_list=True
    ),
    ("GET", "/v1/threads/{thread_id}/runs/{run_id}"): _Operation(
        "getRun", "Retrieve a run", "Runs", "Run"
    ),
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}"): _Operation(
        "modifyRun", "Modify a run", "Runs", "Run", body="ModifyMetadataRequest"
    ),
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}/cancel"): _Operation(
        "cancelRun", "Cancel a run", "Runs", "Run"
    ),
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): _Operation(
        "submitToolOuputsToRun",
        "Submit tool outputs to a run",
        "Runs",
        "Run",
        body="SubmitToolOutputsRequest",
        body_required=True,
        streams=True,
    ),
    ("GET", "/v1/threads/{thread_id}/runs/{run_id}/steps"): _Operation(
        "listRunSteps",
        "List run steps",
        "Run steps",
        "RunStep",
        query=(*_LIST, "include[]"),
        is_list=True,
    ),
    ("GET", "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}"): _Operation(
        "getRunStep", "Retrieve a run step", "Run steps", "RunStep", query=("include[]",)
    ),
    ("GET", "/v1/models"): _Operation("listModels", "List models", "Models", "ModelList"),
    ("GET", "/v1/models/{model}"): _Operation(
        "retrieveModel", "Retrieve a model", "Models", "ModelCard"
    ),
}

_QUERY_PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "limit": {
        "description": "How many objects to return, 1 to 100 (default 20).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    "order": {
        "description": "Sort by `created_at`: `asc` or `desc` (default).",
        "schema": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    },
    "after": {
        "description": "A cursor: the id of the object the page starts after.",
        "schema": {"type": "string"},
    },
    "before": {
        "description": "A cursor: the id of the object the page ends before.",
        "schema": {"type": "string"},
    },
    "run_id": {
        "description": "Only the messages this run produced.",
        "schema": {"type": "string"},
    },
    "include[]": {
        "description": "Extra fields to include in run steps.",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "enum": [v.ALLOWED_INCLUDE]}},
    },
}

_ERRORS: Final = {
    "400": "Invalid request: a malformed id, a field failing validation, or a state conflict.",
    "401": "Missing or unknown API key.",
    "403": "A web page's Origin that is not in the server's CORS origins.",
    "404": "No such object (for this API key), or no such URL.",
    "413": "The request body is larger than the server accepts.",
    "415": "A request body that is not sent as application/json.",
}


def _parameters(path: str, operation: _Operation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for segment in path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            if name == "model":
                out.append(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "description": "A model id, as `GET /v1/models` lists it.",
                        "schema": {"type": "string", "maxLength": v.MODEL_NAME_MAX},
                    }
                )
                continue
            prefix = _ID_PREFIX[name]
            out.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "description": f"An id beginning with '{prefix}'.",
                    "schema": {"type": "string", "pattern": f"^{prefix}", "maxLength": 128},
                }
            )
    for name in operation.query:
        out.append({"name": name, "in": "query", "required": False, **_QUERY_PARAMETERS[name]})
    return out


def _operation(path: str, operation: _Operation) -> dict[str, Any]:
    result = _list_schema(operation.response) if operation.is_list else _ref(operation.response)
    content: dict[str, Any] = {JSON: {"schema": result}}
    if operation.streams:
        content[SSE] = {"schema": _ref("AssistantStreamEvent")}
    responses: dict[str, Any] = {"200": {"description": "OK", "content": content}}
    for status, description in _ERRORS.items():
        responses[status] = {
            "description": description,
            "content": {JSON: {"schema": _ref("ErrorResponse")}},
        }
    spec: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _parameters(path, operation),
        "responses": responses,
    }
    if operation.body is not None:
        spec["requestBody"] = {
            "required": operation.body_required,
            "content": {JSON: {"schema": _ref(operation.body)}},
        }
    return spec


def _components() -> dict[str, Any]:
    parts = (
        _response_schemas(),
        _request_schemas(),
        _stream_schemas(),
        {"ModelList": copy.deepcopy(_MODEL_LIST)},
    )
    merged: dict[str, Any] = {}
    for part in parts:
        clash = merged.keys() & part.keys()
        if clash:
            raise RuntimeError(f"OpenAPI component names used twice: {sorted(clash)}")
        merged.update(part)
    return merged


def build_schema(app: FastAPI) -> dict[str, Any]:
    """The document for `app`'s contract routes (not cached; see `openapi_schema`)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in iter_route_contexts(app.routes):  # through included routers too
        path = route.path_format  # `{model:path}` documented as `{model}`
        if (
            not isinstance(route.original_route, APIRoute)
            or not path
            or not path.startswith("/v1/")
        ):
            continue
        for method in sorted(route.methods or ()):
            operation = _OPERATIONS.get((method, path))
            if operation is not None:
                paths.setdefault(path, {})[method.lower()] = _operation(path, operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": app.title,
            "version": app.version,
            "description": "OpenAI Assistants API v2, self-hosted. Request bodies are JSON; "
            "list endpoints page with `after` / `before` cursors.",
        },
        "paths": paths,
        "components": {
            "schemas": _components(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`, built once and cached on `app.openapi_schema`."""
    if app.openapi_schema is None:
        app.openapi_schema = build_schema(app)
    return app.openapi_schema
