"""The pieces request bodies share (`...Param`: metadata, tools, tool resources, formats, content
parts, attachments), written from the contract's request shapes and limits (CONTRACT §2.1, §7.1).

The routes read their bodies by hand, so that errors carry OpenAI's wording; these schemas say
what those checks accept (the limits are the validation's own constants)."""

from __future__ import annotations

import copy
from typing import Any

from assistants import validation as v


def string_schema(max_length: int | None = None) -> dict[str, Any]:
    return {"type": "string"} if max_length is None else {"type": "string", "maxLength": max_length}


def param_schemas() -> dict[str, Any]:
    """The `...Param` schemas, by name."""
    metadata = {
        "type": ["object", "null"],
        "description": "At most 16 pairs; keys of at most 64 characters, string values of at "
        "most 512.",
        "maxProperties": v.METADATA_MAX_PAIRS,
        "propertyNames": {"maxLength": v.METADATA_KEY_MAX},
        "additionalProperties": string_schema(v.METADATA_VALUE_MAX),
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
                            "name": string_schema(64),
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
                    "text": string_schema(v.MESSAGE_CONTENT_MAX),
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
    reasoning_effort = {
        "anyOf": [
            {"enum": ["none", "minimal", "low", "medium", "high", "xhigh", "max"]},
            {"type": "null"},
        ]
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
    }
