"""Vector and hybrid search with an embedding model configured, on every backend: chunks are
embedded at ingestion by a loopback server speaking OpenAI's (or Gemini's) embeddings wire
format, queries at search time; an endpoint that is down, or vectors of another model, are clear
errors."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.to_thread
import pytest

from assistants import AsyncClient
from runtime.embeddings import BATCH, embedder
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from store.errors import ConfigurationError
from tests.files.embedserver import EmbeddingServer
from tests.helpers import api_error, count_rows, error_fields

pytestmark = pytest.mark.timeout(60)

CARS = "Fixing a car engine takes a mechanic and patience."
BREAD = "Baking bread: let the dough rise, then heat the oven."
MODEL = "emb/hash-256"


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    running = EmbeddingServer()
    try:
        yield running
    finally:
        running.close()


def options(base_url: str, model: str = MODEL) -> dict[str, Any]:
    return {
        "embedding_model": model,
        "endpoints": {"emb": {"base_url": f"{base_url}/v1"}},
        "provider_max_retries": 0,
        "poll_seconds": 0.05,
        "sweep_seconds": 0.05,
    }


@pytest.fixture
async def client(database_url: str, server: EmbeddingServer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(database_url=database_url, worker=True, **options(server.base_url)) as c:
        yield c


async def upload(client: AsyncClient, vs_id: str, name: str, text: str, **kw: Any) -> str:
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=vs_id, file=(name, text.encode()), **kw
    )
    assert done.status == "completed", done.last_error
    return done.id


async def test_vector__finds_a_chunk_that_shares_no_word_with_the_query(
    client: AsyncClient, server: EmbeddingServer
) -> None:
    """'automobile mend' matches no word of any file (lexical search finds nothing), yet the
    car file ranks first by meaning; filters still apply."""
    vs = await client.vector_stores.create(name="manuals")
    cars = await upload(client, vs.id, "cars.txt", CARS)
    bread = await upload(client, vs.id, "bread.txt", BREAD)
    assert await count_rows(client, "chunks", "embedding_model = :m", m=MODEL) == 2
    assert sum(n for path, n in server.requests if path == "/v1/embeddings") == 2
    store = await client.store()
    lexical = await store.vector_stores.search("default", [vs.id], "automobile mend", limit=5)
    assert lexical == []
    page = await client.vector_stores.search(vs.id, query="automobile mend")
    assert [r.file_id for r in page.data] == [cars, bread]
    assert page.data[0].score > 0.25 > page.data[1].score
    assert page.data[0].content[0].text == CARS
    await client.vector_stores.files.update(bread, vector_store_id=vs.id, attributes={"k": "b"})
    only = await client.vector_stores.search(
        vs.id, query="automobile mend", filters={"type": "eq", "key": "k", "value": "b"}
    )
    assert [r.file_id for r in only.data] == [bread]
    top = await client.vector_stores.search(
        vs.id, query="automobile mend", ranking_options={"score_threshold": 0.25}
    )
    assert [r.file_id for r in top.data] == [cars]


async def test_hybrid__words_and_meaning_together_rank_first(
    client: AsyncClient, server: EmbeddingServer
) -> None:
    """The chunk matching the query's words and its meaning beats the one matching only its
    meaning (no shared word) and the one sharing only a word; all three are found."""
    vs = await client.vector_stores.create(name="boats")
    both = await upload(client, vs.id, "both.txt", "Boat repair: mend the vessel hull.")
    meaning = await upload(client, vs.id, "meaning.txt", "Mend the vessel.")
    word = await upload(
        client, vs.id, "word.txt", "Boat painting with varnish colours for the spring season."
    )
    page = await client.vector_stores.search(vs.id, query="boat repair", max_num_results=3)
    ids = [r.file_id for r in page.data]
    assert ids[0] == both
    assert set(ids) == {both, meaning, word}
    scores = {r.file_id: r.score for r in page.data}
    assert scores[both] > scores[meaning] > 0
    assert scores[both] > scores[word] > 0
    # each score is the mean of the chunk's vector-only and lexical-only scores
    store = await client.store()
    lexical = await store.vector_stores.search("default", [vs.id], "boat repair", limit=3)
    settings = Settings(**options(server.base_url))
    router = ProviderRouter(settings)
    try:
        made = embedder(router, settings)
        assert made is not None
        query = await made.query("boat repair")
    finally:
        await router.aclose()
    vector = await store.vector_stores.search("default", [vs.id], "", limit=3, vector=query)
    by_words = {r.file_id: r.score for r in lexical}
    by_meaning = {r.file_id: r.score for r in vector}
    assert set(by_words) == {both, word}
    for r in page.data:
        blended = (by_meaning[r.file_id] + by_words.get(r.file_id, 0.0)) / 2
        assert r.score == pytest.approx(blended, abs=2e-6)


async def test_ingestion__renews_its_claim_between_embedding_requests(
    client: AsyncClient, server: EmbeddingServer
) -> None:
    """A file whose chunks take several embedding requests keeps its claim alive between them,
    so a long embedding is not taken for a lost worker's."""
    first_in, first_out = server.hold(1)
    second_in, second_out = server.hold(2)
    vs = await client.vector_stores.create(name="long")
    text = " ".join(f"word{i % 97}" for i in range(BATCH * 100 + 50))
    uploaded = await client.files.create(file=("long.txt", text.encode()), purpose="assistants")
    static = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    await client.vector_stores.files.create(
        vector_store_id=vs.id, file_id=uploaded.id, chunking_strategy=static
    )
    store = await client.store()

    async def lease() -> float:
        row = await store.db.fetchrow(
            "SELECT lease_expires_at FROM vector_store_files WHERE id = :f", {"f": uploaded.id}
        )
        assert row is not None
        return float(row["lease_expires_at"])

    try:
        assert await anyio.to_thread.run_sync(first_in.wait, 30)
        claimed = await lease()
        first_out.set()
        assert await anyio.to_thread.run_sync(second_in.wait, 30)
        renewed = await lease()
    finally:
        first_out.set()
        second_out.set()
    assert renewed > claimed
    done = await client.vector_stores.files.poll(uploaded.id, vector_store_id=vs.id)
    assert done.status == "completed", done.last_error
    assert [n for _, n in server.requests] == [BATCH, 1]


async def test_run__file_search_uses_vector_search(client: AsyncClient) -> None:
    """A run's file_search (the test model searches for the user's message) finds the file
    that shares no word with the question."""
    vs = await client.vector_stores.create(name="manuals")
    cars = await upload(client, vs.id, "cars.txt", CARS)
    assistant = await client.assistants.create(
        model="test",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    thread = await client.threads.create(messages=[{"role": "user", "content": "automobile mend"}])
    run = await client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    steps = (await client.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")).data
    call = steps[0].to_dict()["step_details"]["tool_calls"][0]
    assert [r["file_id"] for r in call["file_search"]["results"]] == [cars]


async def test_run__embedding_server_failing_fails_the_run_with_the_cause(
    client: AsyncClient, server: EmbeddingServer
) -> None:
    """The query cannot be embedded during a run: the run fails (server_error) saying why."""
    vs = await client.vector_stores.create(name="manuals")
    await upload(client, vs.id, "cars.txt", CARS)
    assistant = await client.assistants.create(
        model="test",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    server.fail_status = 503
    thread = await client.threads.create(messages=[{"role": "user", "content": "automobile mend"}])
    run = await client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert run.last_error.message == (
        f"The embedding model '{MODEL}' could not embed the search query: Provider 'emb' "
        "returned HTTP 503: embedding overloaded"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_endpoint_down__file_fails_with_the_cause_and_re_adding_retries(
    database_url: str, anyio_backend: str
) -> None:
    """Ingestion against an embeddings server that is not listening fails the file with the
    cause in last_error; a search is a 502 saying why; once the server is up, adding the file
    again ingests it."""
    port = free_port()
    down = options(f"http://127.0.0.1:{port}")
    async with AsyncClient(database_url=database_url, worker=True, **down) as client:
        vs = await client.vector_stores.create(name="manuals")
        failed = await client.vector_stores.files.upload_and_poll(
            vector_store_id=vs.id, file=("cars.txt", CARS.encode())
        )
        assert failed.status == "failed"
        assert failed.last_error is not None
        assert failed.last_error.code == "server_error"
        assert failed.last_error.message.startswith(
            f"The embedding model '{MODEL}' failed: Could not reach provider 'emb' at "
            f"127.0.0.1:{port}: Connection refused"
        )
        assert await count_rows(client, "chunks") == 0
        err = await api_error(lambda: client.vector_stores.search(vs.id, query="car"))
        assert err.status_code == 502
        assert err.code == "embedding_failed"
        assert "Could not reach provider 'emb'" in err.message
        up = EmbeddingServer(port)
        try:
            again = await client.vector_stores.files.create_and_poll(
                failed.id, vector_store_id=vs.id
            )
            assert again.status == "completed", again.last_error
            assert again.last_error is None
            page = await client.vector_stores.search(vs.id, query="automobile mend")
            assert [r.file_id for r in page.data] == [failed.id]
        finally:
            up.close()


async def test_endpoint_error_status__fails_the_file_with_the_vendor_message(
    client: AsyncClient, server: EmbeddingServer
) -> None:
    """A 400 from the embeddings server (not retried) fails the file with its message."""
    vs = await client.vector_stores.create(name="manuals")
    server.fail_status = 400
    failed = await client.vector_stores.files.upload_and_poll(
        vector_store_id=vs.id, file=("cars.txt", CARS.encode())
    )
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.message == (
        f"The embedding model '{MODEL}' failed: Provider 'emb' rejected the request (HTTP 400): "
        "embedding overloaded"
    )


async def test_garbled_vectors__fail_the_file_saying_so(
    client: AsyncClient, server: EmbeddingServer
) -> None:
    """A 200 whose vectors are not numbers fails the file (nothing indexed), not the worker."""
    vs = await client.vector_stores.create(name="manuals")
    server.garbled = True
    failed = await client.vector_stores.files.upload_and_poll(
        vector_store_id=vs.id, file=("cars.txt", CARS.encode())
    )
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.message == (
        f"The embedding model '{MODEL}' failed: it returned something other than a vector of "
        "numbers."
    )
    assert await count_rows(client, "chunks") == 0
    server.garbled = False
    await upload(client, vs.id, "bread.txt", BREAD)


async def test_model_changed__search_is_a_clear_400(
    database_url: str, server: EmbeddingServer
) -> None:
    """Chunks embedded by one model, searched with another of another length: a 400 naming both
    and saying to add the files again; without an embedding model, lexical search still works."""
    if ":memory:" in database_url:
        pytest.skip("needs a database two clients share")
    async with AsyncClient(
        database_url=database_url, worker=True, **options(server.base_url)
    ) as first:
        vs = await first.vector_stores.create(name="manuals")
        await upload(first, vs.id, "cars.txt", CARS)
    other = {**options(server.base_url, "emb/hash-32"), "worker": False}
    async with AsyncClient(database_url=database_url, **other) as second:
        err = await api_error(lambda: second.vector_stores.search(vs.id, query="car engine"))
        assert error_fields(err) == (
            400,
            f"The vector store '{vs.id}' holds chunks embedded by '{MODEL}' (256 dimensions), "
            "which cannot be compared with the configured embedding model 'emb/hash-32' (32 "
            "dimensions). Add its files again to embed them with the current model.",
            "query",
            "embedding_mismatch",
        )
    async with AsyncClient(database_url=database_url, worker=False) as lexical:
        page = await lexical.vector_stores.search(vs.id, query="car engine")
        assert [r.content[0].text for r in page.data] == [CARS]


async def test_model_changed_under_its_name__search_is_a_clear_400(
    client: AsyncClient, server: EmbeddingServer
) -> None:
    """The server's model gives vectors of another length under the same name: a 400, not a
    crash, and lexical search is not silently substituted."""
    vs = await client.vector_stores.create(name="manuals")
    await upload(client, vs.id, "cars.txt", CARS)
    server.dims = 32
    err = await api_error(lambda: client.vector_stores.search(vs.id, query="car engine"))
    assert error_fields(err) == (
        400,
        f"The vector store '{vs.id}' holds chunks embedded by '{MODEL}' (256 dimensions), "
        f"which cannot be compared with the configured embedding model '{MODEL}' (32 "
        "dimensions). Add its files again to embed them with the current model.",
        "query",
        "embedding_mismatch",
    )


async def test_gemini__batch_embeds_chunks_and_embeds_the_query(
    server: EmbeddingServer, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    """`google/...` embeds a file's chunks with batchEmbedContents and a query with
    embedContent, on Gemini's wire format."""
    monkeypatch.setenv("GEMINI_BASE_URL", f"{server.base_url}/v1beta")
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    settings = {**options(server.base_url, "google/hash-128"), "endpoints": {}}
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", **settings) as client:
        vs = await client.vector_stores.create(name="manuals")
        cars = await upload(client, vs.id, "cars.txt", CARS)
        await upload(client, vs.id, "bread.txt", BREAD)
        page = await client.vector_stores.search(vs.id, query="automobile mend")
        assert page.data[0].file_id == cars
    assert [p for p, _ in server.requests] == [
        "/v1beta/models/hash-128:batchEmbedContents",
        "/v1beta/models/hash-128:batchEmbedContents",
        "/v1beta/models/hash-128:embedContent",
    ]


def test_settings__embedding_model_resolves_or_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unset: no embedder (lexical only). From the environment like any setting; a model no
    provider serves, or one without an embeddings API, is a start-up error naming it."""
    monkeypatch.delenv("ASSISTANTS_EMBEDDING_MODEL", raising=False)
    assert embedder(ProviderRouter(Settings()), Settings.load()) is None
    monkeypatch.setenv("ASSISTANTS_EMBEDDING_MODEL", "ollama/nomic-embed-text")
    settings = Settings.load()
    found = embedder(ProviderRouter(settings), settings)
    assert found is not None
    assert (found.label, found.model) == ("ollama/nomic-embed-text", "nomic-embed-text")
    bad = Settings(embedding_model="nope")
    with pytest.raises(ConfigurationError, match="Invalid embedding_model: The model 'nope'"):
        embedder(ProviderRouter(bad), bad)
    test = Settings(embedding_model="test")
    with pytest.raises(ConfigurationError, match="provider 'test', which has no embeddings API"):
        embedder(ProviderRouter(test), test)
