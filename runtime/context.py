"""Prompt assembly: what a run sends the model.

Instructions (already interpolated at run creation) become the system message; then the thread's
messages, oldest first, cut by the truncation strategy; then this run's own steps in order (its
earlier messages, and each tool round as an assistant tool-call message plus the tool outputs).

The prompt budget is the run's `max_prompt_tokens` (less what its earlier turns used), else the
model's context (`MODEL_CONTEXT_TOKENS`); the oldest history goes first. `read_context` reads the
thread's history newest first, a page at a time, and stops as soon as the budget is filled or
`last_messages` are read: a turn costs the same on a thread of twenty messages or ten thousand
(with the same budget), and the event loop runs other tasks between pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import anyio.lowlevel

from runtime import file_search
from runtime.providers.base import ChatMessage, ToolCall
from runtime.providers.testmodel import estimate_tokens
from store.context import context_page_limit
from store.records import MessageRecord, RunRecord, StepRecord
from store.statuses import StepStatus
from store.store import Store

MODEL_CONTEXT_TOKENS = 128_000
"""The prompt budget of a run without `max_prompt_tokens`: the context window of the current
hosted chat models (128k tokens), which `auto` truncation fills from the newest message back."""


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


def _history_message(message: MessageRecord) -> ChatMessage:
    return ChatMessage(role=message.role, content=_content_for_model(message.content, message.role))


def message_tokens(message: ChatMessage) -> int:
    content = message.content
    if isinstance(content, list):
        text = " ".join(str(p.get("text", "")) for p in content)
    else:
        text = content or ""
    text += "".join(c.name + c.arguments for c in message.tool_calls)
    return estimate_tokens(text) + 4


def assemble(
    run: RunRecord,
    thread_messages: Sequence[MessageRecord],
    steps: Sequence[StepRecord],
    *,
    prompt_budget: int | None,
) -> list[ChatMessage]:
    """The conversation for the run's next model call (see the module docstring)."""
    history = [_history_message(m) for m in thread_messages if m.run_id != run.id]
    own = [m for m in thread_messages if m.run_id == run.id]
    return _compose(run, history, own, steps, prompt_budget)


def _compose(
    run: RunRecord,
    history: list[ChatMessage],
    own_messages: Sequence[MessageRecord],
    steps: Sequence[StepRecord],
    prompt_budget: int | None,
) -> list[ChatMessage]:
    """`assemble` over the thread's earlier messages already converted (`history`)."""
    truncation = run.truncation_strategy
    if truncation.get("type") == "last_messages" and truncation.get("last_messages"):
        history = history[-int(truncation["last_messages"]) :]
    own = _own_turns(own_messages, steps)
    system = [ChatMessage(role="system", content=run.instructions)] if run.instructions else []
    if prompt_budget is None:
        prompt_budget = MODEL_CONTEXT_TOKENS
    # The oldest history goes first until the prompt fits the budget.
    total = sum(message_tokens(m) for m in system + own)
    costs = [message_tokens(m) for m in history]
    total += sum(costs)
    drop = 0
    while drop < len(history) and total > prompt_budget:
        total -= costs[drop]
        drop += 1
    history = history[drop:]
    return system + history + own


def _own_turns(
    own_messages: Sequence[MessageRecord], steps: Sequence[StepRecord]
) -> list[ChatMessage]:
    """The run's own completed steps, in order: its messages, and each tool round as an
    assistant tool-call message and the tool outputs."""
    by_id = {m.id: m for m in own_messages}
    own: list[ChatMessage] = []
    for step in steps:
        if step.status != StepStatus.COMPLETED:
            continue
        if step.type == "message_creation":
            msg = by_id.get(step.message_id or "")
            if msg is not None:
                content = _content_for_model(msg.content, "assistant")
                own.append(ChatMessage(role="assistant", content=content))
        elif step.type == "tool_calls":
            searched = file_search.for_model(step)
            if searched:
                own.append(ChatMessage(role="assistant", content=None, tool_calls=searched))
                own.extend(
                    ChatMessage(
                        role="tool",
                        content=file_search.output_for_model(step, c.id),
                        tool_call_id=c.id,
                        name=c.name,
                    )
                    for c in searched
                )
            if not step.calls:
                continue
            calls = tuple(ToolCall(c.id, c.name, c.arguments) for c in step.calls)
            own.append(ChatMessage(role="assistant", content=None, tool_calls=calls))
            own.extend(
                ChatMessage(role="tool", content=c.output or "", tool_call_id=c.id, name=c.name)
                for c in step.calls
            )
    return own


async def read_context(
    store: Store, run: RunRecord, *, prompt_budget: int | None
) -> tuple[list[ChatMessage], list[StepRecord]]:
    """The prompt for the run's next model call (`assemble`) and the run's steps, reading only
    the history the prompt can use: the first page comes with the run, older pages only while
    the budget has room and `last_messages` are not all read."""
    context = await store.context.first_page(run)
    messages, steps = context.messages, context.steps
    own = [m for m in messages if m.run_id == run.id]
    rows = [m for m in messages if m.run_id != run.id]
    budget = MODEL_CONTEXT_TOKENS if prompt_budget is None else prompt_budget
    used = sum(message_tokens(m) for m in _compose(run, [], own, steps, None))
    history: list[ChatMessage] = []  # newest first until the end

    def take(newest_first: Sequence[MessageRecord]) -> bool:
        """Add messages, newest first, until one overflows the budget; False once one did
        (that one and all older are dropped: converting them would be wasted)."""
        nonlocal used
        for row in newest_first:
            message = _history_message(row)
            history.append(message)
            used += message_tokens(message)
            if used > budget:
                return False
        return True

    # A short page holds the thread's oldest message.
    room = take(rows[::-1])
    read, oldest = len(rows), rows[0].seq if rows else 0
    more = room and read == context_page_limit(run.truncation_strategy)
    while more:
        limit = context_page_limit(run.truncation_strategy, read)
        if not limit:
            break
        # Inline SQLite never suspends: let other tasks run between pages.
        await anyio.lowlevel.checkpoint()
        older = await store.context.older_page(run, oldest, limit)
        read += len(older)
        more = take(older) and len(older) == limit
        if older:
            oldest = older[-1].seq
    history.reverse()
    return _compose(run, history, own, steps, prompt_budget), steps
