"""`/v1/prompts`: prompts, their versions and release labels, as `client.prompts` names them.

    POST   /v1/prompts                          {name, description?, metadata?}     -> prompt
    GET    /v1/prompts                          ?limit&order&after&before           -> list
    GET    /v1/prompts/{name}                   ?version=N | ?label=L               -> version
    DELETE /v1/prompts/{name}                                                       -> deleted
    POST   /v1/prompts/{name}/versions          {messages | instructions, model?, ...}
    GET    /v1/prompts/{name}/versions          ?limit&order&after&before           -> list
    GET    /v1/prompts/{name}/labels                                                -> list
    POST   /v1/prompts/{name}/labels            {label, version, expected_version?} -> label
    DELETE /v1/prompts/{name}/labels/{label}                                        -> deleted
    POST   /v1/prompts/{name}/run               {prompt_version?, prompt_release_label?,
                                                 input_variables?, model?, stream?, ...}
                                                                      -> prompt.run, or SSE

`run` answers a `prompt.run` object (`request_id`, `raw_response`, `prompt_blueprint`); with
`"stream": true`, server-sent events: each `chat.completion.chunk` as a `data:` event, then the
`prompt.run` object, then `data: [DONE]` (an error once chunks have gone out is a last
`data: {"error": {...}}` event, as for chat completions).

The caller's API key picks the project, as for every `/v1` route; errors are the client's, in
OpenAI's shape (a lost compare-and-set is a 400, never a 409 the SDKs would retry).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from assistants._client import AsyncClient
from assistants.server.guard import read_json_body
from assistants.streaming.prompts import AsyncPromptRunStream
from store.errors import APIError, BadRequestError, InternalServerError
from store.log import get_logger
from store.prompt_types import PromptRun

log = get_logger("assistants.server")

router = APIRouter()


def _caller(request: Request) -> AsyncClient:
    """The served client scoped to the caller's project."""
    view: Any = request.app.state.caller
    client: AsyncClient = view(request)
    return client


def _json(result: Any) -> JSONResponse:
    return JSONResponse(result.to_dict())


def _list_query(request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("limit", "order", "after", "before"):
        value = request.query_params.get(name)
        if value is not None:
            out[name] = _integer(value, name) if name == "limit" else value
    return out


def _integer(value: str, param: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequestError(
            f"Invalid '{param}': expected an integer, but got '{value}' instead.",
            param=param,
            code="invalid_type",
        ) from None


@router.post("/v1/prompts")
async def create_prompt(request: Request) -> JSONResponse:
    body = await read_json_body(request)
    return _json(
        await _caller(request).prompts.create(name=body.pop("name", None), extra_body=body)
    )


@router.get("/v1/prompts")
async def list_prompts(request: Request) -> JSONResponse:
    return _json(await _caller(request).prompts.list(**_list_query(request)))


@router.get("/v1/prompts/{name}")
async def retrieve_prompt(request: Request, name: str) -> JSONResponse:
    version = request.query_params.get("version")
    return _json(
        await _caller(request).prompts.retrieve(
            name,
            version=None if version is None else _integer(version, "version"),
            label=request.query_params.get("label"),
        )
    )


@router.delete("/v1/prompts/{name}")
async def delete_prompt(request: Request, name: str) -> JSONResponse:
    return _json(await _caller(request).prompts.delete(name))


@router.post("/v1/prompts/{name}/versions")
async def create_prompt_version(request: Request, name: str) -> JSONResponse:
    body = await read_json_body(request)
    return _json(await _caller(request).prompts.versions.create(name, extra_body=body))


@router.get("/v1/prompts/{name}/versions")
async def list_prompt_versions(request: Request, name: str) -> JSONResponse:
    return _json(await _caller(request).prompts.versions.list(name, **_list_query(request)))


@router.get("/v1/prompts/{name}/labels")
async def list_prompt_labels(request: Request, name: str) -> JSONResponse:
    return _json(await _caller(request).prompts.labels.list(name))


@router.post("/v1/prompts/{name}/labels")
async def set_prompt_label(request: Request, name: str) -> JSONResponse:
    body = await read_json_body(request)
    for key in body:
        if key not in ("label", "version", "expected_version"):
            raise BadRequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )
    return _json(
        await _caller(request).prompts.labels.set(
            name,
            label=body.get("label"),  # type: ignore[arg-type]
            version=body.get("version"),  # type: ignore[arg-type]
            expected_version=body.get("expected_version"),
        )
    )


@router.delete("/v1/prompts/{name}/labels/{label}")
async def delete_prompt_label(request: Request, name: str, label: str) -> JSONResponse:
    return _json(await _caller(request).prompts.labels.delete(name, label=label))


@router.post("/v1/prompts/{name}/run", response_model=None)
async def run_prompt(request: Request, name: str) -> Response:
    body = await read_json_body(request)
    # `stream` travels in `extra_body`: either answer may come back.
    result: PromptRun | AsyncPromptRunStream = await _caller(request).prompts.run(
        name, extra_body=body
    )
    if isinstance(result, AsyncPromptRunStream):
        return StreamingResponse(
            _sse(result),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    return _json(result)


async def _sse(stream: AsyncPromptRunStream) -> AsyncIterator[bytes]:
    """The chunks, then the `prompt.run` object, as `data:` events, then `[DONE]`; an error
    mid-way as a last error event."""
    try:
        async for item in stream:
            yield b"data: " + item.model_dump_json(by_alias=True).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
    except Exception as exc:
        if isinstance(exc, APIError):
            error = exc
        else:
            log.exception("prompt_stream_failed")
            error = InternalServerError("The server had an error while streaming this answer.")
        yield f"data: {json.dumps(error.to_body())}\n\n".encode()
    finally:
        with anyio.CancelScope(shield=True):
            await stream.close()
