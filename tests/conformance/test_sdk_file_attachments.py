"""The unmodified openai SDK attaching files for file_search where a run starts at once: in
`create_and_run`'s thread messages and in a run's `additional_messages`, on SQLite and
Postgres."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any, Final

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


CONTENT: Final = "step_details.tool_calls[*].file_search.results[*].content"


def search_step_results(step: Any) -> list[Any]:
    """The results of a file_search step's (only) call, as the SDK parsed them."""
    assert step.step_details.type == "tool_calls"
    (call,) = step.step_details.tool_calls
    assert call.type == "file_search"
    assert call.file_search.results
    return list(call.file_search.results)


def test_steps__file_search_result_content_only_when_included(sdk: openai.OpenAI) -> None:
    """Steps listed, retrieved and streamed by `runs.create` show file_search results'
    `content` only with `include`; without it the results (ids, names, scores) carry none."""
    store = sdk.vector_stores.create()
    sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("lamp.txt", b"The lamp is lit at dusk by the keeper."),
        poll_interval_ms=POLL,
    )
    assistant = sdk.beta.assistants.create(
        model="test",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    streamed = {}
    for include in (True, False):
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "lamp at dusk"}])
        events = sdk.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant.id,
            stream=True,
            include=[CONTENT] if include else [],  # an empty list sends no `include[]`
        )
        done = [
            e.data
            for e in events
            if e.event == "thread.run.step.completed" and e.data.type == "tool_calls"
        ]
        streamed[include] = search_step_results(done[0])
    assert streamed[True][0].content[0].text == "The lamp is lit at dusk by the keeper."
    assert streamed[False][0].content is None
    assert streamed[False][0].file_name == "lamp.txt"

    run = sdk.beta.threads.runs.list(thread.id).data[0]
    raw = sdk.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=thread.id)
    (listed,) = [s for s in raw.http_response.json()["data"] if s["type"] == "tool_calls"]
    result = listed["step_details"]["tool_calls"][0]["file_search"]["results"][0]
    assert set(result) == {"file_id", "file_name", "score"}
    with_content = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, include=[CONTENT])
    (step,) = [s for s in with_content.data if s.type == "tool_calls"]
    assert search_step_results(step)[0].content is not None
    alone = sdk.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id)
    assert search_step_results(alone)[0].content is None
    asked = sdk.beta.threads.runs.steps.retrieve(
        step.id, thread_id=thread.id, run_id=run.id, include=[CONTENT]
    )
    assert search_step_results(asked)[0].content[0].text.startswith("The lamp")
    with pytest.raises(openai.BadRequestError) as info:
        sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, include=["content"])  # type: ignore[list-item]
    assert info.value.body["param"] == "include[0]"  # type: ignore[index]
