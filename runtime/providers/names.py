"""Model names as the router takes them: checked before a name goes into a provider's URL or
request body, wherever it comes from (a request, a model alias, a provider's model list)."""

from __future__ import annotations

import re
from typing import Final

from store.errors import BadRequestError

MODEL_NAME_MAX: Final = 256
MODEL_PATTERN = "^[A-Za-z0-9._:@/+-]+$"
"""The characters a model name may use (see `model_name` for its segments)."""
_MODEL_NAME = re.compile(MODEL_PATTERN)


def model_name(name: str, param: str = "model") -> str:
    """A model name (`ollama/llama3.2:1b`, `anthropic/claude-sonnet-4-5@20250929`): at most
    `MODEL_NAME_MAX` characters, letters, digits and `. _ : @ / + -`, in `/`-separated segments
    none of which is empty, `.` or `..`.

    The name ends up in provider URLs and request bodies, so nothing else gets through.
    """
    bad_segment = any(seg in ("", ".", "..") for seg in name.split("/"))
    if len(name) > MODEL_NAME_MAX or not _MODEL_NAME.match(name) or bad_segment:
        shown = name[:MODEL_NAME_MAX] + ("..." if len(name) > MODEL_NAME_MAX else "")
        shown = shown if shown.isprintable() else repr(shown)
        raise BadRequestError(
            f"Invalid '{param}': '{shown}' is not a valid model name. Model names use letters, "
            "digits and '.', '_', ':', '@', '/', '+', '-', in '/'-separated segments that are "
            f"not empty, '.' or '..', {MODEL_NAME_MAX} characters at most (e.g. "
            "'ollama/llama3.2:1b', 'openai/gpt-4o-mini').",
            param=param,
            code="invalid_value",
        )
    return name
