"""Fixtures of the provider tests: the shared httpx client the router would hand an adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
def http(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client`, under the name the Gemini tests use."""
    return client
