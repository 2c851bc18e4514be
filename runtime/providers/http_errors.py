"""What an HTTP provider's error says: `status_error` turns an HTTP status into a
`ProviderCallError` with the run's error code; the vendor's text in it is only ever `error_text`
(its JSON error shape's message, cleaned and cut) or the status's reason phrase.
`server_address` and `failure_cause` name the server and the reason of a request that got no
whole answer.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import unicodedata
from typing import Any

import httpx

from runtime.providers.base import ProviderCallError

RETRYABLE_STATUSES = frozenset({408, 409, 429})
INVALID_PROMPT_STATUSES = frozenset({400, 404, 422})
AUTH_STATUSES = frozenset({401, 403})

MAX_REASON = 200  # characters of a vendor's error message passed on to the run's last_error


def clean(text: str, limit: int = MAX_REASON) -> str:
    """`text` on one line, without control characters, cut to `limit` characters."""
    kept = "".join(" " if c in "\t\r\n" else c for c in text if c in "\t\r\n" or not _control(c))
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def _control(character: str) -> bool:
    return unicodedata.category(character) in {"Cc", "Cf", "Cs", "Co", "Cn"}


def error_text(payload: Any) -> str | None:
    """The vendor's message in `{"error": {"message"}}`, `{"error": "..."}` or `{"detail"}`,
    cleaned and cut (`clean`); None for any other shape."""
    if isinstance(payload, dict):
        error = payload.get("error") or payload
        if isinstance(error, str):
            return clean(error)
        for key in ("message", "detail"):
            if isinstance(error, dict) and isinstance(error.get(key), str):
                return clean(str(error[key]))
    return None


def reason_phrase(response: httpx.Response) -> str:
    """The status's reason phrase (the server's own, else the standard one), cleaned."""
    return clean(response.reason_phrase) or "no reason given"


def status_error(
    provider: str,
    status: int | None,
    vendor: str,
    *,
    retry_after: float | None = None,
    auth: bool = False,
    invalid: frozenset[int] = INVALID_PROMPT_STATUSES,
) -> ProviderCallError:
    """The error for an HTTP `status` (None: an error event without one) and the vendor's text.

    401/403 (or `auth`) is an authentication failure and `invalid` statuses are `invalid_prompt`,
    neither retried; 429 is `rate_limit_exceeded`; the rest are `server_error`s, retried when the
    status is 408, 409, 429 or 5xx (or unknown), after `retry_after` when it is not negative.
    """
    detail = f": {vendor}" if vendor else ""
    where = f"HTTP {status}" if status is not None else "an error event"
    if auth or status in AUTH_STATUSES:
        message = f"Authentication failed for provider '{provider}' ({where}){detail}"
        return ProviderCallError(message, status=status)
    if status in invalid:
        message = f"Provider '{provider}' rejected the request ({where}){detail}"
        return ProviderCallError(message, code="invalid_prompt", status=status)
    return ProviderCallError(
        f"Provider '{provider}' returned {where}{detail}",
        code="rate_limit_exceeded" if status == 429 else "server_error",
        retryable=status is None or status in RETRYABLE_STATUSES or status >= 500,
        retry_after=retry_after if retry_after is not None and retry_after >= 0 else None,
        status=status,
    )


def server_address(url: str) -> str:
    """`host:port` of `url`, for error messages (never its path, query or credentials)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{port}" if port else host


def failure_cause(exc: BaseException) -> str:
    """Why a request failed, in words: the OS's for a socket error ("Connection refused", not
    "All connection attempts failed"), else the first non-empty message down the cause chain."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | socket.gaierror):  # their errnos are their own
            return current.strerror or str(current)
        code = current.errno if isinstance(current, OSError) else None
        if code is not None and code in errno.errorcode:
            return os.strerror(code)
        if isinstance(current, BaseExceptionGroup):  # trio: one error per address tried
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    said: BaseException = exc
    while not str(said) and (inner := said.__cause__ or said.__context__) is not None:
        said = inner
    return str(said) or type(said).__name__
