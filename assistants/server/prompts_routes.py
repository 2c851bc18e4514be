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

The caller's API key picks the project, as for every `/v1` route; errors are the client's, in
OpenAI's shape (a lost compare-and-set is a 400, never a 409 the SDKs would retry).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistants._client import AsyncClient
from assistants.server.guard import read_json_body
from store.errors import BadRequestError

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
