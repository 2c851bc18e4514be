"""Thread bodies: CreateThread (also the `thread` of create_and_run) and ModifyThread, with the
trace fields (`tags`, `user_id`, `session_id`) a thread keeps for its runs."""

from __future__ import annotations

from typing import Any

from assistants.validation.messages import new_messages
from assistants.validation.scalars import metadata, obj
from assistants.validation.tools import tool_resources
from runtime.trace_context import THREAD_TRACE_FIELDS, check_thread_trace_fields
from store.errors import BadRequestError

_CREATE = ("messages", "metadata", "tool_resources", *THREAD_TRACE_FIELDS)
_UPDATE = ("metadata", "tool_resources", *THREAD_TRACE_FIELDS)


def _known(body: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
    for key in body:
        if key not in allowed:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {prefix}{key}",
                param=f"{prefix}{key}",
                code="unknown_parameter",
            )


def check_thread(value: object, param: str = "thread") -> dict[str, Any]:
    """A CreateThread body (also the `thread` of create_and_run, named by `param`): its
    messages, metadata, tool resources and `extensions` (the trace fields given)."""
    body = {} if value is None else obj(value, param)
    prefix = f"{param}." if param else ""
    _known(body, _CREATE, prefix)
    return {
        "messages": new_messages(body.get("messages"), f"{prefix}messages"),
        "metadata": metadata(body.get("metadata"), f"{prefix}metadata"),
        "tool_resources": tool_resources(
            body.get("tool_resources"), f"{prefix}tool_resources", allow_vector_stores=True
        ),
        "extensions": check_thread_trace_fields(body, prefix),
    }


def check_thread_update(body: dict[str, Any]) -> dict[str, Any]:
    """A ModifyThread body: the fields to replace (`extensions`: each trace field given, None
    for one to remove)."""
    _known(body, _UPDATE, "")
    fields: dict[str, Any] = {}
    if "metadata" in body:
        fields["metadata"] = metadata(body["metadata"])
    if "tool_resources" in body:
        fields["tool_resources"] = tool_resources(body["tool_resources"])
    fields["extensions"] = check_thread_trace_fields(body, clearing=True)
    return fields
