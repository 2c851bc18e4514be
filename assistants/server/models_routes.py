"""`GET /v1/models` and `GET /v1/models/{model}`: what this server can run, as OpenAI lists it.

The list is `{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}`
(no cursor: it is one page); an unknown id is a 404 (`model_not_found`). Auth is the other
routes': the caller's key picks the project, which does not change what the server runs.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from assistants._client import AsyncClient


def add_model_routes(app: FastAPI, view: Callable[[Request], AsyncClient]) -> None:
    """Serve the two routes on `app`, each through the caller's client `view(request)`."""

    @app.get("/v1/models")
    async def list_models(request: Request) -> JSONResponse:
        page = await view(request).models.list()
        return JSONResponse({"object": "list", "data": [m.to_dict() for m in page.data]})

    @app.get("/v1/models/{model:path}")
    async def get_model(request: Request, model: str) -> JSONResponse:
        return JSONResponse((await view(request).models.retrieve(model)).to_dict())
