"""Shared fixtures: async backends, and stores/clients on SQLite and (when configured) Postgres.

`database_url` is parametrized over an in-memory SQLite, a SQLite file, and Postgres. Postgres
runs when `ASSISTANTS_TEST_POSTGRES_URL` is set (CI always sets it); each test gets a schema of
its own, dropped afterwards. asyncpg is asyncio-only, so Postgres cases skip on trio.
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from assistants import AsyncClient
from store.store import Store

POSTGRES_URL = os.environ.get("ASSISTANTS_TEST_POSTGRES_URL")
NO_POSTGRES = "ASSISTANTS_TEST_POSTGRES_URL is not set (CI sets it; see README)"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Every `async def` test runs under anyio (on the backends of `anyio_backend`)."""
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


def needs_postgres(item: pytest.Item) -> bool:
    """Whether a test case runs on Postgres: a `postgres` parameter, fixture or marker."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return (
        "postgres" in (params.get("database_url"), params.get("kind"))
        or "postgres_url" in getattr(item, "fixturenames", ())
        or item.get_closest_marker("postgres") is not None
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """asyncpg is asyncio-only: Postgres cases are not generated for trio (not even as skips).

    Without `ASSISTANTS_TEST_POSTGRES_URL`, Postgres cases are marked skipped here, before any
    fixture runs: a skip raised inside an async fixture or a task group would reach pytest
    wrapped in an exception group and be reported as an error.
    """
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    no_postgres = pytest.mark.skip(reason=NO_POSTGRES)
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        postgres = needs_postgres(item)
        if params.get("anyio_backend") == "trio" and postgres:
            dropped.append(item)
            continue
        if postgres and POSTGRES_URL is None:
            item.add_marker(no_postgres)
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    """Tests are the application here: they choose to see warnings and errors only."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Backend-neutral tests run on asyncio and on trio."""
    return str(request.param)


def _pg_admin_dsn() -> str:
    assert POSTGRES_URL is not None
    return "postgresql://" + POSTGRES_URL.split("://", 1)[1]


async def _make_schema(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()


async def _drop_schema(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, anyio_backend: str, tmp_path: Path
) -> AsyncIterator[str]:
    """A fresh, empty database of each kind."""
    kind = request.param
    if kind == "sqlite-memory":
        yield "sqlite+aiosqlite:///:memory:"
    elif kind == "sqlite-file":
        yield f"sqlite+aiosqlite:///{tmp_path / 'assistants.db'}"
    else:
        assert POSTGRES_URL is not None, NO_POSTGRES  # such cases are skipped at collection
        schema = f"t_{uuid.uuid4().hex[:12]}"
        await _make_schema(schema)
        sep = "&" if "?" in POSTGRES_URL else "?"
        try:
            yield f"{POSTGRES_URL}{sep}search_path={schema}"
        finally:
            await _drop_schema(schema)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A store on each kind of database."""
    s = await Store.open(database_url)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def memory_store(anyio_backend: str) -> AsyncIterator[Store]:
    """An in-memory SQLite store (for tests about logic, not dialects)."""
    s = await Store.open("sqlite+aiosqlite:///:memory:")
    try:
        yield s
    finally:
        await s.close()


# OpenAI model names the client-surface tests create objects with and read back, served by the
# test double: without OPENAI_API_KEY, the bare names would be refused at creation.
ECHOED_MODELS = {"gpt-4o": "test", "gpt-4o-mini": "test"}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[AsyncClient]:
    """An `AsyncClient` with no worker: runs stay where the test puts them. It accepts (and
    ignores) `code_interpreter`, as a server started with --accept-unsupported-tools does, so
    the shape tests can echo every tool type."""
    async with AsyncClient(
        database_url=database_url,
        worker=False,
        model_aliases=ECHOED_MODELS,
        accept_unsupported_tools=True,
    ) as c:
        yield c


@pytest.fixture
async def live_client(database_url: str) -> AsyncIterator[AsyncClient]:
    """An `AsyncClient` with its embedded worker running (fast sweeps and leases for tests)."""
    async with AsyncClient(
        database_url=database_url,
        worker=True,
        poll_seconds=0.05,
        sweep_seconds=0.05,
        lease_seconds=2.0,
        stop_grace_seconds=2.0,
    ) as c:
        yield c


@pytest.fixture
def tmp_cwd(tmp_path: Path) -> Iterator[Path]:
    """Run in an empty directory (no assistants.toml, no assistants.db of the developer's)."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
