"""Prompts' objects: a prompt, its immutable versions, its release labels and their moves.

Shaped like the rest of the API (an `object` tag, integer Unix times, `metadata`), and re-exported
by `assistants.types`. A prompt is addressed by its name, unique per project.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from store.completion_types import ChatCompletion
from store.types import Metadata, Model


class Prompt(Model):
    id: str
    object: Literal["prompt"] = "prompt"
    name: str
    description: str | None = None
    metadata: Metadata = Field(default_factory=dict)
    created_at: int
    latest_version: int = 0
    """The newest version's number (0 before the first version)."""


class PromptDeleted(Model):
    id: str
    object: Literal["prompt.deleted"] = "prompt.deleted"
    name: str
    deleted: bool = True


class PromptVersion(Model):
    """One immutable version of a prompt: the template and the model settings to run it with."""

    id: str
    object: Literal["prompt.version"] = "prompt.version"
    prompt: str
    """The prompt's name."""
    version: int
    created_at: int
    messages: list[dict[str, Any]] | None = None
    instructions: str | None = None
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: str | list[str] | None = None
    response_format: Any = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    commit_message: str | None = None
    label: str | None = None
    """The label this version was reached through, when it was resolved by one."""


class PromptLabelMove(Model):
    """One change of a label: set (`from_version` None), moved, or deleted (`to_version` None)."""

    from_version: int | None = None
    to_version: int | None = None
    moved_at: int


class PromptLabel(Model):
    object: Literal["prompt.label"] = "prompt.label"
    prompt: str
    label: str
    version: int
    updated_at: int
    history: list[PromptLabelMove] = Field(default_factory=list)
    """Every set, move and delete of this label, oldest first."""


class PromptLabelDeleted(Model):
    object: Literal["prompt.label.deleted"] = "prompt.label.deleted"
    prompt: str
    label: str
    deleted: bool = True


class PromptLabelList(Model):
    """A prompt's labels (all of them: a prompt has a handful)."""

    object: Literal["list"] = "list"
    data: list[PromptLabel]


class ResolvedPrompt(Model):
    """Which version a name, version or label resolved to, and through which label."""

    version: PromptVersion
    label: str | None = None


class PromptBlueprint(Model):
    """What `prompts.run` sent: the rendered template, the version and label it came from, and
    the model settings after overrides."""

    prompt_name: str
    prompt_version: int
    prompt_release_label: str | None = None
    messages: list[dict[str, Any]]
    model: str
    provider: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    """The model parameters sent (the version's, then `model_parameter_overrides`)."""


class PromptRun(Model):
    """The result of `prompts.run`: the call's id, the model's answer and the blueprint."""

    object: Literal["prompt.run"] = "prompt.run"
    request_id: str
    """The call's span id (`client.spans.retrieve(request_id)` shows it)."""
    raw_response: ChatCompletion
    prompt_blueprint: PromptBlueprint
