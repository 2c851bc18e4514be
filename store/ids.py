"""Object ids with OpenAI's prefixes (`asst_`, `thread_`, `msg_`, `run_`, `step_`, `call_`)."""

from __future__ import annotations

import secrets
from typing import Final

from store.errors import BadRequestError

_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

PREFIXES: Final[dict[str, str]] = {
    "assistant": "asst",
    "thread": "thread",
    "message": "msg",
    "run": "run",
    "step": "step",
    "call": "call",
    "prompt": "prompt",
    "prompt_version": "pver",
    "file": "file",
    "vector_store": "vs",
    "file_batch": "vsfb",
}
SEPARATORS: Final[dict[str, str]] = {"file": "-"}
"""Kinds whose ids join prefix and random part with another character (OpenAI's `file-...`)."""


def new_id(kind: str) -> str:
    """A new id such as `run_4Jk0...`: the kind's prefix and 24 random base-62 characters.

    142 random bits (62**24 < 2**143; the modulo bias of reducing 160 bits is under 2**-17).
    """
    number = int.from_bytes(secrets.token_bytes(20), "big")
    chars = []
    for _ in range(24):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return PREFIXES[kind] + SEPARATORS.get(kind, "_") + "".join(chars)


def check_id(param: str, value: object, kind: str) -> str:
    """Reject an id that cannot be one of `kind`, with the real API's 400 wording.

    Example: "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'."
    """
    prefix = PREFIXES[kind]
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) > 128:
        shown = value if isinstance(value, str) else repr(value)
        raise BadRequestError(
            f"Invalid '{param}': '{shown}'. Expected an ID that begins with '{prefix}'.",
            param=param,
            code="invalid_value",
        )
    return value
