"""Assistants, threads and messages: create, retrieve, update, list and delete through the client.

Every object a call returns is checked against the openai SDK's own model (`ok`, `page`).
Runs, steps and create_and_run are in `test_crud_runs.py`.
"""

from __future__ import annotations

from assistants import AsyncClient
from assistants.types import Assistant, Thread
from tests.conftest import WEATHER_TOOL
from tests.helpers import (
    api_error,
    complete_with_message,
    count_rows,
    error_fields,
    ids,
    ok,
    page,
)

TEXT_PART_OUT = {"type": "text", "text": {"value": "hello", "annotations": []}}


def text_out(value: str) -> dict[str, object]:
    return {"type": "text", "text": {"value": value, "annotations": []}}


async def test_client__beta_is_the_client(client: AsyncClient) -> None:
    """`client.beta` is the client itself, so openai-python's `client.beta.*` paths work."""
    assert client.beta is client
    assert client.beta.threads is client.threads
    assert client.beta.assistants is client.assistants


# --- assistants ------------------------------------------------------------------------------


async def test_create_assistant__echoes_every_field(client: AsyncClient) -> None:
    """Create returns an `assistant` with every field given, as given."""
    a = ok(
        await client.assistants.create(
            model="gpt-4o",
            name="Helper",
            description="Helps.",
            instructions="Be brief.",
            tools=[{"type": "code_interpreter"}, WEATHER_TOOL],
            tool_resources={"code_interpreter": {"file_ids": ["file_1"]}},
            metadata={"team": "core"},
            temperature=0.5,
            top_p=0.9,
            response_format={"type": "json_object"},
        )
    )
    d = a.to_dict()
    assert a.id.startswith("asst_")
    assert d["object"] == "assistant"
    assert isinstance(d["created_at"], int)
    assert (d["model"], d["name"], d["description"], d["instructions"]) == (
        "gpt-4o",
        "Helper",
        "Helps.",
        "Be brief.",
    )
    assert d["tools"][0] == {"type": "code_interpreter"}
    assert d["tools"][1]["function"]["name"] == "get_weather"
    assert d["tools"][1]["function"]["parameters"] == WEATHER_TOOL["function"]["parameters"]  # type: ignore[index]
    assert d["tool_resources"]["code_interpreter"]["file_ids"] == ["file_1"]
    assert d["metadata"] == {"team": "core"}
    assert (d["temperature"], d["top_p"]) == (0.5, 0.9)
    assert d["response_format"] == {"type": "json_object"}


async def test_create_assistant__defaults(client: AsyncClient) -> None:
    """With only `model`, tools are `[]`, metadata `{}` and the optional fields null."""
    d = ok(await client.assistants.create(model="gpt-4o")).to_dict()
    assert d["tools"] == []
    assert d["metadata"] == {}
    assert d["name"] is None
    assert d["description"] is None
    assert d["instructions"] is None


async def test_retrieve_assistant__returns_what_create_returned(
    client: AsyncClient, assistant: Assistant
) -> None:
    """Retrieve returns the stored assistant unchanged."""
    got = ok(await client.assistants.retrieve(assistant.id))
    assert got.to_dict() == assistant.to_dict()


async def test_update_assistant__changes_given_fields_and_replaces_lists(
    client: AsyncClient, assistant: Assistant
) -> None:
    """Update changes only the given fields; `tools` and `metadata` are replaced, not merged."""
    ok(await client.assistants.update(assistant.id, metadata={"a": "1"}))
    updated = ok(
        await client.assistants.update(
            assistant.id,
            name="Renamed",
            tools=[{"type": "file_search"}],
            metadata={"b": "2"},
            model="gpt-4o-mini",
        )
    )
    assert updated.name == "Renamed"
    assert updated.model == "gpt-4o-mini"
    assert [t.to_dict()["type"] for t in updated.tools] == ["file_search"]
    assert updated.metadata == {"b": "2"}
    assert updated.instructions == "Be brief."
    assert updated.created_at == assistant.created_at
    assert ok(await client.assistants.retrieve(assistant.id)).to_dict() == updated.to_dict()


async def test_update_assistant__null_clears_optional_fields(
    client: AsyncClient, assistant: Assistant
) -> None:
    """`None` for name/instructions stores null; `None` metadata stores `{}`."""
    ok(await client.assistants.update(assistant.id, metadata={"a": "1"}))
    updated = ok(
        await client.assistants.update(assistant.id, name=None, instructions=None, metadata=None)
    )
    assert (updated.name, updated.instructions, updated.metadata) == (None, None, {})


async def test_list_assistants__newest_first_then_ascending(client: AsyncClient) -> None:
    """List is newest first by default and oldest first with `order="asc"`."""
    created = [ok(await client.assistants.create(model="gpt-4o", name=f"a{i}")) for i in range(3)]
    desc = await page(client.assistants.list())
    asc = await page(client.assistants.list(order="asc"))
    assert ids(desc.data) == ids(created)[::-1]
    assert ids(asc.data) == ids(created)
    assert desc.has_more is False


async def test_delete_assistant__then_every_lookup_is_404(
    client: AsyncClient, assistant: Assistant
) -> None:
    """Delete returns `assistant.deleted`; the id then 404s on retrieve, update and delete."""
    deleted = ok(await client.assistants.delete(assistant.id))
    assert deleted.to_dict() == {"id": assistant.id, "object": "assistant.deleted", "deleted": True}
    expected = (404, f"No assistant found with id '{assistant.id}'.", None, None)
    assert error_fields(await api_error(lambda: client.assistants.retrieve(assistant.id))) == (
        expected
    )
    err = await api_error(lambda: client.assistants.update(assistant.id, name="x"))
    assert error_fields(err) == expected
    assert error_fields(await api_error(lambda: client.assistants.delete(assistant.id))) == (
        expected
    )
    assert (await page(client.assistants.list())).data == []


async def test_delete_assistant__runs_already_created_keep_their_settings(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Deleting an assistant leaves its runs readable, with the settings they were created with."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    ok(await client.assistants.delete(assistant.id))
    got = ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert got.assistant_id == assistant.id
    assert got.instructions == "Be brief."


# --- threads ---------------------------------------------------------------------------------


async def test_create_thread__with_messages_in_every_content_form(client: AsyncClient) -> None:
    """Initial messages accept a string or an array of text / image_url / image_file parts."""
    thread = ok(
        await client.threads.create(
            messages=[
                {"role": "user", "content": "hello"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "first"},
                        {"type": "text", "text": "second"},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/b.png", "detail": "low"},
                        },
                        {"type": "image_file", "image_file": {"file_id": "file_1"}},
                    ],
                },
                {"role": "assistant", "content": "earlier answer", "metadata": {"k": "v"}},
            ],
            metadata={"topic": "greeting"},
        )
    )
    assert thread.id.startswith("thread_")
    assert thread.metadata == {"topic": "greeting"}
    listed = await page(client.threads.messages.list(thread.id, order="asc"))
    contents = [[p.to_dict() for p in m.content] for m in listed.data]
    assert contents[0] == [TEXT_PART_OUT]
    assert contents[1] == [text_out("first"), text_out("second")]
    assert contents[2][0] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/a.png", "detail": "auto"},
    }
    assert contents[2][1]["image_url"] == {"url": "https://example.com/b.png", "detail": "low"}
    assert contents[2][2]["type"] == "image_file"
    assert contents[2][2]["image_file"]["file_id"] == "file_1"
    assert contents[3] == [text_out("earlier answer")]
    assert [m.role for m in listed.data] == ["user", "user", "user", "assistant"]
    assert listed.data[3].metadata == {"k": "v"}
    for m in listed.data:
        assert (m.thread_id, m.status, m.object) == (thread.id, "completed", "thread.message")
        assert (m.assistant_id, m.run_id) == (None, None)


async def test_create_thread__empty(client: AsyncClient) -> None:
    """A thread created with nothing has metadata `{}` and no messages."""
    thread = ok(await client.threads.create())
    assert thread.metadata == {}
    listed = await page(client.threads.messages.list(thread.id))
    assert (listed.data, listed.has_more, listed.first_id, listed.last_id) == (
        [],
        False,
        None,
        None,
    )


async def test_retrieve_thread__returns_what_create_returned(
    client: AsyncClient, thread: Thread
) -> None:
    """Retrieve returns the stored thread unchanged."""
    assert ok(await client.threads.retrieve(thread.id)).to_dict() == thread.to_dict()


async def test_update_thread__replaces_metadata_and_persists(client: AsyncClient) -> None:
    """Update replaces the thread's metadata; retrieve sees the new map."""
    thread = ok(await client.threads.create(metadata={"a": "1"}))
    updated = ok(await client.threads.update(thread.id, metadata={"b": "2"}))
    assert updated.metadata == {"b": "2"}
    assert ok(await client.threads.retrieve(thread.id)).metadata == {"b": "2"}


async def test_update_thread__tool_resources(client: AsyncClient, thread: Thread) -> None:
    """Update sets the thread's tool resources."""
    store = await client.vector_stores.create()
    updated = ok(
        await client.threads.update(
            thread.id, tool_resources={"file_search": {"vector_store_ids": [store.id]}}
        )
    )
    assert updated.to_dict()["tool_resources"]["file_search"] == {"vector_store_ids": [store.id]}


async def test_delete_thread__removes_its_messages_and_runs(
    client: AsyncClient, assistant: Assistant
) -> None:
    """Deleting a thread deletes its messages, runs, steps and run events; its ids then 404."""
    thread = ok(await client.threads.create(messages=[{"role": "user", "content": "hi"}]))
    (message,) = (await page(client.threads.messages.list(thread.id))).data
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    ok(await client.threads.runs.cancel(run.id, thread_id=thread.id))
    worked = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    await complete_with_message(client, "Done.")
    other = ok(await client.threads.create(messages=[{"role": "user", "content": "keep"}]))

    deleted = ok(await client.threads.delete(thread.id))

    assert deleted.to_dict() == {"id": thread.id, "object": "thread.deleted", "deleted": True}
    gone = (404, f"No thread found with id '{thread.id}'.", None, None)
    assert error_fields(await api_error(lambda: client.threads.retrieve(thread.id))) == gone
    err = await api_error(lambda: client.threads.messages.retrieve(message.id, thread_id=thread.id))
    assert error_fields(err) == gone
    err = await api_error(lambda: client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert error_fields(err) == gone
    assert error_fields(await api_error(lambda: client.threads.messages.list(thread.id))) == gone
    assert await count_rows(client, "messages", "thread_id = :t", t=thread.id) == 0
    assert await count_rows(client, "runs", "thread_id = :t", t=thread.id) == 0
    assert await count_rows(client, "run_steps", "thread_id = :t", t=thread.id) == 0
    for run_id in (run.id, worked.id):
        assert await count_rows(client, "run_events", "run_id = :r", r=run_id) == 0
    assert len((await page(client.threads.messages.list(other.id))).data) == 1


async def test_delete_thread__refused_while_a_run_is_active_then_allowed_after_cancel(
    client: AsyncClient, assistant: Assistant
) -> None:
    """A thread with a queued run cannot be deleted (400 "Can't delete thread..."); after cancel it can."""
    thread = ok(await client.threads.create(messages=[{"role": "user", "content": "hi"}]))
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))

    err = await api_error(lambda: client.threads.delete(thread.id))

    assert err.status_code == 400
    assert err.message.startswith("Can't delete thread")
    assert thread.id in err.message
    assert ok(await client.threads.retrieve(thread.id)).id == thread.id
    assert len((await page(client.threads.messages.list(thread.id))).data) == 1
    assert ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id)).status == "queued"

    ok(await client.threads.runs.cancel(run.id, thread_id=thread.id))
    assert ok(await client.threads.delete(thread.id)).deleted is True
    assert (await api_error(lambda: client.threads.retrieve(thread.id))).status_code == 404


async def test_delete_thread__twice_is_404(client: AsyncClient, thread: Thread) -> None:
    """A deleted thread's id 404s on delete, update and message creation."""
    ok(await client.threads.delete(thread.id))
    gone = (404, f"No thread found with id '{thread.id}'.", None, None)
    assert error_fields(await api_error(lambda: client.threads.delete(thread.id))) == gone
    err = await api_error(lambda: client.threads.update(thread.id, metadata={"a": "b"}))
    assert error_fields(err) == gone
    err = await api_error(
        lambda: client.threads.messages.create(thread.id, role="user", content="hi")
    )
    assert error_fields(err) == gone


# --- messages --------------------------------------------------------------------------------


async def test_create_message__string_content(client: AsyncClient, thread: Thread) -> None:
    """A string becomes one text part with no annotations; the message is completed."""
    m = ok(await client.threads.messages.create(thread.id, role="user", content="hello"))
    d = m.to_dict()
    assert m.id.startswith("msg_")
    assert d["object"] == "thread.message"
    assert d["content"] == [TEXT_PART_OUT]
    assert (d["role"], d["status"], d["thread_id"]) == ("user", "completed", thread.id)
    assert (d["assistant_id"], d["run_id"], d["incomplete_details"]) == (None, None, None)
    assert d["metadata"] == {}
    assert isinstance(d["created_at"], int)


async def test_create_message__parts_attachments_and_metadata(
    client: AsyncClient, thread: Thread
) -> None:
    """Content parts become output parts; attachments and metadata are echoed."""
    attached = await client.files.create(file=("a.txt", b"a"), purpose="assistants")
    m = ok(
        await client.threads.messages.create(
            thread.id,
            role="assistant",
            content=[
                {"type": "text", "text": "look"},
                {"type": "image_file", "image_file": {"file_id": "file_9", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/c.png"}},
            ],
            attachments=[{"file_id": attached.id, "tools": [{"type": "file_search"}]}],
            metadata={"source": "test"},
        )
    )
    d = m.to_dict()
    assert d["role"] == "assistant"
    assert d["content"][0] == text_out("look")
    assert d["content"][1] == {
        "type": "image_file",
        "image_file": {"file_id": "file_9", "detail": "high"},
    }
    assert d["content"][2]["image_url"] == {"url": "https://example.com/c.png", "detail": "auto"}
    assert d["attachments"] == [{"file_id": attached.id, "tools": [{"type": "file_search"}]}]
    assert d["metadata"] == {"source": "test"}


async def test_retrieve_message__returns_what_create_returned(
    client: AsyncClient, thread: Thread
) -> None:
    """Retrieve returns the stored message unchanged."""
    m = ok(await client.threads.messages.create(thread.id, role="user", content="hello"))
    got = ok(await client.threads.messages.retrieve(m.id, thread_id=thread.id))
    assert got.to_dict() == m.to_dict()


async def test_retrieve_message__of_another_thread_is_404(
    client: AsyncClient, thread: Thread
) -> None:
    """A message is found only under its own thread."""
    m = ok(await client.threads.messages.create(thread.id, role="user", content="hello"))
    other = ok(await client.threads.create())
    err = await api_error(lambda: client.threads.messages.retrieve(m.id, thread_id=other.id))
    assert error_fields(err) == (404, f"No message found with id '{m.id}'.", None, None)


async def test_update_message__replaces_metadata_and_persists(
    client: AsyncClient, thread: Thread
) -> None:
    """Update replaces the message's metadata and leaves its content alone."""
    m = ok(
        await client.threads.messages.create(
            thread.id, role="user", content="hello", metadata={"a": "1"}
        )
    )
    updated = ok(
        await client.threads.messages.update(m.id, thread_id=thread.id, metadata={"b": "2"})
    )
    assert updated.metadata == {"b": "2"}
    got = ok(await client.threads.messages.retrieve(m.id, thread_id=thread.id))
    assert got.metadata == {"b": "2"}
    assert got.to_dict()["content"] == [TEXT_PART_OUT]


async def test_list_messages__newest_first_then_ascending(
    client: AsyncClient, thread: Thread
) -> None:
    """Messages list newest first by default and oldest first with `order="asc"`."""
    created = [
        ok(await client.threads.messages.create(thread.id, role="user", content=f"m{i}"))
        for i in range(4)
    ]
    desc = await page(client.threads.messages.list(thread.id))
    asc = await page(client.threads.messages.list(thread.id, order="asc"))
    assert ids(desc.data) == ids(created)[::-1]
    assert ids(asc.data) == ids(created)
    assert (desc.first_id, desc.last_id) == (created[-1].id, created[0].id)


async def test_list_messages__run_id_filter(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """`run_id` lists only the messages that run produced; API messages have `run_id` null."""
    user = ok(await client.threads.messages.create(thread.id, role="user", content="hi"))
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    run_id, _, message_id = await complete_with_message(client, "Sunny.")
    assert run_id == run.id

    by_run = await page(client.threads.messages.list(thread.id, run_id=run.id))
    everything = await page(client.threads.messages.list(thread.id, order="asc"))

    assert ids(by_run.data) == [message_id]
    produced = by_run.data[0]
    assert (produced.run_id, produced.assistant_id, produced.role) == (
        run.id,
        assistant.id,
        "assistant",
    )
    assert produced.to_dict()["content"] == [text_out("Sunny.")]
    assert ids(everything.data) == [user.id, message_id]
    assert everything.data[0].run_id is None
    unrelated = await page(client.threads.messages.list(thread.id, run_id="run_unrelated"))
    assert unrelated.data == []


async def test_delete_message__then_404(client: AsyncClient, thread: Thread) -> None:
    """Delete returns `thread.message.deleted`; the message then 404s and leaves the list."""
    keep = ok(await client.threads.messages.create(thread.id, role="user", content="keep"))
    m = ok(await client.threads.messages.create(thread.id, role="user", content="drop"))
    deleted = ok(await client.threads.messages.delete(m.id, thread_id=thread.id))
    assert deleted.to_dict() == {"id": m.id, "object": "thread.message.deleted", "deleted": True}
    gone = (404, f"No message found with id '{m.id}'.", None, None)
    err = await api_error(lambda: client.threads.messages.retrieve(m.id, thread_id=thread.id))
    assert error_fields(err) == gone
    err = await api_error(lambda: client.threads.messages.delete(m.id, thread_id=thread.id))
    assert error_fields(err) == gone
    err = await api_error(
        lambda: client.threads.messages.update(m.id, thread_id=thread.id, metadata={})
    )
    assert error_fields(err) == gone
    assert ids((await page(client.threads.messages.list(thread.id))).data) == [keep.id]


async def test_create_message__refused_while_a_run_is_active(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Adding a message under a queued run is the real API's 400, and adds nothing."""
    ok(await client.threads.messages.create(thread.id, role="user", content="hi"))
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))

    err = await api_error(
        lambda: client.threads.messages.create(thread.id, role="user", content="more")
    )

    assert error_fields(err) == (
        400,
        f"Can't add messages to {thread.id} while a run {run.id} is active.",
        None,
        None,
    )
    assert len((await page(client.threads.messages.list(thread.id))).data) == 1


async def test_create_message__to_a_deleted_thread_is_404(
    client: AsyncClient, thread: Thread
) -> None:
    """A message to a deleted thread is a 404 naming the thread."""
    ok(await client.threads.delete(thread.id))
    err = await api_error(
        lambda: client.threads.messages.create(thread.id, role="user", content="hi")
    )
    assert error_fields(err) == (404, f"No thread found with id '{thread.id}'.", None, None)


async def test_run_expiry__ten_minutes_on_the_database_clock(client: AsyncClient) -> None:
    """`expires_at` is an integer 600 s after creation, stamped in SQL from the database clock
    (the one claims and the sweeper compare it with), not from this process's clock."""
    assistant = await client.assistants.create(model="test")
    run = await client.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert isinstance(run.expires_at, int)
    assert run.expires_at == run.created_at + 600
    fetched = await client.threads.runs.retrieve(run.id, thread_id=run.thread_id)
    assert fetched.expires_at == run.expires_at
