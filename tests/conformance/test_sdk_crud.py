"""Every object's create, retrieve, update (POST), list and delete through the unmodified SDK.

The SDK validates every response strictly, so each call here also checks the object's shape.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.conftest import LiveServer
from tests.conformance.support import (
    INCLUDE_CONTENT,
    TIME,
    WEATHER,
    echo_outputs,
    serve,
    text_of,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

META16 = {f"k{i:02d}" + "x" * 61: "v" * 512 for i in range(16)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(
        tmp_path_factory.mktemp("crud"), client_options={"accept_unsupported_tools": True}
    ) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[openai.OpenAI]:
    sdk = server.sdk()
    try:
        yield sdk
    finally:
        sdk.close()


# --- assistants -------------------------------------------------------------------------------


def test_assistant__create_retrieve_update_list_delete(client: openai.OpenAI) -> None:
    """An assistant with every field round-trips, updates by POST, lists, and deletes."""
    assistants = client.beta.assistants
    created = assistants.create(
        model="test",
        name="Weather bot",
        description="Knows the weather.",
        instructions="Be brief.",
        tools=[WEATHER, {"type": "code_interpreter"}],
        metadata={"team": "blue", "tier": "gold"},
        temperature=0.5,
        top_p=0.9,
        response_format={"type": "json_object"},
    )
    assert created.id.startswith("asst_")
    assert created.object == "assistant"
    assert (created.name, created.description, created.instructions) == (
        "Weather bot",
        "Knows the weather.",
        "Be brief.",
    )
    assert [t.type for t in created.tools] == ["function", "code_interpreter"]
    assert created.metadata == {"team": "blue", "tier": "gold"}
    assert (created.temperature, created.top_p) == (0.5, 0.9)
    assert created.response_format is not None
    assert created.response_format != "auto"
    assert created.response_format.type == "json_object"

    fetched = assistants.retrieve(created.id)
    assert fetched.model_dump() == created.model_dump()

    raw = assistants.with_raw_response.update(
        created.id, name="Renamed", metadata={"team": "red"}, tools=[TIME]
    )
    assert raw.http_request.method == "POST"
    updated = raw.parse()
    assert updated.id == created.id
    assert updated.name == "Renamed"
    assert updated.metadata == {"team": "red"}
    assert [t.function.name for t in updated.tools if t.type == "function"] == ["get_time"]
    assert updated.instructions == "Be brief."  # untouched fields stay
    assert assistants.retrieve(created.id).name == "Renamed"

    assert created.id in [a.id for a in assistants.list(limit=100)]
    deleted = assistants.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "assistant.deleted", True)
    with pytest.raises(openai.NotFoundError):
        assistants.retrieve(created.id)
    assert created.id not in [a.id for a in assistants.list(limit=100)]


def test_assistant__explicit_nulls_mean_defaults(client: openai.OpenAI) -> None:
    """Sending `null` for every nullable field gives what omitting them gives."""
    plain = client.beta.assistants.create(model="test")
    nulls = client.beta.assistants.create(
        model="test",
        name=None,
        description=None,
        instructions=None,
        metadata=None,
        temperature=None,
        top_p=None,
        response_format=None,
        tool_resources=None,
    )
    skip = {"id", "created_at"}
    assert {k: v for k, v in nulls.model_dump().items() if k not in skip} == {
        k: v for k, v in plain.model_dump().items() if k not in skip
    }
    assert nulls.tools == []
    assert nulls.metadata == {}


def test_assistant__metadata_limits_round_trip(client: openai.OpenAI) -> None:
    """16 pairs with 64-character keys and 512-character values are kept exactly."""
    assistant = client.beta.assistants.create(model="test", metadata=META16)
    assert assistant.metadata == META16
    assert client.beta.assistants.retrieve(assistant.id).metadata == META16
    unicode = {"naïve": "日本語 ✓", "empty": ""}
    updated = client.beta.assistants.update(assistant.id, metadata=unicode)
    assert updated.metadata == unicode
    assert client.beta.assistants.retrieve(assistant.id).metadata == unicode


# --- threads ----------------------------------------------------------------------------------


def test_thread__create_retrieve_update_delete(client: openai.OpenAI) -> None:
    """A thread with messages and metadata round-trips; updates by POST; deletes with its messages."""
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "first", "metadata": {"n": "1"}},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}]},
        ],
        metadata={"topic": "tests"},
    )
    assert thread.id.startswith("thread_")
    assert thread.object == "thread"
    assert thread.metadata == {"topic": "tests"}
    assert client.beta.threads.retrieve(thread.id).model_dump() == thread.model_dump()

    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    assert [text_of(m) for m in messages] == ["first", "second"]
    assert messages[0].metadata == {"n": "1"}

    raw = client.beta.threads.with_raw_response.update(thread.id, metadata={"topic": "changed"})
    assert raw.http_request.method == "POST"
    assert raw.parse().metadata == {"topic": "changed"}
    assert client.beta.threads.retrieve(thread.id).metadata == {"topic": "changed"}

    deleted = client.beta.threads.delete(thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (thread.id, "thread.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread.id)


def test_thread__empty_and_null_bodies(client: openai.OpenAI) -> None:
    """A thread from an empty body, and one from explicit nulls, are the same empty thread."""
    empty = client.beta.threads.create()
    nulls = client.beta.threads.create(
        metadata=None, tool_resources=None, extra_body={"messages": None}
    )
    for thread in (empty, nulls):
        assert thread.metadata == {}
        assert client.beta.threads.messages.list(thread.id).data == []


# --- messages ---------------------------------------------------------------------------------


def test_message__string_and_parts_content(client: openai.OpenAI) -> None:
    """String content and input parts both come back as output text parts."""
    thread = client.beta.threads.create()
    as_string = client.beta.threads.messages.create(thread.id, role="user", content="plain text")
    as_parts = client.beta.threads.messages.create(
        thread.id,
        role="user",
        content=[
            {"type": "text", "text": "part one"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "text", "text": "part two"},
        ],
    )
    assert as_string.object == "thread.message"
    assert as_string.id.startswith("msg_")
    assert as_string.thread_id == thread.id
    assert (as_string.role, as_string.status) == ("user", "completed")
    assert (as_string.assistant_id, as_string.run_id) == (None, None)
    assert as_string.content[0].type == "text"
    assert as_string.content[0].text.value == "plain text"
    assert as_string.content[0].text.annotations == []
    assert [p.type for p in as_parts.content] == ["text", "image_url", "text"]
    image = as_parts.content[1]
    assert image.type == "image_url"
    assert image.image_url.url == "https://example.com/cat.png"
    last = as_parts.content[2]
    assert last.type == "text"
    assert last.text.value == "part two"


def test_message__retrieve_update_delete(client: openai.OpenAI) -> None:
    """A message is retrieved, its metadata replaced by POST, and deleted."""
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread.id, role="user", content="hello", metadata={"a": "1", "b": "2"}
    )
    fetched = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert fetched.model_dump() == message.model_dump()

    raw = client.beta.threads.messages.with_raw_response.update(
        message.id, thread_id=thread.id, metadata={"c": "3"}
    )
    assert raw.http_request.method == "POST"
    assert raw.parse().metadata == {"c": "3"}
    again = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert again.metadata == {"c": "3"}
    assert text_of(again) == "hello"

    deleted = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (
        message.id,
        "thread.message.deleted",
        True,
    )
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert client.beta.threads.messages.list(thread.id).data == []


# --- runs and steps ---------------------------------------------------------------------------


def test_run__defaults_are_echoed(client: openai.OpenAI) -> None:
    """A run created with explicit nulls echoes the documented defaults."""
    assistant = client.beta.assistants.create(model="test", instructions="Be kind.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create(
        thread.id,
        assistant_id=assistant.id,
        instructions=None,
        additional_instructions=None,
        additional_messages=None,
        metadata=None,
        model=None,
        temperature=None,
        top_p=None,
        max_prompt_tokens=None,
        max_completion_tokens=None,
        tool_choice=None,
        tools=None,
        truncation_strategy=None,
        response_format=None,
    )
    assert run.object == "thread.run"
    assert run.id.startswith("run_")
    assert (run.thread_id, run.assistant_id) == (thread.id, assistant.id)
    assert run.status in {"queued", "in_progress", "completed"}
    assert run.instructions == "Be kind."
    assert run.model == "test"
    assert run.tools == []
    assert run.metadata == {}
    assert run.parallel_tool_calls is True
    assert run.tool_choice == "auto"
    assert run.response_format == "auto"
    assert run.truncation_strategy is not None
    assert run.truncation_strategy.type == "auto"
    assert run.truncation_strategy.last_messages is None
    assert (run.max_prompt_tokens, run.max_completion_tokens) == (None, None)
    if run.status != "completed":
        assert run.expires_at is not None
        assert run.expires_at == run.created_at + 600

    done = client.beta.threads.runs.poll(run.id, thread.id)
    assert done.status == "completed"
    assert done.expires_at is None
    assert done.completed_at is not None
    assert done.started_at is not None
    assert done.usage is not None
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens


def test_run__overrides_retrieve_update_list(client: openai.OpenAI) -> None:
    """Run overrides are echoed; the run is retrieved, updated by POST and listed."""
    assistant = client.beta.assistants.create(model="test", instructions="Base.")
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Override.",
        additional_instructions="And more.",
        additional_messages=[{"role": "user", "content": "extra words"}],
        metadata={"job": "1"},
        temperature=0.2,
        top_p=0.5,
        max_prompt_tokens=1000,
        max_completion_tokens=500,
        truncation_strategy={"type": "last_messages", "last_messages": 5},
        parallel_tool_calls=False,
    )
    assert run.status == "completed"
    assert run.instructions.startswith("Override.")
    assert "And more." in run.instructions
    assert "Base." not in run.instructions
    assert run.metadata == {"job": "1"}
    assert (run.temperature, run.top_p) == (0.2, 0.5)
    assert (run.max_prompt_tokens, run.max_completion_tokens) == (1000, 500)
    assert run.truncation_strategy is not None
    assert run.truncation_strategy.type == "last_messages"
    assert run.truncation_strategy.last_messages == 5
    assert run.parallel_tool_calls is False

    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [text_of(m) for m in messages] == ["extra words", "You said: extra words"]

    fetched = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert fetched.model_dump() == run.model_dump()
    raw = client.beta.threads.runs.with_raw_response.update(
        run.id, thread_id=thread.id, metadata={"job": "2"}
    )
    assert raw.http_request.method == "POST"
    assert raw.parse().metadata == {"job": "2"}
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).metadata == {"job": "2"}
    assert [r.id for r in client.beta.threads.runs.list(thread.id)] == [run.id]


def test_steps__list_and_retrieve_with_include(client: openai.OpenAI) -> None:
    """A tool run's steps list and retrieve, with `include[]` sent in brackets and accepted."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "get_weather"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=echo_outputs(run)
    )
    assert run.status == "completed"

    raw = client.beta.threads.runs.steps.with_raw_response.list(
        run.id, thread_id=thread.id, include=[INCLUDE_CONTENT], order="asc"
    )
    assert "include%5B%5D=" in str(raw.http_request.url)
    steps = raw.parse().data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    for step in steps:
        assert step.object == "thread.run.step"
        assert step.id.startswith("step_")
        assert (step.run_id, step.thread_id, step.assistant_id) == (run.id, thread.id, assistant.id)
        assert step.status == "completed"
        assert step.completed_at is not None
        assert step.usage is not None
    tool_step, message_step = steps
    assert tool_step.step_details.type == "tool_calls"
    call = tool_step.step_details.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert call.function.output == "get_weather-ok"
    assert message_step.step_details.type == "message_creation"
    message_id = message_step.step_details.message_creation.message_id
    message = client.beta.threads.messages.retrieve(message_id, thread_id=thread.id)
    assert (message.run_id, message.assistant_id) == (run.id, assistant.id)
    assert text_of(message) == "Tool results: get_weather-ok"

    for include in ([INCLUDE_CONTENT], []):
        kwargs: dict[str, Any] = {"include": include} if include else {}
        fetched = client.beta.threads.runs.steps.retrieve(
            tool_step.id, thread_id=thread.id, run_id=run.id, **kwargs
        )
        assert fetched.model_dump() == tool_step.model_dump()


def test_messages__filtered_by_run_id(client: openai.OpenAI) -> None:
    """`run_id` on the message list keeps only the messages that run produced."""
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "one"}])
    first = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    client.beta.threads.messages.create(thread.id, role="user", content="two")
    second = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert (first.status, second.status) == ("completed", "completed")
    mine = client.beta.threads.messages.list(thread.id, run_id=second.id).data
    assert [text_of(m) for m in mine] == ["You said: two"]
    assert all(m.run_id == second.id for m in mine)
    assert len(client.beta.threads.messages.list(thread.id).data) == 4


def test_delete__assistant_in_use_then_run_is_refused(client: openai.OpenAI) -> None:
    """A deleted assistant can no longer start runs (404 in OpenAI's wording)."""
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create()
    client.beta.assistants.delete(assistant.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert info.value.body == {
        "message": f"No assistant found with id '{assistant.id}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


async def test_async_client__crud_round_trip(server: LiveServer) -> None:
    """The async SDK creates, reads, updates and deletes the same objects."""
    async with server.async_sdk() as client:
        assistant = await client.beta.assistants.create(model="test", metadata={"a": "b"})
        thread = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        message = (await client.beta.threads.messages.list(thread.id)).data[0]
        updated = await client.beta.threads.messages.update(
            message.id, thread_id=thread.id, metadata={"x": "y"}
        )
        assert updated.metadata == {"x": "y"}
        run = await client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.status == "completed"
        steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
        assert [s.type for s in steps.data] == ["message_creation"]
        assert (await client.beta.threads.delete(thread.id)).deleted is True
        assert (await client.beta.assistants.delete(assistant.id)).deleted is True
        with pytest.raises(openai.NotFoundError):
            await client.beta.assistants.retrieve(assistant.id)
