"""A turn: what one model call of a run produced so far (`Turn`, its `StreamedCall`s), the
run's usage sums, and how a stop (`StopSignal`) interrupts the call (`RunCancelled`) while the
writes it makes are shielded (`shielded_write`). `runtime.turn_writer` writes a turn.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio

from store.work import Event


def zero_usage() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def add_usage(a: dict[str, int], prompt: int, completion: int) -> dict[str, int]:
    p = a["prompt_tokens"] + prompt
    c = a["completion_tokens"] + completion
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


@dataclass
class StreamedCall:
    """A tool call being streamed."""

    id: str
    name: str
    arguments: str = ""


@dataclass
class Turn:
    """What one model call produced so far."""

    step: str | None = None  # the open step's id
    message: str | None = None  # the open message's id
    text: str = ""
    message_done: bool = False
    tool_step: str | None = None  # the open tool_calls step's id
    calls: dict[int, StreamedCall] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish: str | None = None
    pending: list[Event] = field(default_factory=list)
    pending_since: float = 0.0
    seq: int = 0  # the last event sequence number persisted (or published) for the run
    first_token: float | None = None  # when the first text or tool-call delta came (monotonic)
    searches: list[dict[str, Any]] = field(default_factory=list)  # the run's file searches


def partial_message(turn: Turn | None) -> tuple[str, list[dict[str, Any]]] | None:
    """The open message's streamed text, to keep when the run ends mid-message."""
    if turn is None or turn.message is None or turn.message_done:
        return None
    return turn.message, [{"type": "text", "text": {"value": turn.text, "annotations": []}}]


def shielded_write() -> anyio.CancelScope:
    """A write made while the model streams completes even if a stop interrupts the stream, so
    the turn's state (its step, message, sequence number) and the log always agree."""
    return anyio.CancelScope(shield=True)


class StopSignal:
    """Why a held run must stop early: "cancel" (requested) or "expire" (past `expires_at`).

    Setting it interrupts the model call in progress at once (`interrupting`).
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._scope: anyio.CancelScope | None = None

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            if self._scope is not None:
                self._scope.cancel()

    @contextlib.contextmanager
    def interrupting(self) -> Iterator[anyio.CancelScope]:
        """A cancel scope that `set` cancels (at once if the signal is already set)."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            if self.reason is not None:
                scope.cancel()
            try:
                yield scope
            finally:
                self._scope = None


class RunCancelled(Exception):
    """The run was asked to stop while its model call streamed."""
