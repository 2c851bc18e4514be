"""What a route takes besides its path parameters, as FastAPI dependencies.

A route module declares `router = APIRouter()` (listed in `ROUTERS` in `app.py`) and its
handlers ask for what they need by type:

    @router.get("/v1/things/{thing_id}")
    async def get_thing(caller: Caller, thing_id: str) -> JSONResponse:
        return as_json(await caller.things.retrieve(thing_id))

- `Caller`: the client scoped to the project of the caller's API key (one view per project,
  made on first use; it shares the store and worker of the served client).
- `Served`: the served client itself, for what belongs to no project (`/health`).
- `Config`: the server's `Settings`.
- `JsonBody`: the request's JSON object, read and checked whole by the guard's parser (so the
  client's validation does not walk it again).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Request

from assistants._client import AsyncClient
from assistants.server.guard import read_json_body
from assistants.server.settings import Settings


class _Served:
    """The client and settings `create_app` serves, left on `app.state.served`."""

    def __init__(self, client: AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._views: dict[str, AsyncClient] = {}

    def view(self, project: str) -> AsyncClient:
        found = self._views.get(project)
        if found is None:
            found = self._views[project] = self.client.for_project(project)
        return found


def serve(app: FastAPI, client: AsyncClient, settings: Settings) -> None:
    """Make `client` and `settings` what `app`'s routes receive."""
    app.state.served = _Served(client, settings)


def _served(request: Request) -> _Served:
    return cast(_Served, request.app.state.served)


def caller_client(request: Request) -> AsyncClient:
    """The served client scoped to the caller's project (set by the request middleware)."""
    return _served(request).view(request.state.project)


def served_client(request: Request) -> AsyncClient:
    return _served(request).client


def server_settings(request: Request) -> Settings:
    return _served(request).settings


Caller = Annotated[AsyncClient, Depends(caller_client)]
Served = Annotated[AsyncClient, Depends(served_client)]
Config = Annotated[Settings, Depends(server_settings)]
JsonBody = Annotated[dict[str, Any], Depends(read_json_body)]
