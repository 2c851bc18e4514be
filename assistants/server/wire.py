"""From HTTP to the client's calls and back: list and include query parameters, body keys,
JSON objects and SSE streams out."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from assistants.streaming.manager import AsyncEventStream
from store.errors import APIError, BadRequestError, InternalServerError
from store.log import get_logger
from store.rows import dumps_logged

log = get_logger("assistants.server")


_QUERY_INTEGER = re.compile(r"-?[0-9]{1,18}")
PAGING = ("limit", "order", "after", "before")


def query_integer(value: str, param: str) -> int:
    """An integer query parameter, in ASCII digits as OpenAI reads it: `int()` alone would also
    take non-ASCII digits, ' 3 ' and '1_0' (as 3 and 10)."""
    if not _QUERY_INTEGER.fullmatch(value):
        raise BadRequestError(
            f"Invalid '{param}': expected an integer, but got '{value}' instead.",
            param=param,
            code="invalid_type",
        )
    return int(value)


def list_query(request: Request, *names: str, paging: tuple[str, ...] = PAGING) -> dict[str, Any]:
    """The `paging` parameters the query has (`limit` an integer), and `names` as given."""
    out: dict[str, Any] = {}
    for name in (*paging, *names):
        value = request.query_params.get(name)
        if value is not None:
            out[name] = query_integer(value, name) if name == "limit" else value
    return out


def include_query(request: Request) -> dict[str, Any]:
    """`include[]` (or `include`) values as the client's `include=` argument."""
    values = request.query_params.getlist("include[]") or request.query_params.getlist("include")
    return {"include": values} if values else {}


def split(body: Mapping[str, Any], *names: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`body` as the keys in `names` and the rest."""
    named = {n: body[n] for n in names if n in body}
    rest = {k: v for k, v in body.items() if k not in names}
    return named, rest


def check_keys(body: Mapping[str, Any], allowed: set[str]) -> None:
    """Refuse a body key outside `allowed`, as the API does."""
    for key in body:
        if key not in allowed:
            raise BadRequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )


def as_json(result: Any) -> JSONResponse:
    """A wire object or page (anything with `to_dict()`) as the JSON response."""
    return JSONResponse(result.to_dict())


def object_or_stream(result: Any) -> Response:
    """A run as JSON, or its events as SSE when the body asked for `"stream": true`."""
    return sse(result) if isinstance(result, AsyncEventStream) else as_json(result)


def sse(stream: AsyncEventStream, *, ids: bool = False) -> StreamingResponse:
    return StreamingResponse(
        _sse_events(stream, ids=ids),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _sse_events(stream: AsyncEventStream, *, ids: bool = False) -> AsyncIterator[bytes]:
    """The stream as SSE: `event:` and one-line `data:` per event, then `done` / `[DONE]`;
    with `ids` (re-attached streams), each event's sequence number as its `id:` too.

    An error mid-stream is sent in the wrapped form (`{"error": {...}}`, which every SDK path
    raises) before the stream closes. If the client goes away, the generator is cancelled and
    the subscription closed; the run goes on.
    """
    try:
        async for event in stream.raw():
            # The logged payload as it is: deltas carry only what they add (no nulls).
            data = dumps_logged(event.data)
            seq = f"id: {event.seq}\n" if ids and event.seq is not None else ""
            yield f"{seq}event: {event.event}\ndata: {data}\n\n".encode()
        yield b"event: done\ndata: [DONE]\n\n"
    except Exception as exc:
        log.exception("stream_failed")
        error = (
            exc
            if isinstance(exc, APIError)
            else InternalServerError("The server had an error while streaming this run.")
        )
        yield f"event: error\ndata: {json.dumps(error.to_body())}\n\n".encode()
    finally:
        with anyio.CancelScope(shield=True):
            await stream.close()


class DataStream(Protocol):
    """A stream of wire objects (completion chunks, ...) that holds a request until closed."""

    def __aiter__(self) -> AsyncIterator[BaseModel]: ...

    async def close(self) -> None: ...


def data_sse(stream: DataStream) -> StreamingResponse:
    """The objects of `stream` as OpenAI's chat-completion SSE: one `data:` event each, then
    `data: [DONE]`; an error once events have gone out is a last `data: {"error": {...}}`
    event (which the SDKs raise), without `[DONE]`."""
    return StreamingResponse(
        _data_events(stream),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _data_events(stream: DataStream) -> AsyncIterator[bytes]:
    try:
        async for item in stream:
            yield b"data: " + item.model_dump_json(by_alias=True).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
    except Exception as exc:
        if isinstance(exc, APIError):
            error = exc
        else:
            log.exception("stream_failed")
            error = InternalServerError("The server had an error while streaming this answer.")
        yield f"data: {json.dumps(error.to_body())}\n\n".encode()
    finally:
        with anyio.CancelScope(shield=True):
            await stream.close()
