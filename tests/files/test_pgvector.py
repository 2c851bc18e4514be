"""Vector search on a Postgres that has pgvector (`ASSISTANTS_TEST_PGVECTOR_URL`, a database
with the `vector` extension; `scripts/pgvector_server.sh` starts one and CI sets it): files are
ingested and searched through the public API with a loopback embeddings server, and rank as
they do on the `real[]` path, which a database of the same server without the extension keeps.
Each test gets a schema of its own (the extension stays in `public`, off the `search_path`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from assistants import AsyncClient
from tests.files.embedserver import EmbeddingServer
from tests.files.test_vector_search import options, upload
from tests.helpers import api_error, error_fields

PGVECTOR_URL = os.environ.get("ASSISTANTS_TEST_PGVECTOR_URL")

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        PGVECTOR_URL is None,
        reason="ASSISTANTS_TEST_PGVECTOR_URL is not set (a Postgres database with the vector "
        "extension: scripts/pgvector_server.sh starts one; CI sets it)",
    ),
]

TEXTS = {
    "cars.txt": "Fixing a car engine takes a mechanic and patience.",
    "bread.txt": "Baking bread: let the dough rise, then heat the oven.",
    "boat.txt": "Boat repair: mend the vessel hull before sailing.",
    "sea.txt": "The ocean and the sea: marine life near the ship.",
    "salary.txt": "Money matters: cash, salary and the bank.",
    "motor.txt": "A motor vehicle needs a new engine; the automobile is old.",
    "loaf.txt": "A loaf of bread from the oven, baking all morning.",
    "mixed.txt": "Cars and boats: repair of every vehicle and vessel.",
}
QUERIES = ["automobile mend", "boat repair", "bread oven", "ship at sea", "salary", "engine"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # asyncpg


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    running = EmbeddingServer()
    try:
        yield running
    finally:
        running.close()


def _admin(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def _sql(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def with_vector(anyio_backend: str) -> AsyncIterator[str]:
    """A fresh schema in the pgvector database (the extension is in `public`)."""
    assert PGVECTOR_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _sql(PGVECTOR_URL, f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PGVECTOR_URL else "?"
    try:
        yield f"{PGVECTOR_URL}{sep}search_path={schema}"
    finally:
        await _sql(PGVECTOR_URL, f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
async def without_vector(anyio_backend: str) -> AsyncIterator[str]:
    """A fresh database on the same server, where pgvector is available but not installed."""
    assert PGVECTOR_URL is not None
    name = f"nv_{uuid.uuid4().hex[:12]}"
    base, _, query = PGVECTOR_URL.partition("?")
    await _sql(PGVECTOR_URL, f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    finally:
        await _sql(PGVECTOR_URL, f'DROP DATABASE "{name}" WITH (FORCE)')


async def _ingest(
    stack: AsyncExitStack, url: str, server: EmbeddingServer, model: str = "emb/hash-256"
) -> Any:
    """A client on `url` (closed with `stack`) with TEXTS in one vector store; returns (client,
    store id, ids)."""
    client = AsyncClient(database_url=url, worker=True, **options(server.base_url, model))
    await stack.enter_async_context(client)
    vs = await client.vector_stores.create(name="manuals")
    ids = {name: await upload(client, vs.id, name, text) for name, text in TEXTS.items()}
    return client, vs.id, ids


async def _ranking(client: AsyncClient, vs_id: str, ids: dict[str, str]) -> list[Any]:
    """Each query's results as (file name, score), best first."""
    names = {file_id: name for name, file_id in ids.items()}
    found = []
    for query in QUERIES:
        page = await client.vector_stores.search(vs_id, query=query, max_num_results=8)
        found.append([(names[r.file_id], r.score) for r in page.data])
    return found


def _same(a: list[Any], b: list[Any]) -> None:
    for ranked_a, ranked_b in zip(a, b, strict=True):
        assert [name for name, _ in ranked_a] == [name for name, _ in ranked_b]
        for (_, score_a), (_, score_b) in zip(ranked_a, ranked_b, strict=True):
            assert score_a == pytest.approx(score_b, abs=1e-5)


async def test_pgvector__ranks_as_the_array_path_and_a_database_without_it_keeps_working(
    with_vector: str, without_vector: str, server: EmbeddingServer
) -> None:
    """The same files, searched by vector and hybrid (words and meaning), rank the same with
    pgvector and with the real[] scan of a database where the extension is not installed."""
    async with AsyncExitStack() as stack:
        pg, pg_vs, pg_ids = await _ingest(stack, with_vector, server)
        plain, plain_vs, plain_ids = await _ingest(stack, without_vector, server)
        assert await (await pg.store()).vector_stores.pgvector() is not None
        assert await (await plain.store()).vector_stores.pgvector() is None
        by_pgvector = await _ranking(pg, pg_vs, pg_ids)
        by_arrays = await _ranking(plain, plain_vs, plain_ids)
    _same(by_pgvector, by_arrays)
    assert by_pgvector[0][0][0] in ("motor.txt", "cars.txt")  # shares no word, ranks by meaning
    assert all(len(found) > 1 for found in by_pgvector)


async def _index_scans(url: str, index: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(_admin(url))
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        scans = await conn.fetchval(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = $1", index
        )
        return int(scans or 0)
    finally:
        await conn.close()


async def test_pgvector__hnsw_indexes_of_two_lengths_serve_their_models(
    with_vector: str, server: EmbeddingServer
) -> None:
    """Stores embedded by models of two lengths in one database, each length with its HNSW
    index (as the README says to build them): a search by each model uses its index and ranks
    as the exact scan did; a model searching the other's store is the usual 400."""
    schema = with_vector.rsplit("search_path=", 1)[1]
    exact: dict[str, list[Any]] = {}
    stores: dict[str, tuple[str, dict[str, str]]] = {}
    for model in ("emb/hash-256", "emb/hash-32"):
        async with AsyncExitStack() as stack:
            client, vs_id, ids = await _ingest(stack, with_vector, server, model)
            exact[model] = await _ranking(client, vs_id, ids)
        stores[model] = (vs_id, ids)
    for dims in (256, 32):
        await _sql(
            with_vector,
            f'CREATE INDEX chunks_hnsw_{dims} ON "{schema}".chunks USING hnsw '
            f"((CAST(embedding AS public.vector({dims}))) public.vector_ip_ops) "
            f"WHERE embedding_dims = {dims}",
        )
    # a handful of chunks: without this the planner rightly prefers reading the table
    no_scans = f"{with_vector}&enable_seqscan=off&enable_sort=off"
    for model, dims in (("emb/hash-256", 256), ("emb/hash-32", 32)):
        vs_id, ids = stores[model]
        before = await _index_scans(with_vector, f"chunks_hnsw_{dims}")
        async with AsyncClient(database_url=no_scans, **options(server.base_url, model)) as c:
            indexed = await _ranking(c, vs_id, ids)
            other_vs = stores["emb/hash-32" if dims == 256 else "emb/hash-256"][0]
            err = await api_error(lambda: c.vector_stores.search(other_vs, query="car"))  # noqa: B023
            assert error_fields(err)[0::3] == (400, "embedding_mismatch")
        _same(indexed, exact[model])
        assert await _index_scans(with_vector, f"chunks_hnsw_{dims}") >= before + len(QUERIES)
