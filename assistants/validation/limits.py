"""The sizes and counts a request may reach, as the API documents them (CONTRACT §7)."""

from __future__ import annotations

from typing import Final

METADATA_MAX_PAIRS: Final = 16
METADATA_KEY_MAX: Final = 64
METADATA_VALUE_MAX: Final = 512
ASSISTANT_NAME_MAX: Final = 256
ASSISTANT_DESCRIPTION_MAX: Final = 512
INSTRUCTIONS_MAX: Final = 256_000
ASSISTANT_TOOLS_MAX: Final = 128
RUN_TOOLS_MAX: Final = 20
FUNCTION_NAME_MAX: Final = 64
FILE_IDS_MAX: Final = 20
TOKENS_MIN: Final = 256
MESSAGE_CONTENT_MAX: Final = 256_000
"""Characters in one text part (or a plain string content): the API's message content limit."""
MESSAGE_PARTS_MAX: Final = 100
"""Content parts in one message (the API documents none; one text part per paragraph fits)."""
MESSAGE_ATTACHMENTS_MAX: Final = 20
"""Attachments on one message (as many as code_interpreter takes file ids)."""
THREAD_MESSAGES_MAX: Final = 1_000
"""Messages given at once: a new thread's `messages`, a run's `additional_messages`."""
JSON_DEPTH_MAX: Final = 64
"""Levels of nested objects and arrays in a request body, the body itself being level 1."""
INT_DIGITS_MAX: Final = 4_300
"""Digits of the longest integer taken (Python's own int-to-text limit)."""
TOOL_OUTPUT_MAX: Final = 512_000
ALLOWED_INCLUDE: Final = "step_details.tool_calls[*].file_search.results[*].content"

INTEGER_MAX: Final = 2**31 - 1
"""The largest integer any numeric field takes (larger ones would not even fit the store)."""

FALLBACKS_MAX: Final = 5
"""Models a run may fall back to, in order, when its own model fails for good."""
