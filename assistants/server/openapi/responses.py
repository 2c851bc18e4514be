"""Response objects, generated from the wire models in `store.types`, `store.completion_types`,
`store.prompt_types`, `store.filetypes` and `store.span_types` (every field a plain model serialises
is required, nulls included; the `OmitNone` pieces leave unset keys out), and OpenAI's error
shape."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from assistants.server.openapi.common import ref
from store import completion_types, filetypes, prompt_types, span_types, types

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
    completion_types.ChatCompletion,
    completion_types.ChatCompletionChunk,
    prompt_types.Prompt,
    prompt_types.PromptDeleted,
    prompt_types.PromptVersion,
    prompt_types.PromptLabel,
    prompt_types.PromptLabelList,
    prompt_types.PromptLabelDeleted,
    prompt_types.PromptRun,
    filetypes.FileObject,
    filetypes.FileDeleted,
    filetypes.VectorStore,
    filetypes.VectorStoreDeleted,
    filetypes.VectorStoreFile,
    filetypes.VectorStoreFileDeleted,
    filetypes.VectorStoreFileBatch,
    filetypes.SearchPage,
    span_types.Span,
    span_types.Trace,
)


def response_schemas() -> dict[str, Any]:
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
    top_level = {
        model.__name__ for model in _RESPONSE_MODELS if not issubclass(model, types.OmitNone)
    }
    for name, schema in defs.items():
        properties = schema.get("properties")
        if not properties:
            continue
        if name in top_level:
            schema["required"] = list(properties)
        elif (
            "type" in properties
            and "anyOf" not in properties["type"]  # a nullable `type` is no discriminator
            and "type" not in schema.get("required", [])
        ):
            schema["required"] = ["type", *schema.get("required", [])]
    return defs


def list_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["object", "data", "first_id", "last_id", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": ref(item)},
            "first_id": {"type": ["string", "null"]},
            "last_id": {"type": ["string", "null"]},
            "has_more": {"type": "boolean"},
        },
    }


MODEL_LIST: Final = {
    "type": "object",
    "required": ["object", "data"],
    "properties": {
        "object": {"const": "list"},
        "data": {"type": "array", "items": ref("ModelCard")},
    },
}

FILE_CONTENT: Final = {
    "type": "string",
    "format": "binary",
    "description": "The file's bytes, as uploaded.",
}


ERROR_RESPONSE: Final = {
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
