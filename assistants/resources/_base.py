"""What every resource shares: the client's context (store, project, settings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from assistants import validation as v
from assistants._types import NOT_GIVEN, NotGiven
from runtime.completions import Completions
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from runtime.tracing import Tracer
from store.store import Store

# openai-python's per-request options. Accepted so ported code runs unchanged: `extra_body` is
# merged into the request (it carries extension fields such as `variables`); the others have no
# meaning in-process and are ignored.
Headers = Mapping[str, str]
Query = Mapping[str, object]
Body = Mapping[str, object]
Timeout = float | None | NotGiven


class ClientContext(Protocol):
    project: str
    settings: Settings
    router: ProviderRouter
    completions: Completions

    async def store(self) -> Store: ...

    async def tracer(self) -> Tracer: ...


class Resource:
    def __init__(self, ctx: ClientContext) -> None:
        self._ctx = ctx

    async def _store(self) -> Store:
        return await self._ctx.store()

    async def _tracer(self) -> Tracer:
        return await self._ctx.tracer()

    @property
    def _project(self) -> str:
        return self._ctx.project


def merge_extra(params: dict[str, Any], extra_body: Body | None) -> dict[str, Any]:
    """The request's fields: the given parameters, then `extra_body`'s."""
    if extra_body:
        params = {**params, **dict(extra_body)}
    return params


def check_list(
    limit: int | NotGiven, order: str | NotGiven, after: str | NotGiven, before: str | NotGiven
) -> tuple[int, str, str | None, str | None]:
    def val(x: object) -> object:
        return None if x is NOT_GIVEN else x

    return v.list_params(val(limit), val(order), val(after), val(before))
