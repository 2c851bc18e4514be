"""Rows to objects and back: the only place that encodes and decodes the JSON columns."""

from __future__ import annotations

import json
from typing import Any

import orjson

from store.types import Assistant, Message, Run, RunStep, Thread

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str | None:
    """JSON text for a column; `None` stays SQL NULL."""
    if value is None:
        return None
    return _ENCODER.encode(value)


def dumps_logged(value: Any) -> str:
    """JSON text for an event payload: a snapshot of objects already stored through `dumps`
    (so free of NaN, which the strict encoder refuses and orjson would write as null) or a
    delta of strings. orjson writes it several times faster; what it refuses (integers past 64
    bits, say) goes through the standard encoder."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _ENCODER.encode(value)


# A run of 19 digits or more may be an integer past 64 bits, which orjson reads as a float
# without a word (18446744073709551617 comes back as 1.8446744073709552e+19): such text goes to
# the standard decoder, which keeps it exact. The check maps digits to "0" and the rest to " " in
# one C pass and looks for 19 zeros (about as fast as orjson's parse; a regex is 7x slower).
_DIGITS = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19


def loads(text: str | bytes | None) -> Any:
    if text is None:
        return None
    # Shorter than 19 characters ("auto", [], {}, most of a run's columns), the text cannot hold
    # 19 digits: orjson reads it without the check.
    if len(text) >= len(_LONG_RUN):
        raw = text.encode() if isinstance(text, str) else text
        if _LONG_RUN in raw.translate(_DIGITS):
            return json.loads(raw)
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        return json.loads(text)


ASSISTANT_COLUMNS = (
    "id, created_at, name, description, model, instructions, tools, tool_resources, metadata, "
    "temperature, top_p, response_format, reasoning_effort, extensions"
)


def assistant_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "assistant",
        "created_at": row["created_at"],
        "name": row["name"],
        "description": row["description"],
        "model": row["model"],
        "instructions": row["instructions"],
        "tools": loads(row["tools"]),
        "tool_resources": loads(row["tool_resources"]),
        "metadata": loads(row["metadata"]) or {},
        "temperature": row["temperature"],
        "top_p": row["top_p"],
        "response_format": loads(row["response_format"]),
        "reasoning_effort": row["reasoning_effort"],
        "prompt": None,  # an extension, set below when the instructions come from a prompt
        **(loads(row["extensions"]) or {}),
    }


def assistant_from_row(row: Any) -> Assistant:
    return Assistant.model_validate(assistant_dict(row))


THREAD_COLUMNS = "id, created_at, tool_resources, metadata, extensions"

THREAD_PUBLIC_EXTENSIONS = ("tags", "user_id", "session_id")
"""Extension fields a thread shows (its trace fields, which its runs inherit)."""


def thread_from_row(row: Any) -> Thread:
    ext = loads(row["extensions"]) or {}
    return Thread.model_validate(
        {
            "id": row["id"],
            "object": "thread",
            "created_at": row["created_at"],
            "tool_resources": loads(row["tool_resources"]),
            "metadata": loads(row["metadata"]) or {},
            **{k: ext[k] for k in THREAD_PUBLIC_EXTENSIONS if k in ext},
        }
    )


MESSAGE_COLUMNS = (
    "id, thread_id, created_at, status, incomplete_details, completed_at, incomplete_at, role, "
    "content, assistant_id, run_id, attachments, metadata"
)


def message_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "thread.message",
        "created_at": row["created_at"],
        "thread_id": row["thread_id"],
        "status": row["status"],
        "incomplete_details": loads(row["incomplete_details"]),
        "completed_at": row["completed_at"],
        "incomplete_at": row["incomplete_at"],
        "role": row["role"],
        "content": loads(row["content"]),
        "assistant_id": row["assistant_id"],
        "run_id": row["run_id"],
        "attachments": loads(row["attachments"]),
        "metadata": loads(row["metadata"]) or {},
    }


def message_from_row(row: Any) -> Message:
    return Message.model_validate(message_dict(row))


RUN_API_COLUMNS = (
    "id, thread_id, assistant_id, created_at, status, required_action, last_error, expires_at, "
    "started_at, cancelled_at, failed_at, completed_at, incomplete_details, model, instructions, "
    "tools, metadata, usage, temperature, top_p, max_prompt_tokens, max_completion_tokens, "
    "truncation_strategy, tool_choice, parallel_tool_calls, response_format, reasoning_effort, "
    "extensions"
)
"""The columns `run_dict` reads."""
RUN_COLUMNS = (
    f"{RUN_API_COLUMNS}, worker_id, attempts, cancel_requested, event_seq, followers, project"
)


def run_dict(row: Any, extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run as the API shows it (execution columns left out); `extensions`: the row's,
    if already decoded."""
    return {
        "id": row["id"],
        "object": "thread.run",
        "created_at": row["created_at"],
        "thread_id": row["thread_id"],
        "assistant_id": row["assistant_id"],
        "status": row["status"],
        "required_action": loads(row["required_action"]),
        "last_error": loads(row["last_error"]),
        "expires_at": row["expires_at"],
        "started_at": row["started_at"],
        "cancelled_at": row["cancelled_at"],
        "failed_at": row["failed_at"],
        "completed_at": row["completed_at"],
        "incomplete_details": loads(row["incomplete_details"]),
        "model": row["model"],
        "instructions": row["instructions"],
        "tools": loads(row["tools"]),
        "metadata": loads(row["metadata"]) or {},
        "usage": loads(row["usage"]),
        "temperature": row["temperature"],
        "top_p": row["top_p"],
        "max_prompt_tokens": row["max_prompt_tokens"],
        "max_completion_tokens": row["max_completion_tokens"],
        "truncation_strategy": loads(row["truncation_strategy"]),
        "tool_choice": loads(row["tool_choice"]),
        "parallel_tool_calls": bool(row["parallel_tool_calls"]),
        "response_format": loads(row["response_format"]),
        "reasoning_effort": row["reasoning_effort"],
        "prompt": None,  # an extension, set below when the instructions came from a prompt
        **_public_extensions(loads(row["extensions"]) or {} if extensions is None else extensions),
    }


RUN_PUBLIC_EXTENSIONS = (
    "fallbacks",
    "cost",
    "trace_id",
    "span_id",
    "tags",
    "user_id",
    "session_id",
    "group_id",
    "prompt",
)
"""Extension fields a run shows (others, like `variables`, may hold secrets and stay inside)."""


def _public_extensions(ext: dict[str, Any]) -> dict[str, Any]:
    return {k: ext[k] for k in RUN_PUBLIC_EXTENSIONS if k in ext}


def run_from_row(row: Any) -> Run:
    return Run.model_validate(run_dict(row))


STEP_COLUMNS = (
    "id, run_id, thread_id, assistant_id, created_at, type, status, step_details, last_error, "
    "expired_at, cancelled_at, failed_at, completed_at, metadata, usage, extensions"
)


def step_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "thread.run.step",
        "created_at": row["created_at"],
        "run_id": row["run_id"],
        "assistant_id": row["assistant_id"],
        "thread_id": row["thread_id"],
        "type": row["type"],
        "status": row["status"],
        "step_details": loads(row["step_details"]),
        "last_error": loads(row["last_error"]),
        "expired_at": row["expired_at"],
        "cancelled_at": row["cancelled_at"],
        "failed_at": row["failed_at"],
        "completed_at": row["completed_at"],
        "metadata": loads(row["metadata"]) or {},
        "usage": loads(row["usage"]),
        **{
            k: v
            for k, v in (loads(row["extensions"]) or {}).items()
            if not k.startswith("pending_")
        },
    }


def step_from_row(row: Any) -> RunStep:
    return RunStep.model_validate(step_dict(row))


# --- row snapshots in the event log ---------------------------------------------------------
#
# A statement that changes a run, step or message can log the changed row itself (Postgres
# builds the JSON object of its columns in the same statement, `snapshot_sql`), marked
# `data_format = 'row'`; reading the log renders it with the functions above, so an event's
# payload always comes from the one function that renders that kind of row.

_SNAPSHOT_COLUMNS = {"run": RUN_API_COLUMNS, "step": STEP_COLUMNS, "message": MESSAGE_COLUMNS}


def snapshot_sql(kind: str, prefix: str = "") -> str:
    """SQL for the JSON text of a `kind` ("run", "step", "message") row's rendered columns:
    `json_build_object('id', id, ...)`, each column qualified by `prefix` (say "runs.")."""
    pairs = ", ".join(
        f"'{c}', {prefix}{c}" for c in (c.strip() for c in _SNAPSHOT_COLUMNS[kind].split(","))
    )
    return f"CAST(json_build_object({pairs}) AS text)"


def event_payload(row: Any) -> Any:
    """The API payload of a `run_events` row (`event`, `data`, `data_format`)."""
    data = loads(row["data"])
    return data if row["data_format"] == "api" else render_snapshot(row["event"], data)


def render_snapshot(event: str, row: dict[str, Any]) -> dict[str, Any]:
    """The API payload of a `thread.run.*`, `thread.run.step.*` or `thread.message.*` event
    logged as its row."""
    if event.startswith("thread.run.step."):
        return step_dict(row)
    if event.startswith("thread.message."):
        return message_dict(row)
    if event.startswith("thread.run."):
        return run_dict(row)
    raise ValueError(f"No row snapshot renders the event {event!r}.")
