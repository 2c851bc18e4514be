"""file_search inside runs, in-process on every backend, with the `test` model: the runtime
searches (no requires_action), records a file_search step, and the answer cites the files."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

import pytest

from assistants import AsyncClient
from tests.files.pdfs import make_pdf

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.types.beta.threads import Message as SDKMessage
    from openai.types.beta.threads.runs import RunStep as SDKRunStep

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        database_url=database_url, worker=True, poll_seconds=0.05, sweep_seconds=0.05
    ) as c:
        yield c


async def test_run__searches_and_cites_with_exact_indexes(client: AsyncClient) -> None:
    """A run with file_search completes without requires_action; its answer's markers are
    file_citation annotations whose indexes cut exactly the marker text."""
    store = await client.vector_stores.create(name="docs")
    pdf = make_pdf(["The ferry leaves at seven in the morning.", "Tickets cost four euros."])
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("ferry.pdf", pdf)
    )
    assert done.status == "completed"
    assistant = await client.assistants.create(
        model="test",
        tools=[{"type": "file_search", "file_search": {"max_num_results": 2}}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = await client.threads.create(
        messages=[{"role": "user", "content": "When does the ferry leave?"}]
    )
    run = await client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    steps = (await client.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    SDKRunStep.model_validate(steps[0].to_dict())
    call = steps[0].to_dict()["step_details"]["tool_calls"][0]
    assert call["type"] == "file_search"
    assert call["file_search"]["ranking_options"]["ranker"] == "default_2024_08_21"
    results = call["file_search"]["results"]
    assert 1 <= len(results) <= 2
    assert results[0]["file_id"] == done.id
    assert results[0]["file_name"] == "ferry.pdf"
    messages = (await client.threads.messages.list(thread.id)).data
    answer = messages[0].to_dict()
    SDKMessage.model_validate(answer)
    text = answer["content"][0]["text"]
    assert "seven in the morning" in text["value"]
    assert text["annotations"], text
    last = -1
    for note in text["annotations"]:
        assert note["type"] == "file_citation"
        assert note["file_citation"]["file_id"] == done.id
        assert text["value"][note["start_index"] : note["end_index"]] == note["text"]
        assert note["text"].startswith("【0:")
        assert note["text"].endswith("†ferry.pdf】")
        assert note["start_index"] >= last  # never overlapping
        last = note["end_index"]


async def test_run__expired_store_fails_clearly(client: AsyncClient) -> None:
    """A run whose vector store has expired fails with a message naming the store."""
    store = await client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 1})
    backing = await client.store()
    async with backing.db.transaction() as tx:
        await tx.execute("UPDATE vector_stores SET expires_at = 1 WHERE id = :id", {"id": store.id})
    assistant = await client.assistants.create(
        model="test",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = await client.threads.create(messages=[{"role": "user", "content": "anything"}])
    run = await client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert f"'{store.id}' has expired" in run.last_error.message
