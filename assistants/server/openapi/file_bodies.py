"""Request bodies of file uploads and vector stores, written from what their validation
accepts (`assistants.validation.vector_stores`; tests/conformance/test_openapi_bodies.py holds
them to it)."""

from __future__ import annotations

from typing import Any

from assistants.server.openapi.common import ref
from assistants.server.openapi.requests import string_schema
from assistants.validation import vector_stores as vv
from store.filetypes import UPLOAD_PURPOSES

_NULL = {"type": "null"}


def file_body_schemas() -> dict[str, Any]:
    chunking = {
        "anyOf": [
            {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"const": "auto"}},
            },
            {
                "type": "object",
                "required": ["type", "static"],
                "properties": {
                    "type": {"const": "static"},
                    "static": {
                        "type": "object",
                        "required": ["max_chunk_size_tokens", "chunk_overlap_tokens"],
                        "properties": {
                            "max_chunk_size_tokens": {
                                "type": "integer",
                                "minimum": vv.CHUNK_TOKENS_MIN,
                                "maximum": vv.CHUNK_TOKENS_MAX,
                            },
                            "chunk_overlap_tokens": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": vv.CHUNK_TOKENS_MAX // 2,
                                "description": "At most half of max_chunk_size_tokens.",
                            },
                        },
                    },
                },
            },
            _NULL,
        ]
    }
    attributes = {
        "type": ["object", "null"],
        "maxProperties": vv.ATTRIBUTES_MAX,
        "propertyNames": {"maxLength": vv.ATTRIBUTE_KEY_MAX},
        "additionalProperties": {
            "anyOf": [
                string_schema(vv.ATTRIBUTE_VALUE_MAX),
                {"type": "number"},
                {"type": "boolean"},
            ]
        },
    }
    expires_after = {
        "type": ["object", "null"],
        "required": ["anchor", "days"],
        "properties": {
            "anchor": {"const": "last_active_at"},
            "days": {"type": "integer", "minimum": 1, "maximum": 365},
        },
    }
    file_ids = {
        "type": ["array", "null"],
        "maxItems": vv.VECTOR_STORE_FILE_IDS_MAX,
        "items": {"type": "string", "pattern": "^file", "maxLength": 128},
    }
    name = {"type": ["string", "null"], "maxLength": vv.VECTOR_STORE_NAME_MAX}
    comparison = {
        "type": "object",
        "required": ["type", "key", "value"],
        "properties": {
            "type": {"enum": ["eq", "ne", "gt", "gte", "lt", "lte"]},
            "key": string_schema(vv.ATTRIBUTE_KEY_MAX),
            "value": {"type": ["string", "number", "boolean"]},
        },
    }
    compound = {
        "type": "object",
        "required": ["type", "filters"],
        "properties": {
            "type": {"enum": ["and", "or"]},
            "filters": {
                "type": "array",
                "minItems": 1,
                "maxItems": 32,
                "items": {"type": "object", "required": ["type"]},
            },
        },
    }
    return {
        "CreateFileRequest": {
            "type": "object",
            "required": ["file", "purpose"],
            "dependentRequired": {
                "expires_after[anchor]": ["expires_after[seconds]"],
                "expires_after[seconds]": ["expires_after[anchor]"],
            },
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "purpose": {"enum": list(UPLOAD_PURPOSES)},
                "expires_after[anchor]": {"const": "created_at"},
                "expires_after[seconds]": {"type": "integer", "minimum": 3600, "maximum": 2592000},
            },
        },
        "CreateVectorStoreRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "chunking_strategy": chunking,
                "description": {"type": ["string", "null"]},
                "expires_after": expires_after,
                "file_ids": file_ids,
                "metadata": ref("MetadataParam"),
                "name": name,
            },
        },
        "UpdateVectorStoreRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "expires_after": expires_after,
                "metadata": ref("MetadataParam"),
                "name": name,
            },
        },
        "CreateVectorStoreFileRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["file_id"],
            "properties": {
                "file_id": {"type": "string", "pattern": "^file", "maxLength": 128},
                "attributes": attributes,
                "chunking_strategy": chunking,
            },
        },
        "UpdateVectorStoreFileRequest": {
            "type": "object",
            "description": "Other keys are ignored.",
            "properties": {"attributes": attributes},
        },
        "CreateVectorStoreFileBatchRequest": {
            "type": "object",
            "additionalProperties": False,
            "description": "`file_ids`, or `files` each with its own attributes.",
            "anyOf": [
                {
                    "required": ["file_ids"],
                    "properties": {"file_ids": {"type": "array", "minItems": 1}},
                },
                {"required": ["files"], "properties": {"files": {"type": "array", "minItems": 1}}},
            ],
            "properties": {
                "file_ids": file_ids,
                "files": {
                    "type": ["array", "null"],
                    "maxItems": vv.VECTOR_STORE_FILE_IDS_MAX,
                    "items": {
                        "type": "object",
                        "required": ["file_id"],
                        "properties": {
                            "file_id": {"type": "string", "pattern": "^file"},
                            "attributes": attributes,
                        },
                    },
                },
                "attributes": attributes,
                "chunking_strategy": chunking,
            },
        },
        "SearchVectorStoreRequest": {
            "type": "object",
            "description": "Other keys are ignored.",
            "required": ["query"],
            "properties": {
                "query": {
                    "anyOf": [
                        string_schema(4096),
                        {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 16,
                            "items": string_schema(4096),
                        },
                    ]
                },
                "filters": {"anyOf": [comparison, compound, _NULL]},
                "max_num_results": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "maximum": vv.SEARCH_RESULTS_MAX,
                },
                "ranking_options": {
                    "type": ["object", "null"],
                    "properties": {
                        "ranker": {
                            "enum": ["auto", "default-2024-11-15", "default_2024_08_21", "none"]
                        },
                        "score_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                },
                "rewrite_query": {"type": ["boolean", "null"]},
            },
        },
    }
