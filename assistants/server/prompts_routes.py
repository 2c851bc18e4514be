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

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from assistants.server.deps import Caller, JsonBody
from assistants.server.openapi import LIST_QUERY, operation
from assistants.server.wire import as_json, check_keys, data_sse, list_query, query_integer
from assistants.streaming.prompts import AsyncPromptRunStream
from assistants.validation import prompts as pv
from store.prompt_types import PromptRun

router = APIRouter()


@router.post(
    "/v1/prompts",
    **operation(
        "createPrompt",
        "Create a prompt",
        "Prompts",
        "Prompt",
        body="CreatePromptRequest",
        body_required=True,
    ),
)
async def create_prompt(caller: Caller, body: JsonBody) -> JSONResponse:
    return as_json(await caller.prompts.create(name=body.pop("name", None), extra_body=body))


@router.get(
    "/v1/prompts",
    **operation("listPrompts", "List prompts", "Prompts", "Prompt", query=LIST_QUERY, is_list=True),
)
async def list_prompts(caller: Caller, request: Request) -> JSONResponse:
    return as_json(await caller.prompts.list(**list_query(request)))


@router.get(
    "/v1/prompts/{name}",
    **operation(
        "retrievePrompt",
        "Retrieve a prompt's version",
        "Prompts",
        "PromptVersion",
        query=("version", "label"),
    ),
)
async def retrieve_prompt(caller: Caller, request: Request, name: str) -> JSONResponse:
    version = request.query_params.get("version")
    return as_json(
        await caller.prompts.retrieve(
            name,
            version=None if version is None else query_integer(version, "version"),
            label=request.query_params.get("label"),
        )
    )


@router.delete(
    "/v1/prompts/{name}",
    **operation("deletePrompt", "Delete a prompt", "Prompts", "PromptDeleted"),
)
async def delete_prompt(caller: Caller, name: str) -> JSONResponse:
    return as_json(await caller.prompts.delete(name))


@router.post(
    "/v1/prompts/{name}/versions",
    **operation(
        "createPromptVersion",
        "Create a prompt version",
        "Prompts",
        "PromptVersion",
        body="CreatePromptVersionRequest",
        body_required=True,
    ),
)
async def create_prompt_version(caller: Caller, body: JsonBody, name: str) -> JSONResponse:
    return as_json(await caller.prompts.versions.create(name, extra_body=body))


@router.get(
    "/v1/prompts/{name}/versions",
    **operation(
        "listPromptVersions",
        "List a prompt's versions",
        "Prompts",
        "PromptVersion",
        query=LIST_QUERY,
        is_list=True,
    ),
)
async def list_prompt_versions(caller: Caller, request: Request, name: str) -> JSONResponse:
    return as_json(await caller.prompts.versions.list(name, **list_query(request)))


@router.get(
    "/v1/prompts/{name}/labels",
    **operation("listPromptLabels", "List a prompt's labels", "Prompts", "PromptLabelList"),
)
async def list_prompt_labels(caller: Caller, name: str) -> JSONResponse:
    return as_json(await caller.prompts.labels.list(name))


@router.post(
    "/v1/prompts/{name}/labels",
    **operation(
        "setPromptLabel",
        "Point a label at a version",
        "Prompts",
        "PromptLabel",
        body="SetPromptLabelRequest",
        body_required=True,
    ),
)
async def set_prompt_label(caller: Caller, body: JsonBody, name: str) -> JSONResponse:
    check_keys(body, set(pv.LABEL_PARAMS))
    return as_json(
        await caller.prompts.labels.set(
            name,
            label=body.get("label"),  # type: ignore[arg-type]
            version=body.get("version"),  # type: ignore[arg-type]
            expected_version=body.get("expected_version"),
        )
    )


@router.delete(
    "/v1/prompts/{name}/labels/{label}",
    **operation("deletePromptLabel", "Delete a label", "Prompts", "PromptLabelDeleted"),
)
async def delete_prompt_label(caller: Caller, name: str, label: str) -> JSONResponse:
    return as_json(await caller.prompts.labels.delete(name, label=label))


@router.post(
    "/v1/prompts/{name}/run",
    response_model=None,
    **operation(
        "runPrompt",
        "Run a prompt",
        "Prompts",
        "PromptRun",
        body="RunPromptRequest",
        streams="PromptRunStreamEvent",
    ),
)
async def run_prompt(caller: Caller, body: JsonBody, name: str) -> Response:
    # `stream` travels in `extra_body`: either answer may come back.
    result: PromptRun | AsyncPromptRunStream = await caller.prompts.run(name, extra_body=body)
    if isinstance(result, AsyncPromptRunStream):
        return data_sse(result)
    return as_json(result)
