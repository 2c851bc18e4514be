"""A real server on a loopback port, and the official openai SDK pointed at it."""

from __future__ import annotations

import socket
import threading
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn

from assistants import AsyncClient
from assistants.server import KeyRing, ServerSettings, create_app
from tests.conftest import NO_POSTGRES, POSTGRES_URL, _drop_schema, _make_schema

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai


TEST_SECRET = b"test-secret-0123456789abcdef0123456789abcdef"
"""The server secret of test servers (keys' project ids are keyed with it)."""


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class LiveServer:
    """uvicorn serving our app in a background thread, on 127.0.0.1 and a free port."""

    def __init__(
        self, client: AsyncClient, *, keys: list[str] | None = None, **settings: Any
    ) -> None:
        ring = KeyRing(keys or [], secret=TEST_SECRET)
        self.app = create_app(client, ServerSettings(keys=ring, **settings))
        self.client = client
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # says TCP, and without it every keep-alive request waits ~40 ms on a delayed ACK.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5
        )
        self.server = _Server(config)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        if not self.server.ready.wait(20):
            raise RuntimeError("the server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        self._sock.close()

    def sdk(self, api_key: str = "sk-local", **options: Any) -> openai.OpenAI:
        """The unmodified SDK, validating every response strictly."""
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key,
            max_retries=0,
            _strict_response_validation=True,
            **options,
        )

    def async_sdk(self, api_key: str = "sk-local", **options: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key,
            max_retries=0,
            _strict_response_validation=True,
            **options,
        )


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Our server with its embedded worker on a SQLite file, on a loopback port."""
    client = AsyncClient(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'server.db'}",
        poll_seconds=0.05,
        sweep_seconds=0.05,
    )
    with LiveServer(client) as server:
        yield server


@pytest.fixture
def sdk(live_server: LiveServer) -> Iterator[openai.OpenAI]:
    client = live_server.sdk()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def any_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for a module's server: a SQLite file, then a Postgres schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'server.db'}"
        return
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    anyio.run(_make_schema, schema)
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}search_path={schema}"
    finally:
        anyio.run(_drop_schema, schema)
