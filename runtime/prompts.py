"""Rendering prompt versions: `{{variables}}` filled into a version's template, for a
stateless call (`client.prompts.run`) or as a run's instructions.

- `render_messages`: the template as chat messages (an `instructions` template is one system
  message); a missing variable is a 400 naming it, a template that renders to nothing a 400.
- `run_prompt`: the prompt a run takes its instructions from (the run's own `prompt`, else its
  assistant's), resolved when the run is created: the instructions text (the template's system
  and developer messages) and the record the run keeps (`{"name", "version", "label"}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.templates import interpolate
from store.errors import BadRequestError, NotFoundError
from store.prompt_types import PromptVersion
from store.store import Store
from store.types import Assistant

INSTRUCTION_ROLES = ("system", "developer")
"""Template roles whose text becomes an assistant's instructions."""


def render_messages(
    version: PromptVersion, variables: dict[str, str] | None, *, source: str = "variables"
) -> list[dict[str, Any]]:
    """The version's template as chat messages with `{{name}}` filled from `variables` (the
    parameter `source` names: a missing one is a 400 naming both)."""
    where = f"prompt '{version.prompt}' version {version.version}"
    if version.instructions is not None:
        template: list[dict[str, Any]] = [{"role": "system", "content": version.instructions}]
    else:
        template = list(version.messages or [])
    rendered = []
    for i, message in enumerate(template):
        param = f"{where} messages[{i}]"
        content = message.get("content")
        if isinstance(content, str):
            content = interpolate(content, variables, param, source=source)
        elif isinstance(content, list):
            content = [
                {**part, "text": interpolate(part["text"], variables, param, source=source)}
                if part.get("type") == "text" and isinstance(part.get("text"), str)
                else part
                for part in content
            ]
        rendered.append({**message, "content": content})
    if not any(_has_content(m) for m in rendered):
        raise BadRequestError(
            f"The {where} renders to an empty template: give its variables some text.",
            param=source,
            code="empty_prompt",
        )
    return rendered


def _has_content(message: dict[str, Any]) -> bool:
    content = message.get("content")
    if isinstance(content, list):
        return any(
            p.get("type") != "text" or str(p.get("text", "")).strip()
            for p in content
            if isinstance(p, dict)
        )
    return bool(_text(message).strip())


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


@dataclass(frozen=True)
class RunPrompt:
    """The instructions a run takes from a prompt, and what the run records of it."""

    instructions: str
    record: dict[str, Any]


def instructions_of(version: PromptVersion, variables: dict[str, str] | None) -> str:
    """A version's text as an assistant's instructions: its `instructions`, or its system and
    developer messages joined by a blank line; a 400 if that renders empty."""
    rendered = render_messages(version, variables)
    parts = [_text(m) for m in rendered if m.get("role") in INSTRUCTION_ROLES]
    text = "\n\n".join(p for p in parts if p.strip())
    if not text.strip():
        raise BadRequestError(
            f"The prompt '{version.prompt}' version {version.version} gives no instructions: an "
            "assistant takes them from its 'instructions' text or its system and developer "
            "messages, and these render empty.",
            param="prompt",
            code="empty_prompt",
        )
    return text


async def run_prompt(
    store: Store, project: str, assistant: Assistant, overrides: dict[str, Any]
) -> RunPrompt | None:
    """The prompt a new run takes its instructions from, resolved now (None if it has none).

    The run's own `prompt` wins over its assistant's, and literal `instructions` on the run win
    over the assistant's prompt. A reference stored on the assistant that no longer resolves
    (its label deleted, the prompt deleted) is a 400 naming the assistant: the request was
    fine, the assistant needs fixing.
    """
    ref = overrides.get("prompt")
    stored = False
    if ref is None and overrides.get("instructions") is None:
        ref = None if assistant.prompt is None else assistant.prompt.to_dict()
        stored = ref is not None
    if not ref:
        return None
    try:
        resolved = await store.prompts.resolve(
            project, ref["name"], version=ref.get("version"), label=ref.get("label")
        )
    except NotFoundError as exc:
        if not stored:
            raise
        raise BadRequestError(
            f"The assistant {assistant.id} takes its instructions from the prompt "
            f"{_describe(ref)}, which does not resolve: {exc.message} Point the assistant at "
            "an existing prompt version or label.",
            param="prompt",
            code="prompt_unavailable",
        ) from exc
    version = resolved.version
    return RunPrompt(
        instructions=instructions_of(version, overrides.get("variables")),
        record={"name": ref["name"], "version": version.version, "label": resolved.label},
    )


def _describe(ref: dict[str, Any]) -> str:
    if ref.get("label") is not None:
        return f"'{ref['name']}' (label '{ref['label']}')"
    if ref.get("version") is not None:
        return f"'{ref['name']}' (version {ref['version']})"
    return f"'{ref['name']}'"
