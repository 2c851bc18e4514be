"""The unmodified openai SDK's `vector_stores` (+ files, file batches, search) and its polling
helpers against the server with its worker, on SQLite and Postgres."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from assistants import AsyncClient
from tests.conformance.conftest import LiveServer
from tests.conformance.support import check_error
from tests.files.pdfs import make_pdf

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

POLL = 20


@pytest.fixture(scope="module")
def server(any_database_url: str) -> Iterator[LiveServer]:
    client = AsyncClient(database_url=any_database_url, poll_seconds=0.05, sweep_seconds=0.05)
    with LiveServer(client, keys=["sk-a", "sk-b"]) as live:
        yield live


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[openai.OpenAI]:
    client = server.sdk("sk-a")
    try:
        yield client
    finally:
        client.close()


def test_pdf__upload_and_poll_then_search(sdk: openai.OpenAI) -> None:
    """The SDK uploads a PDF into a vector store with `upload_and_poll`, and search finds it."""
    store = sdk.vector_stores.create(name="manuals", metadata={"k": "v"})
    assert (store.status, store.file_counts.total) == ("completed", 0)
    pdf = make_pdf(["The pump must be primed before first use.", "Warranty lasts two years."])
    done = sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("pump.pdf", pdf), poll_interval_ms=POLL
    )
    assert done.status == "completed", done.last_error
    assert done.usage_bytes > 0
    page = sdk.vector_stores.search(store.id, query="how long is the warranty", max_num_results=3)
    results = list(page)
    assert results[0].file_id == done.id
    assert results[0].filename == "pump.pdf"
    assert "two years" in results[0].content[0].text
    listed = sdk.vector_stores.files.list(store.id, filter="completed")
    assert [f.id for f in listed.data] == [done.id]
    assert sdk.vector_stores.files.list(store.id, filter="failed").data == []
    refreshed = sdk.vector_stores.retrieve(store.id)
    assert refreshed.file_counts.completed == 1
    assert refreshed.usage_bytes == done.usage_bytes


def test_batch__upload_and_poll_counts_failures(sdk: openai.OpenAI) -> None:
    """A batch with a readable and an unsupported file: one completed, one failed with why."""
    store = sdk.vector_stores.create()
    batch = sdk.vector_stores.file_batches.upload_and_poll(
        store.id,
        files=[("notes.txt", b"notes about tides"), ("image.png", b"\x89PNG")],
        poll_interval_ms=POLL,
    )
    assert batch.status == "completed"
    assert (batch.file_counts.completed, batch.file_counts.failed) == (1, 1)
    failed = sdk.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, filter="failed"
    ).data
    assert len(failed) == 1
    assert failed[0].last_error is not None
    assert failed[0].last_error.code == "unsupported_file"


def test_crud_and_bad_requests(server: LiveServer, sdk: openai.OpenAI) -> None:
    """Update, delete, another key's 404, unknown files, bad chunking: OpenAI's errors."""
    store = sdk.vector_stores.create(name="a")
    assert sdk.vector_stores.update(store.id, name="b").name == "b"
    other = server.sdk("sk-b")
    try:
        with pytest.raises(openai.NotFoundError) as info:
            other.vector_stores.retrieve(store.id)
        check_error(info.value, 404, f"No vector store found with id '{store.id}'.")
    finally:
        other.close()
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.files.create(store.id, file_id="file-missing")
    created = sdk.files.create(file=("x.txt", b"x"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.vector_stores.files.create(
            store.id,
            file_id=created.id,
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 5000, "chunk_overlap_tokens": 0},
            },
        )
    assert bad.value.param == "chunking_strategy.static.max_chunk_size_tokens"
    deleted = sdk.vector_stores.delete(store.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.retrieve(store.id)


def test_search__rewrite_query_must_be_a_boolean(sdk: openai.OpenAI) -> None:
    """`rewrite_query` is accepted as a boolean (queries are searched as given) and anything
    else is a 400 naming it, as the other search options are checked."""
    store = sdk.vector_stores.create(name="rewrite")
    try:
        page = sdk.vector_stores.search(store.id, query="weather", rewrite_query=True)
        assert page.data == []
        with pytest.raises(openai.BadRequestError) as bad:
            sdk.vector_stores.search(store.id, query="weather", extra_body={"rewrite_query": "yes"})
        check_error(
            bad.value,
            400,
            "Invalid type for 'rewrite_query': expected a boolean, but got a string instead.",
            code="invalid_type",
            param="rewrite_query",
        )
    finally:
        sdk.vector_stores.delete(store.id)


def test_assistant_with_file_search__cited_answer(sdk: openai.OpenAI) -> None:
    """The SDK's whole path: PDF upload, `upload_and_poll`, a run with file_search, a cited
    answer whose annotation indexes cut exactly the markers; steps include result content."""
    store = sdk.vector_stores.create(name="timetable")
    pdf = make_pdf(["The last bus departs at midnight from the harbour."])
    done = sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("bus.pdf", pdf), poll_interval_ms=POLL
    )
    assert done.status == "completed"
    assistant = sdk.beta.assistants.create(
        model="test",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    assert assistant.tool_resources is not None
    assert assistant.tool_resources.file_search is not None
    assert assistant.tool_resources.file_search.vector_store_ids == [store.id]
    thread = sdk.beta.threads.create(
        messages=[{"role": "user", "content": "When does the last bus depart?"}]
    )
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=POLL
    )
    assert run.status == "completed", run.last_error
    message = sdk.beta.threads.messages.list(thread.id).data[0]
    block = message.content[0]
    assert block.type == "text"
    text = block.text
    assert "midnight" in text.value
    assert text.annotations
    for note in text.annotations:
        assert note.type == "file_citation"
        assert note.file_citation.file_id == done.id
        assert text.value[note.start_index : note.end_index] == note.text
    steps = sdk.beta.threads.runs.steps.list(
        run.id,
        thread_id=thread.id,
        order="asc",
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    ).data
    assert steps[0].step_details.type == "tool_calls"
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "file_search"
    assert call.file_search.results is not None
    assert call.file_search.results[0].file_name == "bus.pdf"
    assert call.file_search.results[0].content is not None


def test_stream__annotations_arrive_in_message_deltas(sdk: openai.OpenAI) -> None:
    """Streaming a file_search run: the handler's final message carries the annotations."""
    store = sdk.vector_stores.create()
    sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("n.txt", b"Otters hold hands while sleeping."),
        poll_interval_ms=POLL,
    )
    assistant = sdk.beta.assistants.create(
        model="test",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "otters sleeping"}])
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
        final = stream.get_final_messages()[-1]
        assert stream.get_final_run().status == "completed"
    block = final.content[0]
    assert block.type == "text"
    assert block.text.annotations
    note = block.text.annotations[0]
    assert block.text.value[note.start_index : note.end_index] == note.text
