"""Delta objects, in OpenAI's exact wire shapes (Assistants API v2): the `data` of
`thread.message.delta` and `thread.run.step.delta` events (`store.events`).

Every field is optional except the `index` and `type` that drive accumulation (CONTRACT §8.5):
a delta carries only what changed, and each list entry says where in the snapshot it goes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field

from store.types import Model

# --- message deltas -------------------------------------------------------------------------


class _Indexed(Model):
    """A list entry fragment: `index` is its position in the accumulated list."""

    index: int


class FileCitationDelta(Model):
    file_id: str | None = None
    quote: str | None = None


class FilePathDelta(Model):
    file_id: str | None = None


class _AnnotationDelta(_Indexed):
    text: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class FileCitationDeltaAnnotation(_AnnotationDelta):
    type: Literal["file_citation"] = "file_citation"
    file_citation: FileCitationDelta | None = None


class FilePathDeltaAnnotation(_AnnotationDelta):
    type: Literal["file_path"] = "file_path"
    file_path: FilePathDelta | None = None


AnnotationDelta: TypeAlias = Annotated[
    FileCitationDeltaAnnotation | FilePathDeltaAnnotation, Field(discriminator="type")
]


class TextDelta(Model):
    """A fragment of text: `value` is appended to the snapshot's value."""

    value: str | None = None
    annotations: list[AnnotationDelta] | None = None


class TextDeltaBlock(_Indexed):
    type: Literal["text"] = "text"
    text: TextDelta | None = None


class ImageFileDelta(Model):
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class ImageFileDeltaBlock(_Indexed):
    type: Literal["image_file"] = "image_file"
    image_file: ImageFileDelta | None = None


class ImageURLDelta(Model):
    url: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class ImageURLDeltaBlock(_Indexed):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURLDelta | None = None


class RefusalDeltaBlock(_Indexed):
    type: Literal["refusal"] = "refusal"
    refusal: str | None = None


MessageContentDelta: TypeAlias = Annotated[
    TextDeltaBlock | ImageFileDeltaBlock | ImageURLDeltaBlock | RefusalDeltaBlock,
    Field(discriminator="type"),
]


class MessageDelta(Model):
    """The changed fields of a message: new content fragments (and, rarely, the role)."""

    role: Literal["user", "assistant"] | None = None
    content: list[MessageContentDelta] | None = None


class MessageDeltaEvent(Model):
    """`data` of `thread.message.delta`."""

    id: str
    object: Literal["thread.message.delta"] = "thread.message.delta"
    delta: MessageDelta


# --- run step deltas ------------------------------------------------------------------------


class FunctionDelta(Model):
    name: str | None = None
    arguments: str | None = None
    output: str | None = None


class _ToolCallDelta(_Indexed):
    """A tool call fragment: `id` (and a function's `name`) come in the first fragment only."""

    id: str | None = None


class FunctionToolCallDelta(_ToolCallDelta):
    type: Literal["function"] = "function"
    function: FunctionDelta | None = None


class CodeInterpreterLogsDelta(_Indexed):
    type: Literal["logs"] = "logs"
    logs: str | None = None


class CodeInterpreterImageFileDelta(Model):
    file_id: str | None = None


class CodeInterpreterImageDelta(_Indexed):
    type: Literal["image"] = "image"
    image: CodeInterpreterImageFileDelta | None = None


CodeInterpreterOutputDelta: TypeAlias = Annotated[
    CodeInterpreterLogsDelta | CodeInterpreterImageDelta, Field(discriminator="type")
]


class CodeInterpreterDelta(Model):
    input: str | None = None
    outputs: list[CodeInterpreterOutputDelta] | None = None


class CodeInterpreterToolCallDelta(_ToolCallDelta):
    type: Literal["code_interpreter"] = "code_interpreter"
    code_interpreter: CodeInterpreterDelta | None = None


class FileSearchToolCallDelta(_ToolCallDelta):
    type: Literal["file_search"] = "file_search"
    file_search: dict[str, Any] = Field(default_factory=dict)


ToolCallDelta: TypeAlias = Annotated[
    FunctionToolCallDelta | CodeInterpreterToolCallDelta | FileSearchToolCallDelta,
    Field(discriminator="type"),
]


class ToolCallDeltaObject(Model):
    """`step_details` fragment of a `tool_calls` step; each entry carries its `index`."""

    type: Literal["tool_calls"] = "tool_calls"
    tool_calls: list[ToolCallDelta] | None = None


class MessageCreationDelta(Model):
    message_id: str | None = None


class RunStepDeltaMessageDelta(Model):
    """`step_details` fragment of a `message_creation` step (in the schema, unused in practice)."""

    type: Literal["message_creation"] = "message_creation"
    message_creation: MessageCreationDelta | None = None


RunStepDeltaDetails: TypeAlias = Annotated[
    RunStepDeltaMessageDelta | ToolCallDeltaObject, Field(discriminator="type")
]


class RunStepDelta(Model):
    step_details: RunStepDeltaDetails | None = None


class RunStepDeltaEvent(Model):
    """`data` of `thread.run.step.delta`."""

    id: str
    object: Literal["thread.run.step.delta"] = "thread.run.step.delta"
    delta: RunStepDelta
