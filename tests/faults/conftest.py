"""Fixtures for fault tests on real processes: shared databases, a fake model, worker processes.

Every test here drives `assistants worker` subprocesses; they share the database given by
`database_url` (a Postgres schema of its own, or a SQLite file: an in-memory database cannot be
shared between processes) and call the loopback `FakeModel` as `ollama/fake`. Only asyncio runs
the tests (the code under test is in the subprocesses; trio would repeat the same processes).

Tests marked `slow` skip unless the `slow` marker is selected (`pytest -m slow`) or
`ASSISTANTS_SLOW_TESTS=1` is set, so the default run stays short.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from assistants import AsyncClient
from tests.conftest import NO_POSTGRES, POSTGRES_URL, _drop_schema, _make_schema
from tests.faults.fakemodel import FakeModel
from tests.faults.harness import Workers


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("slow") is None:
        return
    selected = "slow" in (item.config.getoption("markexpr", "") or "")
    if not selected and os.environ.get("ASSISTANTS_SLOW_TESTS") != "1":
        pytest.skip("slow tier: run with `pytest -m slow` or ASSISTANTS_SLOW_TESTS=1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def shared_database(kind: str, directory: Path) -> AsyncIterator[str]:
    """A fresh database worker processes can share: a Postgres schema or a SQLite file."""
    if kind == "sqlite-file":
        yield f"sqlite+aiosqlite:///{directory / f'shared-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert POSTGRES_URL is not None, NO_POSTGRES  # such cases are skipped at collection
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _make_schema(schema)
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}search_path={schema}"
    finally:
        await _drop_schema(schema)


@pytest.fixture(params=["postgres", "sqlite-file"])
async def database_url(
    request: pytest.FixtureRequest, anyio_backend: str, tmp_path: Path
) -> AsyncIterator[str]:
    async with shared_database(str(request.param), tmp_path) as url:
        yield url


@pytest.fixture
async def postgres_url(anyio_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with shared_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def fake_model() -> Iterator[FakeModel]:
    fake = FakeModel()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Starts worker processes; any still running at the end is killed."""
    group = Workers(tmp_path)
    try:
        yield group
    finally:
        group.close()


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[AsyncClient]:
    """A client with no worker on the shared database (its schema created before workers start)."""
    async with AsyncClient(database_url=database_url, worker=False, poll_seconds=0.05) as c:
        await c.store()
        yield c
