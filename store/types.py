"""The object vocabulary, in OpenAI's exact wire shapes (Assistants API v2).

Defined once, here at the bottom of the stack, and re-exported by `assistants.types`. Every model
serialises with `model_dump(mode="json")` to the JSON the real API sends, nulls included; a test
validates each against the openai SDK's own models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

Metadata: TypeAlias = dict[str, str]

# The statuses as the wire types spell them: the same members, in the same order, as the enums of
# `store.statuses` (tests/store/test_statuses.py holds them to it).
RunStatus: TypeAlias = Literal[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]
RunStepStatus: TypeAlias = Literal["in_progress", "cancelled", "failed", "completed", "expired"]
MessageStatus: TypeAlias = Literal["in_progress", "incomplete", "completed"]


class Model(BaseModel):
    """Base of every wire object: extension fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict the API sends for this object."""
        return self.model_dump(mode="json", by_alias=True)


class OmitNone(Model):
    """A nested object whose unset optional keys are left out, as the API sends them."""

    @model_serializer(mode="wrap")
    def _omit_none(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


# --- tools ---------------------------------------------------------------------------------


class FunctionDefinition(OmitNone):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(Model):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class CodeInterpreterTool(Model):
    type: Literal["code_interpreter"] = "code_interpreter"


class FileSearchRankingOptions(OmitNone):
    score_threshold: float
    ranker: Literal["auto", "default_2024_08_21"] | None = None


class FileSearch(OmitNone):
    max_num_results: int | None = None
    ranking_options: FileSearchRankingOptions | None = None


class FileSearchTool(Model):
    type: Literal["file_search"] = "file_search"
    file_search: FileSearch | None = None


Tool: TypeAlias = Annotated[
    FunctionTool | CodeInterpreterTool | FileSearchTool, Field(discriminator="type")
]


class ToolResourcesCodeInterpreter(Model):
    file_ids: list[str] | None = None


class ToolResourcesFileSearch(Model):
    vector_store_ids: list[str] | None = None


class ToolResources(OmitNone):
    code_interpreter: ToolResourcesCodeInterpreter | None = None
    file_search: ToolResourcesFileSearch | None = None


# --- response format, tool choice, truncation -----------------------------------------------


class ResponseFormatText(Model):
    type: Literal["text"] = "text"


class ResponseFormatJSONObject(Model):
    type: Literal["json_object"] = "json_object"


class JSONSchema(OmitNone):
    name: str
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatJSONSchema(Model):
    type: Literal["json_schema"] = "json_schema"
    json_schema: JSONSchema


ResponseFormat: TypeAlias = (
    Literal["auto"]
    | Annotated[
        ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema,
        Field(discriminator="type"),
    ]
)


class ToolChoiceFunction(Model):
    name: str


class NamedToolChoice(Model):
    type: Literal["function", "code_interpreter", "file_search"]
    function: ToolChoiceFunction | None = None


ToolChoice: TypeAlias = Literal["none", "auto", "required"] | NamedToolChoice


class TruncationStrategy(Model):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = None


class Usage(Model):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


# --- assistants and threads -----------------------------------------------------------------


class PromptReference(OmitNone):
    """The prompt an assistant or run takes its instructions from (an extension): on an
    assistant, a `label` or a `version` (or neither: `prod`, else the latest); on a run, the
    `version` it used and the `label` it went through."""

    name: str
    version: int | None = None
    label: str | None = None


class Assistant(Model):
    id: str
    object: Literal["assistant"] = "assistant"
    created_at: int
    name: str | None = None
    description: str | None = None
    model: str
    instructions: str | None = None
    tools: list[Tool] = Field(default_factory=list)
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: float | None = None
    top_p: float | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: str | None = None
    # Extension: the prompt the instructions come from (`client.prompts`).
    prompt: PromptReference | None = None


class AssistantDeleted(Model):
    id: str
    object: Literal["assistant.deleted"] = "assistant.deleted"
    deleted: bool = True


class Thread(Model):
    id: str
    object: Literal["thread"] = "thread"
    created_at: int
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None


class ThreadDeleted(Model):
    id: str
    object: Literal["thread.deleted"] = "thread.deleted"
    deleted: bool = True


# --- messages -------------------------------------------------------------------------------


class FileCitation(Model):
    file_id: str


class FileCitationAnnotation(Model):
    type: Literal["file_citation"] = "file_citation"
    text: str
    file_citation: FileCitation
    start_index: int
    end_index: int


class FilePath(Model):
    file_id: str


class FilePathAnnotation(Model):
    type: Literal["file_path"] = "file_path"
    text: str
    file_path: FilePath
    start_index: int
    end_index: int


Annotation: TypeAlias = Annotated[
    FileCitationAnnotation | FilePathAnnotation, Field(discriminator="type")
]


class Text(Model):
    value: str
    annotations: list[Annotation] = Field(default_factory=list)


class TextContentBlock(Model):
    type: Literal["text"] = "text"
    text: Text


class ImageFile(Model):
    file_id: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageFileContentBlock(Model):
    type: Literal["image_file"] = "image_file"
    image_file: ImageFile


class ImageURL(Model):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageURLContentBlock(Model):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


class RefusalContentBlock(Model):
    type: Literal["refusal"] = "refusal"
    refusal: str


MessageContent: TypeAlias = Annotated[
    TextContentBlock | ImageFileContentBlock | ImageURLContentBlock | RefusalContentBlock,
    Field(discriminator="type"),
]


class AttachmentTool(Model):
    type: Literal["code_interpreter", "file_search"]


class Attachment(Model):
    file_id: str | None = None
    tools: list[AttachmentTool] | None = None


class MessageIncompleteDetails(Model):
    reason: Literal["content_filter", "max_tokens", "run_cancelled", "run_expired", "run_failed"]


class Message(Model):
    id: str
    object: Literal["thread.message"] = "thread.message"
    created_at: int
    thread_id: str
    status: MessageStatus
    incomplete_details: MessageIncompleteDetails | None = None
    completed_at: int | None = None
    incomplete_at: int | None = None
    role: Literal["user", "assistant"]
    content: list[MessageContent] = Field(default_factory=list)
    assistant_id: str | None = None
    run_id: str | None = None
    attachments: list[Attachment] | None = None
    metadata: Metadata | None = None


class MessageDeleted(Model):
    id: str
    object: Literal["thread.message.deleted"] = "thread.message.deleted"
    deleted: bool = True


# --- runs -----------------------------------------------------------------------------------


class FunctionCall(Model):
    name: str
    arguments: str


class RequiredActionFunctionToolCall(Model):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SubmitToolOutputs(Model):
    tool_calls: list[RequiredActionFunctionToolCall]


class RequiredAction(Model):
    type: Literal["submit_tool_outputs"] = "submit_tool_outputs"
    submit_tool_outputs: SubmitToolOutputs


class LastError(Model):
    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
    message: str


class RunIncompleteDetails(Model):
    reason: Literal["max_completion_tokens", "max_prompt_tokens"] | None = None


class Run(Model):
    id: str
    object: Literal["thread.run"] = "thread.run"
    created_at: int
    thread_id: str
    assistant_id: str
    status: RunStatus
    required_action: RequiredAction | None = None
    last_error: LastError | None = None
    expires_at: int | None = None
    started_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    incomplete_details: RunIncompleteDetails | None = None
    model: str
    instructions: str = ""
    tools: list[Tool] = Field(default_factory=list)
    metadata: Metadata | None = None
    usage: Usage | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None
    reasoning_effort: str | None = None
    # Extensions: the run's trace (`client.traces.retrieve`) and its root span.
    trace_id: str | None = None
    span_id: str | None = None
    # Extension: the prompt version the instructions came from, resolved at creation.
    prompt: PromptReference | None = None


# --- run steps ------------------------------------------------------------------------------


class MessageCreation(Model):
    message_id: str


class MessageCreationStepDetails(Model):
    type: Literal["message_creation"] = "message_creation"
    message_creation: MessageCreation


class FunctionToolCallFunction(Model):
    name: str
    arguments: str
    output: str | None = None


class FunctionToolCall(Model):
    id: str
    type: Literal["function"] = "function"
    function: FunctionToolCallFunction


class CodeInterpreterLogs(Model):
    type: Literal["logs"] = "logs"
    logs: str


class CodeInterpreterImageFile(Model):
    file_id: str


class CodeInterpreterImage(Model):
    type: Literal["image"] = "image"
    image: CodeInterpreterImageFile


class CodeInterpreter(Model):
    input: str
    outputs: list[
        Annotated[CodeInterpreterLogs | CodeInterpreterImage, Field(discriminator="type")]
    ] = Field(default_factory=list)


class CodeInterpreterToolCall(Model):
    id: str
    type: Literal["code_interpreter"] = "code_interpreter"
    code_interpreter: CodeInterpreter


class FileSearchToolCall(Model):
    id: str
    type: Literal["file_search"] = "file_search"
    file_search: dict[str, Any] = Field(default_factory=dict)


ToolCall: TypeAlias = Annotated[
    FunctionToolCall | CodeInterpreterToolCall | FileSearchToolCall,
    Field(discriminator="type"),
]


class ToolCallsStepDetails(Model):
    type: Literal["tool_calls"] = "tool_calls"
    tool_calls: list[ToolCall] = Field(default_factory=list)


StepDetails: TypeAlias = Annotated[
    MessageCreationStepDetails | ToolCallsStepDetails, Field(discriminator="type")
]


class RunStepLastError(Model):
    code: Literal["server_error", "rate_limit_exceeded"]
    message: str


class RunStep(Model):
    id: str
    object: Literal["thread.run.step"] = "thread.run.step"
    created_at: int
    run_id: str
    assistant_id: str
    thread_id: str
    type: Literal["message_creation", "tool_calls"]
    status: RunStepStatus
    step_details: StepDetails
    last_error: RunStepLastError | None = None
    expired_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    metadata: Metadata | None = None
    usage: Usage | None = None


# --- lists ----------------------------------------------------------------------------------

T = TypeVar("T", bound=Model)


class ListPage(BaseModel, Generic[T]):
    """One page of a list: `{"object": "list", "data", "first_id", "last_id", "has_more"}`."""

    model_config = ConfigDict(defer_build=True)

    object: Literal["list"] = "list"
    data: list[T]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# --- stream events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One entry of a run's durable event log: `seq` orders the events of one run.

    `event` is the SSE event name (`thread.run.created`, `thread.message.delta`, ...) and `data`
    the JSON payload exactly as the API streams it. A plain dataclass: token deltas are made and
    relayed by the tens of thousands per second.
    """

    run_id: str
    seq: int
    event: str
    data: dict[str, Any]


class ModelCard(Model):
    """A model this runtime can run: `{"id", "object": "model", "created", "owned_by"}`."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
