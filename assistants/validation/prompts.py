"""Prompts' fields: names, labels, version numbers, a version's template and settings, and the
`prompt` reference an assistant or a run may carry."""

from __future__ import annotations

import re
from typing import Any, Final

from assistants.validation.base import invalid_type, missing
from assistants.validation.limits import (
    ASSISTANT_DESCRIPTION_MAX,
    ASSISTANT_TOOLS_MAX,
    INSTRUCTIONS_MAX,
    MESSAGE_CONTENT_MAX,
    THREAD_MESSAGES_MAX,
)
from assistants.validation.scalars import (
    array,
    integer,
    model_name,
    number,
    obj,
    optional_string,
    string,
)
from assistants.validation.tools import response_format, tool_choice, tools
from assistants.validation.tree import json_tree
from store.errors import BadRequestError
from store.prompt_rows import VERSION_FIELDS

PROMPT_NAME_MAX: Final = 128
LABEL_MAX: Final = 64
COMMIT_MESSAGE_MAX: Final = 512
STOP_MAX: Final = 4
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
TEMPLATE_ROLES: Final = ("system", "developer", "user", "assistant")
VERSION_PARAMS: Final = VERSION_FIELDS
"""What `prompts.versions.create` takes: the fields a version stores."""
PROMPT_PARAMS: Final = ("name", "description", "metadata")
"""What `prompts.create` takes."""
LABEL_PARAMS: Final = ("label", "version", "expected_version")
"""What `prompts.labels.set` takes over HTTP."""


def _slug(value: object, param: str, max_length: int, what: str) -> str:
    text = string(value, param, max_length=max_length)
    if not _NAME.fullmatch(text):
        raise BadRequestError(
            f"Invalid '{param}': '{text}'. A {what} starts with a letter or digit and holds only "
            "letters, digits, '_', '.' and '-'.",
            param=param,
            code="invalid_value",
        )
    return text


def prompt_name(value: object, param: str = "name") -> str:
    if value is None:
        raise missing(param)
    return _slug(value, param, PROMPT_NAME_MAX, "prompt name")


def label(value: object, param: str = "label") -> str:
    if value is None:
        raise missing(param)
    return _slug(value, param, LABEL_MAX, "label")


def version_number(value: object, param: str = "version") -> int:
    if value is None:
        raise missing(param)
    return integer(value, param, minimum=1)


def description(value: object, param: str = "description") -> str | None:
    return optional_string(value, param, max_length=ASSISTANT_DESCRIPTION_MAX)


def _template_messages(value: object, param: str) -> list[dict[str, Any]]:
    items = array(value, param, min_length=1, max_length=THREAD_MESSAGES_MAX)
    out = []
    for i, item in enumerate(items):
        path = f"{param}[{i}]"
        message = obj(item, path)
        for key in message:
            if key not in ("role", "content", "name"):
                raise BadRequestError(
                    f"Unrecognized argument in '{path}': {key}. A template message has 'role' "
                    "and 'content' (and optionally 'name').",
                    param=f"{path}.{key}",
                    code="unknown_parameter",
                )
        role = message.get("role")
        if role not in TEMPLATE_ROLES:
            raise BadRequestError(
                f"Invalid '{path}.role': {role!r}. Supported values are: "
                + ", ".join(f"'{r}'" for r in TEMPLATE_ROLES)
                + ".",
                param=f"{path}.role",
                code="invalid_value",
            )
        content = message.get("content")
        if content is None:
            raise missing(f"{path}.content")
        if isinstance(content, str):
            string(content, f"{path}.content", max_length=MESSAGE_CONTENT_MAX)
        else:
            for j, part in enumerate(array(content, f"{path}.content", min_length=1)):
                part_path = f"{path}.content[{j}]"
                piece = obj(part, part_path)
                if piece.get("type") == "text":
                    string(piece.get("text"), f"{part_path}.text", max_length=MESSAGE_CONTENT_MAX)
                json_tree(piece, part_path)
        if message.get("name") is not None:
            string(message["name"], f"{path}.name", max_length=PROMPT_NAME_MAX)
        out.append(dict(message))
    return out


def _stop(value: object, param: str = "stop") -> str | list[str] | None:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list | tuple):
        raise invalid_type(param, "a string or an array of strings", value)
    items = array(value, param, max_length=STOP_MAX)
    return [string(s, f"{param}[{i}]") for i, s in enumerate(items)]


def version_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A new version's template and settings: `messages` or `instructions` (exactly one)."""
    has_messages = fields.get("messages") is not None
    has_instructions = fields.get("instructions") is not None
    if has_messages == has_instructions:
        raise BadRequestError(
            "A prompt version needs a template: pass either 'messages' (a list of messages) or "
            "'instructions' (text), not both.",
            param="messages",
            code="invalid_value" if has_messages else "missing_required_parameter",
        )
    out: dict[str, Any] = {}
    if has_messages:
        out["messages"] = _template_messages(fields["messages"], "messages")
    else:
        out["instructions"] = string(
            fields["instructions"], "instructions", max_length=INSTRUCTIONS_MAX
        )
    if fields.get("model") is not None:
        out["model"] = model_name(fields["model"], "model")
    out["temperature"] = number(fields.get("temperature"), "temperature", minimum=0, maximum=2)
    out["top_p"] = number(fields.get("top_p"), "top_p", minimum=0, maximum=1)
    if fields.get("max_tokens") is not None:
        out["max_tokens"] = integer(fields["max_tokens"], "max_tokens", minimum=1)
    out["stop"] = _stop(fields.get("stop"))
    out["response_format"] = response_format(fields.get("response_format"))
    if fields.get("tools") is not None:
        out["tools"] = tools(fields["tools"], max_length=ASSISTANT_TOOLS_MAX)
    out["tool_choice"] = tool_choice(fields.get("tool_choice"))
    out["commit_message"] = optional_string(
        fields.get("commit_message"), "commit_message", max_length=COMMIT_MESSAGE_MAX
    )
    return out


def choice(
    version: object,
    label_name: object,
    *,
    version_param: str = "version",
    label_param: str = "label",
) -> tuple[int | None, str | None]:
    """A version number or a label (at most one) choosing a prompt's version."""
    if version is not None and label_name is not None:
        raise BadRequestError(
            f"Pass either '{version_param}' or '{label_param}' to choose a prompt's version, "
            "not both.",
            param=label_param,
            code="invalid_value",
        )
    return (
        None if version is None else version_number(version, version_param),
        None if label_name is None else label(label_name, label_param),
    )


RUN_PARAMS: Final = (
    "prompt_version",
    "prompt_release_label",
    "input_variables",
    "tags",
    "metadata",
    "group_id",
    "model_parameter_overrides",
    "provider",
    "model",
    "stream",
)


def prompt_ref(value: object, param: str = "prompt") -> dict[str, Any] | None:
    """`{"name": ..., "label": ...}` or `{"name": ..., "version": n}` (or just the name: the
    default resolution), normalised with `name` first."""
    if value is None:
        return None
    ref = obj(value, param)
    for key in ref:
        if key not in ("name", "label", "version"):
            raise BadRequestError(
                f"Unrecognized argument in '{param}': {key}. A prompt reference has 'name' and "
                "either 'label' or 'version'.",
                param=f"{param}.{key}",
                code="unknown_parameter",
            )
    name = prompt_name(ref.get("name"), f"{param}.name")
    if ref.get("version") is not None and ref.get("label") is not None:
        raise BadRequestError(
            f"Invalid '{param}': pass either 'version' or 'label', not both.",
            param=f"{param}.label",
            code="invalid_value",
        )
    out: dict[str, Any] = {"name": name}
    if ref.get("version") is not None:
        out["version"] = version_number(ref["version"], f"{param}.version")
    if ref.get("label") is not None:
        out["label"] = label(ref["label"], f"{param}.label")
    return out
