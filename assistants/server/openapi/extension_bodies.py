"""Request bodies of the routes beyond the Assistants API: chat completions and prompts here,
file uploads and vector stores in `file_bodies`, written from what their validation accepts
(its limits and its lists of accepted fields, which tests/conformance/test_openapi_bodies.py
holds these to)."""

from __future__ import annotations

from typing import Any

from assistants import validation as v
from assistants.server.openapi.common import SPAN_PATTERN, TRACE_PATTERN, ref
from assistants.server.openapi.file_bodies import file_body_schemas
from assistants.server.openapi.requests import string_schema
from assistants.validation import completions as cv
from assistants.validation import prompts as pv
from runtime.providers.names import MODEL_PATTERN

_SLUG = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_NULL = {"type": "null"}
_MODEL = {"type": "string", "minLength": 1, "maxLength": v.MODEL_NAME_MAX, "pattern": MODEL_PATTERN}
_COUNT = {"type": ["integer", "null"], "minimum": 1, "maximum": v.INTEGER_MAX}


def _nullable(*types: str) -> dict[str, Any]:
    return {"type": [*types, "null"]}


def _number(minimum: float, maximum: float) -> dict[str, Any]:
    return {"type": ["number", "null"], "minimum": minimum, "maximum": maximum}


def _strings(max_items: int, max_length: int | None = None) -> dict[str, Any]:
    return {"type": ["array", "null"], "maxItems": max_items, "items": string_schema(max_length)}


def _stop(max_items: int) -> dict[str, Any]:
    return {"anyOf": [{"type": "string"}, {"type": "array", "maxItems": max_items}, _NULL]}


def _unique(values: tuple[object, ...]) -> list[object]:
    out: list[object] = []
    for value in values:
        if not any(value == seen and type(value) is type(seen) for seen in out):
            out.append(value)
    return out


def extension_body_schemas() -> dict[str, Any]:
    return {**_completion_bodies(), **_prompt_bodies(), **file_body_schemas()}


def _completion_bodies() -> dict[str, Any]:
    message = {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
            "content": {"type": ["string", "array", "null"]},
            "name": _nullable("string"),
            "tool_calls": _nullable("array"),
            "tool_call_id": _nullable("string"),
        },
    }
    trace = {
        "tags": _strings(cv.TAGS_MAX, cv.TRACE_STRING_MAX),
        "user_id": {"type": ["string", "null"], "maxLength": cv.TRACE_STRING_MAX},
        "session_id": {"type": ["string", "null"], "maxLength": cv.TRACE_STRING_MAX},
        "group_id": {"type": ["string", "null"], "maxLength": cv.TRACE_STRING_MAX},
        "trace_id": {"type": ["string", "null"], "pattern": TRACE_PATTERN},
        "parent_span_id": {"type": ["string", "null"], "pattern": SPAN_PATTERN},
        "metadata": ref("MetadataParam"),
        "send_trace": _nullable("boolean"),
        "store_content": _nullable("boolean"),
    }
    accepted_only = {
        name: {"description": "Accepted and without effect (OpenAI's hosted bookkeeping)."}
        for name in sorted(cv.IGNORED_PARAMS)
    }
    neutral = {
        name: {
            "description": "Not supported by this server: accepted only with this value.",
            "enum": _unique(values),
        }
        for name, values in cv.NEUTRAL_PARAMS.items()
    }
    properties: dict[str, Any] = {
        "model": _MODEL,
        "messages": {
            "type": "array",
            "minItems": 1,
            "maxItems": cv.MESSAGES_MAX,
            "items": message,
        },
        "stream": _nullable("boolean"),
        "stream_options": {
            "type": ["object", "null"],
            "properties": {"include_usage": _nullable("boolean")},
        },
        "temperature": _number(0, 2),
        "top_p": _number(0, 1),
        "max_tokens": _COUNT,
        "max_completion_tokens": _COUNT,
        "stop": _stop(cv.STOP_MAX),
        "tools": {"type": ["array", "null"], "maxItems": 128, "items": ref("ToolParam")},
        "tool_choice": {
            "anyOf": [
                {"enum": ["none", "auto", "required"]},
                {"type": "object"},
                _NULL,
            ]
        },
        "parallel_tool_calls": _nullable("boolean"),
        "response_format": ref("ResponseFormatParam"),
        "timeout": _number(0.001, cv.TIMEOUT_MAX),
        "num_retries": {"type": ["integer", "null"], "minimum": 0, "maximum": cv.RETRIES_MAX},
        "fallbacks": {
            "type": ["array", "null"],
            "maxItems": v.FALLBACKS_MAX,
            "items": string_schema(v.MODEL_NAME_MAX),
        },
        "variables": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
        "provider": {"type": ["string", "null"], "maxLength": cv.TRACE_STRING_MAX},
        "api_key": {"type": ["string", "null"], "maxLength": 4096},
        "api_base": {"type": ["string", "null"], "maxLength": 2048},
        "span_id": {"type": ["string", "null"], "pattern": SPAN_PATTERN},
        **trace,
        **accepted_only,
        **neutral,
    }
    return {
        "CreateChatCompletionRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["model", "messages"],
            "properties": properties,
        }
    }


def _prompt_bodies() -> dict[str, Any]:
    name = {"type": "string", "pattern": _SLUG, "maxLength": pv.PROMPT_NAME_MAX}
    label = {"type": "string", "pattern": _SLUG, "maxLength": pv.LABEL_MAX}
    version = {"type": "integer", "minimum": 1, "maximum": v.INTEGER_MAX}
    template_message = {
        "type": "object",
        "additionalProperties": False,
        "required": ["role", "content"],
        "properties": {
            "role": {"enum": list(pv.TEMPLATE_ROLES)},
            "content": {
                "anyOf": [
                    string_schema(v.MESSAGE_CONTENT_MAX),
                    {"type": "array", "minItems": 1, "items": {"type": "object"}},
                ]
            },
            "name": {"type": ["string", "null"], "maxLength": pv.PROMPT_NAME_MAX},
        },
    }
    return {
        "CreatePromptRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": name,
                "description": {
                    "type": ["string", "null"],
                    "maxLength": v.ASSISTANT_DESCRIPTION_MAX,
                },
                "metadata": ref("MetadataParam"),
            },
        },
        "CreatePromptVersionRequest": {
            "type": "object",
            "additionalProperties": False,
            "description": "A template: `messages` or `instructions`, exactly one.",
            "oneOf": [
                {"required": ["messages"], "properties": {"messages": {"type": "array"}}},
                {"required": ["instructions"], "properties": {"instructions": {"type": "string"}}},
            ],
            "properties": {
                "messages": {
                    "type": ["array", "null"],
                    "minItems": 1,
                    "maxItems": v.THREAD_MESSAGES_MAX,
                    "items": template_message,
                },
                "instructions": {"type": ["string", "null"], "maxLength": v.INSTRUCTIONS_MAX},
                "model": {"anyOf": [_MODEL, _NULL]},
                "temperature": _number(0, 2),
                "top_p": _number(0, 1),
                "max_tokens": _COUNT,
                "stop": _stop(pv.STOP_MAX),
                "response_format": ref("ResponseFormatParam"),
                "tools": {
                    "type": ["array", "null"],
                    "maxItems": v.ASSISTANT_TOOLS_MAX,
                    "items": ref("ToolParam"),
                },
                "tool_choice": ref("ToolChoiceParam"),
                "commit_message": {
                    "type": ["string", "null"],
                    "maxLength": pv.COMMIT_MESSAGE_MAX,
                },
            },
        },
        "SetPromptLabelRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["label", "version"],
            "properties": {
                "label": label,
                "version": version,
                "expected_version": {
                    **_COUNT,
                    "description": "The version the label must point at now (compare-and-set).",
                },
            },
        },
        "RunPromptRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "prompt_version": _COUNT,
                "prompt_release_label": {**label, "type": ["string", "null"]},
                "input_variables": {
                    "type": ["object", "null"],
                    "additionalProperties": {"type": "string"},
                },
                "tags": _strings(cv.TAGS_MAX, cv.TRACE_STRING_MAX),
                "metadata": ref("MetadataParam"),
                "group_id": {"type": ["string", "null"], "maxLength": cv.TRACE_STRING_MAX},
                "model_parameter_overrides": _nullable("object"),
                "provider": {"type": ["string", "null"], "maxLength": cv.TRACE_STRING_MAX},
                "model": {"anyOf": [_MODEL, _NULL]},
                "stream": _nullable("boolean"),
            },
        },
    }
