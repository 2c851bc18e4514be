"""Stateless completions: one call to any model, in OpenAI's chat-completion shapes."""

from runtime.completions.engine import AsyncCompletionStream, Completions
from runtime.completions.params import CompletionParams
from runtime.completions.record import FinishedCall, Sink
from store.span_types import new_span_id

__all__ = [
    "AsyncCompletionStream",
    "CompletionParams",
    "Completions",
    "FinishedCall",
    "Sink",
    "new_span_id",
]
