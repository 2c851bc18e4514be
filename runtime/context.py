"""Prompt assembly: what a run sends the model.

Instructions (already interpolated at run creation) become the system message; then the thread's
messages, oldest first, cut by the truncation strategy; then this run's own steps in order (its
earlier messages, and each tool round as an assistant tool-call message plus the tool outputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runtime.providers.base import ChatMessage, ToolCall
from runtime.providers.testmodel import estimate_tokens
from store.db import Row
from store.rows import loads


def _content_for_model(content: list[dict[str, Any]], role: str) -> str | list[dict[str, Any]]:
    """Output content parts as model input: plain text, or parts when images are present."""
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    has_image = False
    for part in content:
        kind = part.get("type")
        if kind == "text":
            value = part["text"]["value"]
            texts.append(value)
            parts.append({"type": "text", "text": value})
        elif kind == "image_url" and role == "user":
            has_image = True
            parts.append({"type": "image_url", "image_url": part["image_url"]})
        elif kind == "image_file":
            note = f"[image file {part['image_file']['file_id']}]"
            texts.append(note)
            parts.append({"type": "text", "text": note})
        elif kind == "refusal":
            texts.append(part["refusal"])
            parts.append({"type": "text", "text": part["refusal"]})
    return parts if has_image else "\n".join(texts)


def message_tokens(message: ChatMessage) -> int:
    content = message.content
    if isinstance(content, list):
        text = " ".join(str(p.get("text", "")) for p in content)
    else:
        text = content or ""
    text += "".join(c.name + c.arguments for c in message.tool_calls)
    return estimate_tokens(text) + 4


def assemble(
    run: Row,
    thread_messages: Sequence[Row],
    steps: Sequence[Row],
    *,
    prompt_budget: int | None,
) -> list[ChatMessage]:
    """The conversation for the run's next model call (see the module docstring)."""
    run_id = run["id"]
    by_id = {m["id"]: m for m in thread_messages}
    history = [
        ChatMessage(role=m["role"], content=_content_for_model(loads(m["content"]), m["role"]))
        for m in thread_messages
        if m["run_id"] != run_id
    ]
    truncation = loads(run["truncation_strategy"]) or {"type": "auto"}
    if truncation.get("type") == "last_messages" and truncation.get("last_messages"):
        history = history[-int(truncation["last_messages"]) :]

    own: list[ChatMessage] = []
    for step in steps:
        if step["status"] != "completed":
            continue
        details = loads(step["step_details"])
        if details["type"] == "message_creation":
            msg = by_id.get(details["message_creation"]["message_id"])
            if msg is not None:
                own.append(
                    ChatMessage(
                        role="assistant",
                        content=_content_for_model(loads(msg["content"]), "assistant"),
                    )
                )
        else:
            calls = [c for c in details["tool_calls"] if c.get("type") == "function"]
            if not calls:
                continue
            own.append(
                ChatMessage(
                    role="assistant",
                    content=None,
                    tool_calls=tuple(
                        ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
                        for c in calls
                    ),
                )
            )
            own.extend(
                ChatMessage(
                    role="tool",
                    content=c["function"].get("output") or "",
                    tool_call_id=c["id"],
                    name=c["function"]["name"],
                )
                for c in calls
            )

    system = (
        [ChatMessage(role="system", content=run["instructions"])] if run["instructions"] else []
    )
    if prompt_budget is not None:
        # "auto" drops the oldest history first until the prompt fits the budget.
        total = sum(message_tokens(m) for m in system + own)
        costs = [message_tokens(m) for m in history]
        total += sum(costs)
        drop = 0
        while drop < len(history) and total > prompt_budget:
            total -= costs[drop]
            drop += 1
        history = history[drop:]
    return system + history + own
