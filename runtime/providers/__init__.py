"""Model providers and the router that picks one for a model name."""

from runtime.providers.base import (
    ChatMessage,
    Chunk,
    Finish,
    ModelRequest,
    Provider,
    ProviderCallError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.router import ProviderRouter, Route

__all__ = [
    "ChatMessage",
    "Chunk",
    "Finish",
    "ModelRequest",
    "Provider",
    "ProviderCallError",
    "ProviderRouter",
    "Route",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "UsageChunk",
]
