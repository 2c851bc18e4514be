"""The server's route table: every route is the app's own, and each path answers at its route.

The routes are added to the app's list in an order chosen for speed (the calls made most often
first); these tests hold that the order decides nothing else.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Mount, Route

from assistants import AsyncClient
from assistants.server import KeyRing, ServerSettings, create_app


def routes(inspector: bool) -> list[BaseRoute]:
    client = AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False)
    app = create_app(client, ServerSettings(keys=KeyRing(), inspector=inspector))
    return list(app.router.routes)


def sample(path: str) -> str:
    """A concrete path for a route's pattern: each parameter an id-like value."""
    return re.sub(r"\{[^}]+\}", "x_1", path)


@pytest.mark.parametrize("inspector", [False, True])
def test_routes__are_the_apps_own_not_nested_routers(inspector: bool) -> None:
    """Every entry is a route or the inspector page's mount: no router node that a request
    would search route by route (FastAPI's `include_router`)."""
    table = routes(inspector)
    assert all(isinstance(r, APIRoute | Route | Mount) for r in table)
    assert sum(isinstance(r, APIRoute) for r in table) > 50


@pytest.mark.parametrize("inspector", [False, True])
def test_routes__each_path_and_method_is_answered_by_its_own_route(inspector: bool) -> None:
    table = routes(inspector)
    for route in (r for r in table if isinstance(r, APIRoute)):
        for method in sorted(route.methods or ()):
            scope = {"type": "http", "path": sample(route.path), "method": method,
                     "root_path": "", "headers": []}  # fmt: skip
            first = next(r for r in table if r.matches(scope)[0] == Match.FULL)
            assert first is route, f"{method} {route.path} is answered by {first}"
