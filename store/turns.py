"""What a worker's turn writes, as both write paths spell it: a message's finish as SQL, and the
`required_action` of a run pausing for tool outputs (`store.work`, and its twins in `store.pg`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.base import now
from store.rows import dumps
from store.statuses import MessageStatus as M
from store.statuses import StepStatus as S
from store.statuses import sql_is


@dataclass(frozen=True)
class Finish:
    """A message's finish as SQL: the message's and the step's changes, their parameters, the
    message's event, and the run's columns to set."""

    message_sets: str
    step_sets: str
    values: dict[str, Any]
    event: str
    run_fields: dict[str, Any]


def finish_sql(
    content: list[dict[str, Any]],
    step_usage: dict[str, int] | None,
    step_extensions: dict[str, Any] | None,
    run_usage: dict[str, int] | None,
    *,
    incomplete_reason: str | None,
    ending: bool,
    incomplete_details: dict[str, Any] | None,
    run_extensions: dict[str, Any] | None,
) -> Finish:
    if incomplete_reason is None:
        message_sets = f"status = {sql_is(M.COMPLETED)}, completed_at = :t, content = :c"
        event = "thread.message.completed"
    else:
        message_sets = (
            f"status = {sql_is(M.INCOMPLETE)}, incomplete_at = :t, content = :c, "
            "incomplete_details = :d"
        )
        event = "thread.message.incomplete"
    values = {
        "t": now(),
        "c": dumps(content),
        "d": None if incomplete_reason is None else dumps({"reason": incomplete_reason}),
        "u": dumps(step_usage),
        "ext": dumps(step_extensions),
    }
    # The run's update: it carries the usage (and, ending, the rest of its end).
    fields: dict[str, Any] = {"usage": dumps(run_usage)}
    if run_extensions is not None or not ending:
        fields["extensions"] = dumps(run_extensions)
    if incomplete_details is not None and ending:
        fields["incomplete_details"] = dumps(incomplete_details)
    step_sets = f"status = {sql_is(S.COMPLETED)}, completed_at = :t, usage = :u, extensions = :ext"
    return Finish(message_sets, step_sets, values, event, fields)


def required_action(tool_calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's `required_action` for the function calls among `tool_calls`."""
    calls = [
        {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]},
        }
        for c in tool_calls
        if c["type"] == "function"
    ]
    return {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
