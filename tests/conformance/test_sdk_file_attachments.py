"""The unmodified openai SDK attaching files for file_search where a run starts at once: in
`create_and_run`'s thread messages and in a run's `additional_messages`, on SQLite and
Postgres."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from assistants import AsyncClient
from tests.conformance.conftest import LiveServer
from tests.conformance.support import check_error

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

POLL = 20


@pytest.fixture(scope="module")
def server(any_database_url: str) -> Iterator[LiveServer]:
    client = AsyncClient(database_url=any_database_url, poll_seconds=0.05, sweep_seconds=0.05)
    with LiveServer(client) as live:
        yield live


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[openai.OpenAI]:
    client = server.sdk()
    try:
        yield client
    finally:
        client.close()


def cited(sdk: openai.OpenAI, thread_id: str) -> list[str]:
    """The file ids the thread's latest answer cites."""
    block = sdk.beta.threads.messages.list(thread_id).data[0].content[0]
    assert block.type == "text"
    return [n.file_citation.file_id for n in block.text.annotations if n.type == "file_citation"]


def test_attachments__in_create_and_run_and_additional_messages_are_searched(
    sdk: openai.OpenAI,
) -> None:
    """Files attached for file_search when the run starts at once go into the thread's vector
    store before the run is queued; the run waits for their ingestion and cites them."""
    menu = sdk.files.create(
        file=("menu.txt", b"The soup of the day is pumpkin."), purpose="assistants"
    )
    assistant = sdk.beta.assistants.create(model="test", tools=[{"type": "file_search"}])
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={
            "messages": [
                {
                    "role": "user",
                    "content": "What is the soup of the day?",
                    "attachments": [{"file_id": menu.id, "tools": [{"type": "file_search"}]}],
                }
            ]
        },
        poll_interval_ms=POLL,
    )
    assert run.status == "completed", run.last_error
    thread = sdk.beta.threads.retrieve(run.thread_id)
    assert thread.tool_resources is not None
    assert thread.tool_resources.file_search is not None
    (vs_id,) = thread.tool_resources.file_search.vector_store_ids or []
    assert sdk.vector_stores.retrieve(vs_id).expires_after is not None
    assert cited(sdk, run.thread_id) == [menu.id]

    hours = sdk.files.create(
        file=("hours.txt", b"The kitchen closes at ten in the evening."), purpose="assistants"
    )
    second = sdk.beta.threads.runs.create_and_poll(
        thread_id=run.thread_id,
        assistant_id=assistant.id,
        additional_messages=[
            {
                "role": "user",
                "content": "When does the kitchen close?",
                "attachments": [{"file_id": hours.id, "tools": [{"type": "file_search"}]}],
            }
        ],
        poll_interval_ms=POLL,
    )
    assert second.status == "completed", second.last_error
    in_store = {f.id for f in sdk.vector_stores.files.list(vs_id).data}
    assert in_store == {menu.id, hours.id}
    assert hours.id in cited(sdk, run.thread_id)


def test_attachments__an_unknown_file_is_a_404_and_nothing_is_made(sdk: openai.OpenAI) -> None:
    """An attached file the key does not have: a 404 naming it, before any thread, store,
    message or run is made."""
    assistant = sdk.beta.assistants.create(model="test", tools=[{"type": "file_search"}])
    message: Any = {
        "role": "user",
        "content": "x",
        "attachments": [{"file_id": "file-nope", "tools": [{"type": "file_search"}]}],
    }
    stores_before = len(sdk.vector_stores.list(limit=100).data)
    with pytest.raises(openai.NotFoundError) as info:
        sdk.beta.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"messages": [message]},
        )
    check_error(info.value, 404, "No file found with id 'file-nope'.")
    thread = sdk.beta.threads.create()
    with pytest.raises(openai.NotFoundError) as info:
        sdk.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant.id,
            additional_messages=[message],
        )
    check_error(info.value, 404, "No file found with id 'file-nope'.")
    assert len(sdk.vector_stores.list(limit=100).data) == stores_before
    assert sdk.beta.threads.messages.list(thread.id).data == []
    assert sdk.beta.threads.runs.list(thread.id).data == []
    assert sdk.beta.threads.retrieve(thread.id).tool_resources is None
