"""The server's door: what a request must look like before any route sees it.

- `Guard` (ASGI): at most one `Authorization`, `Host`, `Origin`, `Content-Type` and
  `Content-Length` header; a body only with an allowed media type (`application/json`, or what
  `body_types` allows on a path); an `Origin` header only from the CORS allow-list; and, in
  keyless mode, a loopback `Host` only (`localhost`, `127.0.0.1`, `[::1]`, any port), so that
  neither a web page the developer visits nor a DNS-rebound name can drive the server.
- `read_json_body`: the JSON object of a request, parsed and checked (`json_tree`: nesting,
  NUL, lone surrogates, huge integers, infinities) off the event loop when it is large.

Refusals leave in OpenAI's error shape with an `x-request-id`, like every other error.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final

import anyio.to_thread
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from assistants.validation import INT_DIGITS_MAX, JSON_DEPTH_MAX, body_checked, json_tree
from store.errors import (
    APIError,
    BadRequestError,
    PermissionDeniedError,
    UnsupportedMediaTypeError,
)
from store.log import get_logger

log = get_logger("assistants.server")

MAX_BODY_BYTES: Final = 16 * 1024 * 1024
"""The largest request body taken (larger ones are 413s)."""
OFF_LOOP_BYTES: Final = 64 * 1024
"""Bodies above this size are parsed and checked in a worker thread, not on the event loop."""
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "[::1]"})
"""The `Host` names a keyless server answers to."""
JSON_BODY: Final = ("application/json",)
SINGLE_HEADERS: Final = (b"authorization", b"host", b"origin", b"content-type", b"content-length")


class _Refusal(Exception):
    def __init__(self, error: APIError) -> None:
        self.error = error


def error_response(exc: APIError, request_id: str) -> JSONResponse:
    """An error in OpenAI's shape, with the request's id (and `Retry-After` where retrying
    helps, `x-should-retry: false` where it cannot: the openai SDKs obey it)."""
    headers = {"x-request-id": request_id}
    if exc.retry_after is not None:
        headers["retry-after"] = f"{exc.retry_after:g}"
    if exc.retryable is False:
        headers["x-should-retry"] = "false"
    return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=headers)


def request_id_of(scope: Scope) -> str:
    """The request's id, made here at the door and kept by every layer after it."""
    state = scope.setdefault("state", {})
    found = state.get("request_id")
    if not found:
        found = state["request_id"] = f"req_{secrets.token_hex(16)}"
    return str(found)


def host_name(host: str) -> str:
    """`Host` without its port, lower case: `[::1]:8000` -> `[::1]`, `Example:80` -> `example`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]


class Guard:
    """Refuse requests a browser page or a confused proxy could send, before auth and routes.

    `keyless`: the server has no API keys, so any request that reaches it acts with full rights;
    only `allowed_hosts` are accepted in `Host`. `cors_origins`: the origins (`scheme://host[:port]`)
    whose pages may call the server; any other `Origin` is a 403, except, with `same_origin`,
    the server's own (`http(s)://` + `Host`: the inspector page it serves). `body_types`: path
    prefix -> media types its request bodies may have (the longest prefix wins; default JSON
    only).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        keyless: bool,
        cors_origins: Collection[str] = (),
        allowed_hosts: Collection[str] = LOOPBACK_HOSTS,
        body_types: Mapping[str, Iterable[str]] | None = None,
        same_origin: bool = False,
    ) -> None:
        self.app = app
        self.same_origin = same_origin
        self.keyless = keyless
        self.cors_origins = frozenset(o.rstrip("/").lower() for o in cors_origins)
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts)
        types = {"/": JSON_BODY, **(body_types or {})}
        self.body_types = sorted(
            ((prefix, frozenset(t.lower() for t in kinds)) for prefix, kinds in types.items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        try:
            self._check(scope)
        except _Refusal as refusal:
            log.info(
                "request_refused",
                path=scope["path"],
                status=refusal.error.status_code,
                code=refusal.error.code,
            )
            await error_response(refusal.error, request_id)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> None:
        headers: dict[bytes, list[bytes]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.lower(), []).append(value)
        for name in SINGLE_HEADERS:
            if len(headers.get(name, ())) > 1:
                shown = name.decode().title()
                raise _Refusal(
                    BadRequestError(
                        f"The request has more than one '{shown}' header; send exactly one.",
                        code="duplicate_header",
                    )
                )
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            raise _Refusal(
                BadRequestError(
                    "Invalid URL: the path or query contains a NUL character (%00), which no "
                    "id or parameter may contain.",
                    code="invalid_value",
                )
            )
        if self.keyless:
            host = host_name(headers.get(b"host", [b""])[0].decode("latin-1"))
            if host not in self.allowed_hosts:
                raise _Refusal(
                    BadRequestError(
                        f"Invalid Host header '{host}': this server has no API keys and answers "
                        "only to loopback names (localhost, 127.0.0.1, [::1]).",
                        code="invalid_host",
                    )
                )
        origin = headers.get(b"origin")
        if origin is not None:
            shown = origin[0].decode("latin-1")
            if shown.rstrip("/").lower() not in self.cors_origins and not (
                self.same_origin and _same_origin(shown, headers.get(b"host", [b""])[0])
            ):
                raise _Refusal(
                    PermissionDeniedError(
                        f"Requests from the web origin '{shown}' are not allowed. Add it to the "
                        "server's CORS origins (--cors-origin) to allow pages from it.",
                        code="origin_not_allowed",
                    )
                )
        if scope["method"] == "OPTIONS" or not _has_body(headers):
            return
        kind = headers.get(b"content-type", [b""])[0].decode("latin-1")
        media = kind.partition(";")[0].strip().lower()
        allowed = next(t for p, t in self.body_types if scope["path"].startswith(p))
        if media not in allowed:
            raise _Refusal(
                UnsupportedMediaTypeError(
                    f"Unsupported Content-Type '{kind}': the request body must be sent as "
                    f"{' or '.join(sorted(allowed))}.",
                    code="unsupported_media_type",
                )
            )


def _same_origin(origin: str, host: bytes) -> bool:
    """Whether `origin` is this server as the request names it (`Host`)."""
    scheme, _, rest = origin.lower().partition("://")
    return scheme in ("http", "https") and bool(host) and rest == host.decode("latin-1").lower()


def _has_body(headers: Mapping[bytes, list[bytes]]) -> bool:
    if b"transfer-encoding" in headers:
        return True
    length = headers.get(b"content-length")
    return length is not None and length[0].strip() not in (b"", b"0")


# --- the JSON body ----------------------------------------------------------------------------


class _NotJSONError(ValueError):
    """`NaN`, `Infinity`, `-Infinity` or a number too large for a double (`1e400`): Python's
    parser takes them, JSON (and every JSON column) has no such value."""


def _not_json(constant: str) -> Any:
    raise _NotJSONError(f"{constant} is not a JSON value.")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotJSONError(f"{text} is too large for a JSON number (it overflows to infinity).")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > INT_DIGITS_MAX:
        raise _NotJSONError(
            f"An integer with {len(text.lstrip('-'))} digits is too long (at most "
            f"{INT_DIGITS_MAX} digits)."
        )
    return int(text)


def _unparsable(detail: object) -> BadRequestError:
    return BadRequestError(
        "We could not parse the JSON body of your request. (HINT: This likely means you "
        "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
        f"but what was sent was not valid JSON.) {detail}",
        code="invalid_json",
    )


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in `raw`, checked to be storable and readable back; or a 400."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_not_json, parse_float=_finite, parse_int=_integer)
    except RecursionError:
        raise BadRequestError(
            "Invalid body: objects and arrays nested too deeply. Expected at most "
            f"{JSON_DEPTH_MAX} levels of nesting.",
            param="body",
            code="nesting_too_deep",
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise _unparsable(exc) from None
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object.", code="invalid_json")
    json_tree(body)
    return body


async def read_json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; a large body is parsed in a worker thread, so that no request
    holds the event loop (and every other request) for more than a few milliseconds."""
    raw = await request.body()
    if len(raw) > OFF_LOOP_BYTES:
        body = await anyio.to_thread.run_sync(parse_json_body, raw)
    else:
        body = parse_json_body(raw)
    body_checked()  # the client's validation need not walk this body's trees again
    return body
