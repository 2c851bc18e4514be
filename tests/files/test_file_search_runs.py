"""file_search inside runs, in-process on every backend, with the `test` model: the runtime
searches (no requires_action), records a file_search step, and the answer cites the files."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

import pytest

from assistants import AsyncClient
from tests.files.pdfs import make_pdf
from tests.helpers import api_error, count_rows, error_fields

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


async def test_unknown_vector_store__404_on_every_object(client: AsyncClient) -> None:
    """An unknown vector store id (or another project's) is a 404 at creation and update."""
    theirs = await client.for_project("other").vector_stores.create()
    resources = {"file_search": {"vector_store_ids": [theirs.id]}}
    expected = (404, f"No vector store found with id '{theirs.id}'.", None, None)
    calls = [
        lambda: client.assistants.create(model="test", tool_resources=resources),
        lambda: client.threads.create(tool_resources=resources),
        lambda: client.threads.create_and_run(
            assistant_id="asst_x", thread={"tool_resources": resources}
        ),
    ]
    for call in calls:
        assert error_fields(await api_error(call)) == expected
    assert await count_rows(client, "assistants") == 0
    assert await count_rows(client, "threads") == 0


async def test_vector_stores_helper__makes_a_store(client: AsyncClient) -> None:
    """`tool_resources.file_search.vector_stores` creates a store with the files, by id."""
    created = await client.files.create(file=("k.txt", b"kelp forests"), purpose="assistants")
    thread = await client.threads.create(
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [created.id]}]}}
    )
    (vs_id,) = thread.to_dict()["tool_resources"]["file_search"]["vector_store_ids"]
    done = await client.vector_stores.files.poll(created.id, vector_store_id=vs_id)
    assert done.status == "completed"


async def test_attachments__go_into_the_threads_store_and_are_cited(client: AsyncClient) -> None:
    """A message's file_search attachment lands in the thread's (new) vector store; a run then
    finds and cites it."""
    created = await client.files.create(
        file=("menu.txt", b"The soup of the day is pumpkin."), purpose="assistants"
    )
    thread = await client.threads.create()
    await client.threads.messages.create(
        thread.id,
        role="user",
        content="What is the soup of the day?",
        attachments=[{"file_id": created.id, "tools": [{"type": "file_search"}]}],
    )
    resources = (await client.threads.retrieve(thread.id)).to_dict()["tool_resources"]
    (vs_id,) = resources["file_search"]["vector_store_ids"]
    done = await client.vector_stores.files.poll(created.id, vector_store_id=vs_id)
    assert done.status == "completed"
    assistant = await client.assistants.create(model="test", tools=[{"type": "file_search"}])
    run = await client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    answer = (await client.threads.messages.list(thread.id)).data[0].to_dict()
    notes = answer["content"][0]["text"]["annotations"]
    assert notes
    assert notes[0]["file_citation"]["file_id"] == created.id
    missing = await api_error(
        lambda: client.threads.messages.create(
            thread.id,
            role="user",
            content="x",
            attachments=[{"file_id": "file-nope", "tools": [{"type": "file_search"}]}],
        )
    )
    assert missing.status_code == 404


async def test_attachment_without_a_file__for_file_search_attaches_nothing(
    client: AsyncClient,
) -> None:
    """An attachment may leave out `file_id` (the SDK's type does): no file goes into a store."""
    thread = await client.threads.create()
    message = await client.threads.messages.create(
        thread.id, role="user", content="x", attachments=[{"tools": [{"type": "file_search"}]}]
    )
    assert message.attachments is not None
    assert message.attachments[0].file_id is None
    assert (await client.threads.retrieve(thread.id)).tool_resources is None


async def test_code_interpreter__a_400_unless_the_operator_accepts_it(database_url: str) -> None:
    """code_interpreter cannot run here: a 400 naming it; accepted (and ignored) with the
    operator's option."""
    async with AsyncClient(database_url=database_url, worker=False) as strict:
        err = await api_error(
            lambda: strict.assistants.create(model="test", tools=[{"type": "code_interpreter"}])
        )
        assert (err.status_code, err.param, err.code) == (400, "tools[0]", "unsupported_tool")
        assert "'code_interpreter' is not supported" in err.message
        assert await count_rows(strict, "assistants") == 0
    async with AsyncClient(
        database_url=database_url, worker=False, accept_unsupported_tools=True
    ) as lenient:
        made = await lenient.assistants.create(model="test", tools=[{"type": "code_interpreter"}])
        assert made.to_dict()["tools"] == [{"type": "code_interpreter"}]


async def test_create_and_run__waits_for_the_files_its_messages_attach(
    client: AsyncClient,
) -> None:
    """`create_and_run` whose message attaches a file: the run, queued at once, waits for the
    thread store's ingestion and cites the file."""
    created = await client.files.create(
        file=("tides.txt", b"High tide today is at four in the afternoon."), purpose="assistants"
    )
    assistant = await client.assistants.create(model="test", tools=[{"type": "file_search"}])
    run = await client.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={
            "messages": [
                {
                    "role": "user",
                    "content": "When is high tide today?",
                    "attachments": [{"file_id": created.id, "tools": [{"type": "file_search"}]}],
                }
            ]
        },
    )
    assert run.status == "completed", run.last_error
    answer = (await client.threads.messages.list(run.thread_id)).data[0].to_dict()
    notes = answer["content"][0]["text"]["annotations"]
    assert [n["file_citation"]["file_id"] for n in notes] == [created.id]
