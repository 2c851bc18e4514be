"""Fixtures for the client-surface tests: an assistant and a thread on the `client` fixture."""

from __future__ import annotations

import pytest

from assistants import AsyncClient
from assistants.types import Assistant, Thread
from tests.conftest import WEATHER_TOOL
from tests.helpers import World, make_world, ok


@pytest.fixture
async def assistant(client: AsyncClient) -> Assistant:
    """An assistant with instructions and one function tool (`get_weather`)."""
    return ok(
        await client.assistants.create(
            model="gpt-4o",
            name="Weather",
            instructions="Be brief.",
            tools=[WEATHER_TOOL],
        )
    )


@pytest.fixture
async def thread(client: AsyncClient) -> Thread:
    """An empty thread."""
    return ok(await client.threads.create())


@pytest.fixture
async def world(client: AsyncClient) -> World:
    """An assistant, a thread with a message, and a cancelled run (see `World`)."""
    return await make_world(client)
