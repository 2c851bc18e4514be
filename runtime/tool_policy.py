"""The tool-call policy: what a run's model may answer with its tools (a call to a known
function, with a JSON object for arguments; a call at all when `tool_choice` forces one), and the
message a run fails with otherwise, naming the call.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.providers.router import Route
from runtime.turns import Turn


def forced(tool_choice: Any) -> bool:
    """Whether `tool_choice` obliges the model to call a tool ("required" or a named function)."""
    return tool_choice == "required" or (
        isinstance(tool_choice, dict) and tool_choice.get("type") == "function"
    )


def no_forced_call(route: Route, tool_choice: Any) -> str:
    """Why a run whose `tool_choice` forced a call fails when the model answered without one."""
    if isinstance(tool_choice, dict):
        forced = f"tool_choice named the function '{tool_choice['function']['name']}'"
    else:
        forced = "tool_choice was 'required'"
    cause = (
        "a chat template without tool support; see llama-server --chat-template-file (and --jinja)"
        if route.provider.name == "llamacpp"
        else "a model, or a chat template on its server, without tool support"
    )
    return (
        f"The model '{route.label}' answered without calling a tool although {forced}. "
        f"The likely cause is {cause}."
    )


def check_calls(turn: Turn, tools: list[dict[str, Any]]) -> str | None:
    """The tool-call policy: a call to an unknown tool, with no name, or with arguments that
    are not a JSON object fails the run with a message naming the call (never dropped)."""
    names = {t["function"]["name"] for t in tools}
    for call in turn.calls.values():
        if not call.name:
            return "The model returned a tool call without a function name."
        if call.name not in names:
            known = ", ".join(sorted(names)) or "none"
            return f"The model called the unknown tool '{call.name}' (tools: {known})."
        try:
            parsed = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            return (
                f"The model returned arguments for '{call.name}' that are not valid JSON "
                f"({exc.msg} at position {exc.pos}): {call.arguments[:200]!r}"
            )
        if not isinstance(parsed, dict):
            return f"The model returned arguments for '{call.name}' that are not a JSON object."
        if not call.arguments:
            call.arguments = "{}"
    return None
