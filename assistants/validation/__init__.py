"""Request validation with the real API's wording, `param` and `code` (CONTRACT §7).

Every check takes a raw value (from a Python call or a JSON body), returns it normalised and
JSON-ready, or raises `BadRequestError`. Paths in messages follow the API: `tools[0].function.name`,
`metadata.key`, `messages[2].content`. Both the Python client and the HTTP server call these;
the model-name rule itself is the router's (`runtime.providers.names`).

Modules: `limits` (sizes and counts), `base` (the wording of a refusal, the text check),
`tree` (whole JSON values), `scalars` (single fields), `tools`, `messages`, `requests`.
"""

from __future__ import annotations

from assistants.validation.base import (
    invalid_type,
    invalid_value,
    missing,
    type_name,
    utf8,
)
from assistants.validation.limits import (
    ALLOWED_INCLUDE,
    ASSISTANT_DESCRIPTION_MAX,
    ASSISTANT_NAME_MAX,
    ASSISTANT_TOOLS_MAX,
    FALLBACKS_MAX,
    FILE_IDS_MAX,
    FUNCTION_NAME_MAX,
    INSTRUCTIONS_MAX,
    INT_DIGITS_MAX,
    INTEGER_MAX,
    JSON_DEPTH_MAX,
    MESSAGE_ATTACHMENTS_MAX,
    MESSAGE_CONTENT_MAX,
    MESSAGE_PARTS_MAX,
    METADATA_KEY_MAX,
    METADATA_MAX_PAIRS,
    METADATA_VALUE_MAX,
    RUN_TOOLS_MAX,
    THREAD_MESSAGES_MAX,
    TOKENS_MIN,
    TOOL_OUTPUT_MAX,
)
from assistants.validation.messages import (
    attachments,
    message_content,
    new_message,
    new_messages,
    role,
)
from assistants.validation.requests import (
    fallbacks,
    include,
    list_params,
    tool_outputs,
    variables,
)
from assistants.validation.scalars import (
    array,
    boolean,
    integer,
    metadata,
    model_name,
    number,
    obj,
    optional_string,
    string,
    token_budget,
)
from assistants.validation.tools import (
    reasoning_effort,
    response_format,
    tool_choice,
    tool_resources,
    tools,
    truncation_strategy,
)
from assistants.validation.tree import (
    body_checked,
    json_tree,
)
from runtime.providers.names import MODEL_NAME_MAX

__all__ = [
    "ALLOWED_INCLUDE",
    "ASSISTANT_DESCRIPTION_MAX",
    "ASSISTANT_NAME_MAX",
    "ASSISTANT_TOOLS_MAX",
    "FALLBACKS_MAX",
    "FILE_IDS_MAX",
    "FUNCTION_NAME_MAX",
    "INSTRUCTIONS_MAX",
    "INTEGER_MAX",
    "INT_DIGITS_MAX",
    "JSON_DEPTH_MAX",
    "MESSAGE_ATTACHMENTS_MAX",
    "MESSAGE_CONTENT_MAX",
    "MESSAGE_PARTS_MAX",
    "METADATA_KEY_MAX",
    "METADATA_MAX_PAIRS",
    "METADATA_VALUE_MAX",
    "MODEL_NAME_MAX",
    "RUN_TOOLS_MAX",
    "THREAD_MESSAGES_MAX",
    "TOKENS_MIN",
    "TOOL_OUTPUT_MAX",
    "array",
    "attachments",
    "body_checked",
    "boolean",
    "fallbacks",
    "include",
    "integer",
    "invalid_type",
    "invalid_value",
    "json_tree",
    "list_params",
    "message_content",
    "metadata",
    "missing",
    "model_name",
    "new_message",
    "new_messages",
    "number",
    "obj",
    "optional_string",
    "reasoning_effort",
    "response_format",
    "role",
    "string",
    "token_budget",
    "tool_choice",
    "tool_outputs",
    "tool_resources",
    "tools",
    "truncation_strategy",
    "type_name",
    "utf8",
    "variables",
]
