"""Fixtures of the provider tests: the shared HTTP client the router would hand an adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from runtime.providers.http import new_http_client

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The aiohttp transport is asyncio-only: its cases are not generated for trio."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("transport") == "aiohttp" and params.get("anyio_backend") == "trio":
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(autouse=True)
def _no_proxies_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set the proxy variables they need; none leaks in from the environment."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_http_client(read_timeout=60) as http:
        yield http


@pytest.fixture
def http(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client`, under the name the Gemini tests use."""
    return client
