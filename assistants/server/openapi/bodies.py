"""Request bodies (`Create...Request`, `Modify...Request`), written from the contract's request
shapes and limits (CONTRACT §2.1, §7.1) over the shared pieces of `requests`."""

from __future__ import annotations

from typing import Any

from assistants import validation as v
from assistants.server.openapi.common import ref
from assistants.server.openapi.extension_bodies import extension_body_schemas
from assistants.server.openapi.requests import param_schemas, string_schema
from assistants.server.openapi.responses import ERROR_RESPONSE


def request_schemas() -> dict[str, Any]:
    """Every request body and the pieces they share, with OpenAI's error shape."""
    return {**param_schemas(), **_body_schemas(), **extension_body_schemas()}


def _body_schemas() -> dict[str, Any]:
    create_message = {
        "type": "object",
        "additionalProperties": False,
        "required": ["role", "content"],
        "properties": {
            "role": {"enum": ["user", "assistant"]},
            "content": {
                "anyOf": [
                    string_schema(v.MESSAGE_CONTENT_MAX),
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": v.MESSAGE_PARTS_MAX,
                        "items": ref("MessageContentPartParam"),
                    },
                ]
            },
            "attachments": ref("AttachmentsParam"),
            "metadata": ref("MetadataParam"),
        },
    }
    create_thread = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "messages": {
                "type": ["array", "null"],
                "maxItems": v.THREAD_MESSAGES_MAX,
                "items": ref("CreateMessageRequest"),
            },
            "tool_resources": ref("ThreadToolResourcesParam"),
            "metadata": ref("MetadataParam"),
        },
    }
    temperature = {"type": ["number", "null"], "minimum": 0, "maximum": 2}
    top_p = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    tokens = {"type": ["integer", "null"], "minimum": v.TOKENS_MIN}
    assistant_fields: dict[str, Any] = {
        "model": string_schema(256),
        "name": {"type": ["string", "null"], "maxLength": v.ASSISTANT_NAME_MAX},
        "description": {"type": ["string", "null"], "maxLength": v.ASSISTANT_DESCRIPTION_MAX},
        "instructions": {"type": ["string", "null"], "maxLength": v.INSTRUCTIONS_MAX},
        "tools": {
            "type": ["array", "null"],
            "items": ref("ToolParam"),
            "maxItems": v.ASSISTANT_TOOLS_MAX,
        },
        "tool_resources": ref("ToolResourcesParam"),
        "metadata": ref("MetadataParam"),
        "temperature": temperature,
        "top_p": top_p,
        "response_format": ref("ResponseFormatParam"),
        "reasoning_effort": ref("ReasoningEffortParam"),
    }
    run_tools = {"type": ["array", "null"], "items": ref("ToolParam"), "maxItems": v.RUN_TOOLS_MAX}
    run_common: dict[str, Any] = {
        "assistant_id": {"type": "string"},
        "model": {"type": ["string", "null"], "maxLength": 256},
        "instructions": {"type": ["string", "null"], "maxLength": v.INSTRUCTIONS_MAX},
        "tools": run_tools,
        "metadata": ref("MetadataParam"),
        "temperature": temperature,
        "top_p": top_p,
        "stream": {"type": ["boolean", "null"]},
        "max_prompt_tokens": tokens,
        "max_completion_tokens": tokens,
        "truncation_strategy": ref("TruncationStrategyParam"),
        "tool_choice": ref("ToolChoiceParam"),
        "parallel_tool_calls": {"type": ["boolean", "null"]},
        "response_format": ref("ResponseFormatParam"),
    }
    return {
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
                "tool_resources": ref("ToolResourcesParam"),
                "metadata": ref("MetadataParam"),
            },
        },
        "CreateMessageRequest": create_message,
        "ModifyMetadataRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"metadata": ref("MetadataParam")},
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
                    "items": ref("CreateMessageRequest"),
                },
                "reasoning_effort": ref("ReasoningEffortParam"),
            },
        },
        "CreateThreadAndRunRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["assistant_id"],
            "properties": {
                **run_common,
                "thread": ref("CreateThreadRequest"),
                "tool_resources": ref("ToolResourcesParam"),
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
        "ErrorResponse": ERROR_RESPONSE,
    }
