"""What this runtime can run, for `GET /v1/models`.

The built-in `test` model (and providers registered in-process), the model aliases, and the
models each configured OpenAI-compatible server (a named endpoint, or a local preset the operator
configured) reports on its own `GET {base_url}/models`, as `server/model`. Servers are asked at
once, each within a short timeout; one that is down or answers nonsense is skipped with a
`model_list_unavailable` warning, never an error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from runtime.providers import names
from runtime.providers.router import ProviderRouter
from store.errors import BadRequestError
from store.log import get_logger

if TYPE_CHECKING:
    import httpx

log = get_logger("assistants.catalog")

LIST_TIMEOUT = 3.0
"""Seconds one server may take to list its models."""
OWNER = "assistants-runtime"


@dataclass(frozen=True)
class Listed:
    """One model this runtime can run: its name, its owner, and when it was created."""

    id: str
    owned_by: str
    created: int


async def available_models(
    router: ProviderRouter, *, timeout: float = LIST_TIMEOUT
) -> list[Listed]:
    """Every model `router` can serve by name, local servers' models last (first name wins)."""
    now = int(time.time())
    out = [Listed(name, OWNER, now) for name in router.registered]
    for alias, target in sorted(router.settings.model_aliases.items()):
        if alias != "*":
            out.append(Listed(alias, target.partition("/")[0], now))
    servers = router.local_servers()
    found: dict[str, list[Listed]] = {}

    async def ask(name: str, config: dict[str, Any]) -> None:
        found[name] = await _server_models(router.http, name, config, timeout, now)

    async with anyio.create_task_group() as tg:
        for name, config in servers.items():
            tg.start_soon(ask, name, config)
    for name in servers:
        out.extend(found.get(name, []))
    unique: dict[str, Listed] = {}
    for model in out:
        unique.setdefault(model.id, model)
    return list(unique.values())


async def _server_models(
    http: httpx.AsyncClient, name: str, config: dict[str, Any], timeout: float, now: int
) -> list[Listed]:
    import httpx  # noqa: PLC0415  (loaded with the router's client, which `http` is)

    url = str(config["base_url"]).rstrip("/") + "/models"
    headers = {"Accept": "application/json", **(config.get("headers") or {})}
    if config.get("api_key"):
        headers["Authorization"] = f"Bearer {config['api_key']}"
    try:
        with anyio.fail_after(timeout):
            async with http.stream("GET", url, headers=headers, timeout=timeout) as response:
                body = await response.aread()
        if not response.is_success:
            log.warning("model_list_unavailable", server=name, status=response.status_code)
            return []
        payload = json.loads(body)
    except (httpx.HTTPError, httpx.InvalidURL, TimeoutError, ValueError) as exc:
        log.warning("model_list_unavailable", server=name, error=f"{type(exc).__name__}: {exc}")
        return []
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        log.warning("model_list_unavailable", server=name, error="no 'data' list in the answer")
        return []
    out: list[Listed] = []
    for item in items:
        model = item.get("id") if isinstance(item, dict) else None
        if not isinstance(model, str) or not _routable(f"{name}/{model}"):
            continue  # a name no request could use
        created = item.get("created")
        ok = isinstance(created, int) and not isinstance(created, bool) and created >= 0
        out.append(Listed(f"{name}/{model}", name, created if ok else now))
    return out


def _routable(model: str) -> bool:
    try:
        names.model_name(model)
    except BadRequestError:
        return False
    return True
