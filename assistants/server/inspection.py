"""The inspector: a page at `/inspector` to watch threads, runs and their events, and the JSON
reads it needs beyond the `/v1` contract.

The page is static files shipped in the package (`assistants/server/inspector/`: HTML, CSS and
JavaScript modules, no build step, nothing loaded from the network), served with a strict
Content-Security-Policy (scripts and styles from this server only, no inline script, no other
host), so that text from a model or a tool is only ever displayed, never run. It holds no data:
everything it shows comes from `/v1` with the API key the user types in (kept in the tab's
session storage), so a key sees only its own objects.

Extensions under `/v1/inspector/`, scoped by API key like every `/v1` route:

    GET /v1/inspector/threads?q=&limit=&after=        threads newest first, search by id/metadata
    GET /v1/inspector/runs/{run_id}/transitions       the run's statuses with their times
    GET /v1/inspector/runs/{run_id}/events?after=&before=&limit=&event=
                                                      the raw event log, a page at a time

The live view follows `GET /v1/threads/{thread_id}/runs/{run_id}/events?after=SEQ` (each SSE
event carries `id: SEQ`), reconnecting after the last sequence number it applied.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from assistants.server.deps import served_client
from store import ids
from store.errors import BadRequestError
from store.inspection import SEARCH_MAX_CHARS, InspectionPart

PAGE_DIR: Final = Path(__file__).with_name("inspector")
"""The page's files, shipped in the package."""
EVENTS_PAGE_MAX: Final = 500
EVENTS_PAGE_DEFAULT: Final = 100
_INTEGER = re.compile(r"[0-9]{1,18}")

PAGE_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}
"""Sent with every file of the page: nothing but this server's own files may load or run."""

router = APIRouter()


class PageFiles(StaticFiles):
    """The page's files, each with `PAGE_HEADERS`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(PAGE_HEADERS)
        return response


def mount_page(app: FastAPI) -> None:
    """Serve the page at `/inspector/` (and redirect `/inspector` there)."""

    @app.get("/inspector", include_in_schema=False)
    async def inspector_root() -> RedirectResponse:
        return RedirectResponse("/inspector/", status_code=308)

    app.mount("/inspector", PageFiles(directory=PAGE_DIR, html=True), name="inspector")


async def _part(request: Request) -> tuple[InspectionPart, str]:
    store = await served_client(request).store()
    return store.inspection, request.state.project


def _integer(
    request: Request, name: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw):
        raise BadRequestError(
            f"Invalid '{name}': expected an integer, but got '{raw}' instead.",
            param=name,
            code="invalid_type",
        )
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise BadRequestError(
            f"Invalid '{name}': expected a value {bounds}, but got {value} instead.",
            param=name,
            code="invalid_value",
        )
    return value


def _text(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return None
    if len(raw) > SEARCH_MAX_CHARS:
        raise BadRequestError(
            f"Invalid '{name}': string too long. Expected a string with maximum length "
            f"{SEARCH_MAX_CHARS}, but got a string with length {len(raw)} instead.",
            param=name,
            code="string_above_max_length",
        )
    return raw.strip()


@router.get("/v1/inspector/threads")
async def list_threads(request: Request) -> JSONResponse:
    """Threads newest first; `q` keeps those whose id or metadata contains it."""
    part, project = await _part(request)
    after = request.query_params.get("after")
    if after is not None:
        ids.check_id("after", after, "thread")
    limit = _integer(request, "limit", minimum=1, maximum=100) or 20
    threads, has_more = await part.threads(
        project, search=_text(request, "q"), limit=limit, after=after
    )
    data = [t.to_dict() for t in threads]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )


@router.get("/v1/inspector/runs/{run_id}/transitions")
async def run_transitions(request: Request, run_id: str) -> JSONResponse:
    """The run's status history: `{seq, status, at}` in order (`at` in fractional seconds)."""
    ids.check_id("run_id", run_id, "run")
    part, project = await _part(request)
    found = await part.transitions(project, run_id)
    return JSONResponse({"object": "list", "data": [t.to_dict() for t in found]})


@router.get("/v1/inspector/runs/{run_id}/events")
async def run_event_log(request: Request, run_id: str) -> JSONResponse:
    """A page of the run's event log; `event` keeps the events whose name contains it."""
    ids.check_id("run_id", run_id, "run")
    part, project = await _part(request)
    query: dict[str, Any] = {
        "after": _integer(request, "after", minimum=0),
        "before": _integer(request, "before", minimum=0),
        "limit": _integer(request, "limit", minimum=1, maximum=EVENTS_PAGE_MAX)
        or EVENTS_PAGE_DEFAULT,
        "name": _text(request, "event"),
    }
    page = await part.events(project, run_id, **query)
    return JSONResponse(page.to_dict())
