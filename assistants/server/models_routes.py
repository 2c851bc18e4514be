"""`GET /v1/models` and `GET /v1/models/{model}`: what this server can run, as OpenAI lists it.

The list is `{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}`
(no cursor: it is one page); an unknown id is a 404 (`model_not_found`). Auth is the other
routes': the caller's key picks the project, which does not change what the server runs.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assistants.server.deps import Caller
from assistants.server.openapi import operation
from assistants.server.wire import as_json

router = APIRouter()


@router.get("/v1/models", **operation("listModels", "List models", "Models", "ModelList"))
async def list_models(caller: Caller) -> JSONResponse:
    page = await caller.models.list()
    return JSONResponse({"object": "list", "data": [m.to_dict() for m in page.data]})


@router.get(
    "/v1/models/{model:path}",
    **operation("retrieveModel", "Retrieve a model", "Models", "ModelCard"),
)
async def get_model(caller: Caller, model: str) -> JSONResponse:
    return as_json(await caller.models.retrieve(model))
