"""Fixtures of the provider tests: the shared HTTP client the router would hand an adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from runtime.providers.transport import HTTPClient


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    async with HTTPClient() as http:
        yield http


@pytest.fixture
def http(client: HTTPClient) -> HTTPClient:
    """`client`, under the name the Gemini tests use."""
    return client
