"""Prompts' rows: their columns, their conversion to objects, their 404s, and the row lock
that makes the writers of one prompt's versions and labels go one at a time."""

from __future__ import annotations

from store.db import Row, Tx
from store.errors import NotFoundError
from store.prompt_types import Prompt, PromptVersion
from store.rows import loads

DEFAULT_LABEL = "prod"
"""The label a prompt resolves through when neither a version nor a label is given (if it
exists; otherwise the latest version)."""

PROMPT_COLUMNS = "id, name, description, metadata, created_at, latest_version"
VERSION_COLUMNS = (
    "id, version, created_at, messages, instructions, model, temperature, top_p, max_tokens, "
    "stop, response_format, tools, tool_choice, commit_message"
)
VERSION_FIELDS = (
    "messages",
    "instructions",
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "response_format",
    "tools",
    "tool_choice",
    "commit_message",
)
JSON_FIELDS = frozenset({"messages", "stop", "response_format", "tools", "tool_choice"})


def prompt_from_row(row: Row) -> Prompt:
    return Prompt(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        metadata=loads(row["metadata"]) or {},
        created_at=row["created_at"],
        latest_version=row["latest_version"],
    )


def version_from_row(name: str, row: Row) -> PromptVersion:
    fields = {f: loads(row[f]) if f in JSON_FIELDS else row[f] for f in VERSION_FIELDS}
    return PromptVersion(
        id=row["id"], prompt=name, version=row["version"], created_at=row["created_at"], **fields
    )


def prompt_not_found(name: str) -> NotFoundError:
    return NotFoundError(f"No prompt found with name '{name}'.", param="name")


def label_not_found(name: str, label: str) -> NotFoundError:
    return NotFoundError(f"No label '{label}' found for prompt '{name}'.", param="label")


def version_not_found(name: str, version: int) -> NotFoundError:
    return NotFoundError(f"No version {version} found for prompt '{name}'.", param="version")


async def lock_prompt(tx: Tx, project: str, name: str, *, bump: bool = False) -> tuple[str, int]:
    """The prompt's id and latest version, its row locked until the transaction ends
    (writers of one prompt's versions and labels go one at a time); with `bump`, its
    `latest_version` advanced first."""
    row = await tx.fetchrow(
        "UPDATE prompts SET latest_version = latest_version + :bump "
        "WHERE project = :project AND name = :name RETURNING id, latest_version",
        {"project": project, "name": name, "bump": 1 if bump else 0},
    )
    if row is None:
        raise prompt_not_found(name)
    return str(row["id"]), int(row["latest_version"])


def qualified(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in VERSION_COLUMNS.split(","))
