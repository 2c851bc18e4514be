"""Runs, run steps and create_and_run through the client (no worker: runs stay `queued`).

Every object a call returns is checked against the openai SDK's own model (`ok`, `page`).
"""

from __future__ import annotations

from assistants import AsyncClient
from assistants.types import Assistant, Thread
from tests.conftest import WEATHER_TOOL
from tests.helpers import (
    api_error,
    complete_with_message,
    error_fields,
    ids,
    ok,
    page,
)

# --- create: defaults and overrides ----------------------------------------------------------


async def test_create_run__is_queued_and_echoes_the_defaults(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """A new run is `queued` and echoes the API's defaults (CONTRACT §3.5, §9.11)."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    d = run.to_dict()
    assert run.id.startswith("run_")
    assert (d["object"], d["status"]) == ("thread.run", "queued")
    assert (d["thread_id"], d["assistant_id"], d["model"]) == (thread.id, assistant.id, "gpt-4o")
    assert d["instructions"] == "Be brief."
    assert d["tools"] == [t.to_dict() for t in assistant.tools]
    assert d["tool_choice"] == "auto"
    assert d["parallel_tool_calls"] is True
    assert d["truncation_strategy"] == {"type": "auto", "last_messages": None}
    assert d["response_format"] == "auto"
    assert isinstance(d["created_at"], int)
    assert d["expires_at"] == d["created_at"] + 600
    assert (d["temperature"], d["top_p"]) == (1.0, 1.0)
    assert d["metadata"] == {}
    for field in (
        "required_action",
        "last_error",
        "started_at",
        "cancelled_at",
        "failed_at",
        "completed_at",
        "incomplete_details",
        "usage",
        "max_prompt_tokens",
        "max_completion_tokens",
    ):
        assert d[field] is None, field


async def test_create_run__instructions_are_a_string_when_the_assistant_has_none(
    client: AsyncClient, thread: Thread
) -> None:
    """A run of an assistant without instructions has `instructions == ""`, never null."""
    bare = ok(await client.assistants.create(model="gpt-4o"))
    run = ok(await client.threads.runs.create(thread.id, assistant_id=bare.id))
    assert run.to_dict()["instructions"] == ""
    assert run.to_dict()["tools"] == []


async def test_create_run__inherits_the_assistants_sampling_and_format(
    client: AsyncClient, thread: Thread
) -> None:
    """Unset run fields take the assistant's temperature, top_p and response_format."""
    a = ok(
        await client.assistants.create(
            model="gpt-4o-mini",
            temperature=0.5,
            top_p=0.9,
            response_format={"type": "json_object"},
        )
    )
    run = ok(await client.threads.runs.create(thread.id, assistant_id=a.id))
    d = run.to_dict()
    assert (d["model"], d["temperature"], d["top_p"]) == ("gpt-4o-mini", 0.5, 0.9)
    assert d["response_format"] == {"type": "json_object"}


async def test_create_run__instructions_override_the_assistants(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """`instructions` replaces the assistant's instructions."""
    run = ok(
        await client.threads.runs.create(
            thread.id, assistant_id=assistant.id, instructions="Answer in French."
        )
    )
    assert run.instructions == "Answer in French."


async def test_create_run__additional_instructions_are_appended(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """`additional_instructions` is appended after the effective instructions."""
    run = ok(
        await client.threads.runs.create(
            thread.id, assistant_id=assistant.id, additional_instructions="Use metric units."
        )
    )
    assert run.instructions.startswith("Be brief.")
    assert run.instructions.endswith("Use metric units.")


async def test_create_run__additional_instructions_follow_an_override(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """With both, the override comes first, the addition last, and the assistant's is gone."""
    run = ok(
        await client.threads.runs.create(
            thread.id,
            assistant_id=assistant.id,
            instructions="Answer in French.",
            additional_instructions="Use metric units.",
        )
    )
    assert run.instructions.startswith("Answer in French.")
    assert run.instructions.endswith("Use metric units.")
    assert "Be brief." not in run.instructions


async def test_create_run__echoes_every_override(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Overrides given at creation are echoed on the run exactly."""
    run = ok(
        await client.threads.runs.create(
            thread.id,
            assistant_id=assistant.id,
            model="gpt-4o-mini",
            tools=[WEATHER_TOOL, {"type": "code_interpreter"}],
            metadata={"job": "42"},
            temperature=0.2,
            top_p=0.5,
            max_prompt_tokens=1000,
            max_completion_tokens=256,
            truncation_strategy={"type": "last_messages", "last_messages": 3},
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            parallel_tool_calls=False,
            response_format={"type": "text"},
        )
    )
    d = run.to_dict()
    assert d["model"] == "gpt-4o-mini"
    assert [t["type"] for t in d["tools"]] == ["function", "code_interpreter"]
    assert d["metadata"] == {"job": "42"}
    assert (d["temperature"], d["top_p"]) == (0.2, 0.5)
    assert (d["max_prompt_tokens"], d["max_completion_tokens"]) == (1000, 256)
    assert d["truncation_strategy"] == {"type": "last_messages", "last_messages": 3}
    assert d["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert d["parallel_tool_calls"] is False
    assert d["response_format"] == {"type": "text"}
    got = ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert got.to_dict() == d


async def test_create_run__additional_messages_are_added_to_the_thread_first(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """`additional_messages` land on the thread, after its messages, before the run starts."""
    first = ok(await client.threads.messages.create(thread.id, role="user", content="first"))
    run = ok(
        await client.threads.runs.create(
            thread.id,
            assistant_id=assistant.id,
            additional_messages=[
                {"role": "user", "content": "second"},
                {"role": "assistant", "content": [{"type": "text", "text": "third"}]},
            ],
        )
    )
    listed = await page(client.threads.messages.list(thread.id, order="asc"))
    assert listed.data[0].id == first.id
    texts = [m.to_dict()["content"][0]["text"]["value"] for m in listed.data]
    assert texts == ["first", "second", "third"]
    assert [m.role for m in listed.data] == ["user", "user", "assistant"]
    assert all(m.created_at <= run.created_at for m in listed.data)


async def test_create_run__refused_while_another_is_active(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """A second run on a thread with a queued run is the real API's 400, and writes nothing."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))

    err = await api_error(
        lambda: client.threads.runs.create(
            thread.id,
            assistant_id=assistant.id,
            additional_messages=[{"role": "user", "content": "sneaked in"}],
        )
    )

    assert error_fields(err) == (
        400,
        f"Thread {thread.id} already has an active run {run.id}.",
        None,
        None,
    )
    assert ids((await page(client.threads.runs.list(thread.id))).data) == [run.id]
    assert (await page(client.threads.messages.list(thread.id))).data == []


# --- retrieve, update, list ------------------------------------------------------------------


async def test_retrieve_run__returns_what_create_returned(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Retrieve returns the stored run unchanged."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    got = ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert got.to_dict() == run.to_dict()


async def test_retrieve_run__under_another_thread_is_404(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """A run is found only under its own thread."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    other = ok(await client.threads.create())
    err = await api_error(lambda: client.threads.runs.retrieve(run.id, thread_id=other.id))
    assert error_fields(err) == (404, f"No run found with id '{run.id}'.", None, None)


async def test_update_run__metadata_while_active_persists(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """A queued run's metadata can be replaced; the run stays queued and retrieve sees it."""
    run = ok(
        await client.threads.runs.create(thread.id, assistant_id=assistant.id, metadata={"a": "1"})
    )
    updated = ok(await client.threads.runs.update(run.id, thread_id=thread.id, metadata={"b": "2"}))
    assert updated.metadata == {"b": "2"}
    assert updated.status == "queued"
    got = ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert (got.metadata, got.status) == ({"b": "2"}, "queued")


async def test_list_runs__newest_first_then_ascending(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Runs list newest first by default and oldest first with `order="asc"`."""
    created = []
    for _ in range(3):
        run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
        ok(await client.threads.runs.cancel(run.id, thread_id=thread.id))
        created.append(run.id)
    desc = await page(client.threads.runs.list(thread.id))
    asc = await page(client.threads.runs.list(thread.id, order="asc"))
    assert ids(desc.data) == created[::-1]
    assert ids(asc.data) == created
    assert {r.status for r in desc.data} == {"cancelled"}


# --- cancel, submit_tool_outputs -------------------------------------------------------------


async def test_cancel_run__a_queued_run_ends_cancelled_and_frees_the_thread(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Cancelling a queued run no worker holds ends it `cancelled` at once; the thread is free."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))

    cancelled = ok(await client.threads.runs.cancel(run.id, thread_id=thread.id))

    assert cancelled.status == "cancelled"
    assert isinstance(cancelled.cancelled_at, int)
    assert cancelled.cancelled_at >= run.created_at
    assert cancelled.expires_at is None
    got = ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert (got.status, got.cancelled_at) == ("cancelled", cancelled.cancelled_at)
    ok(await client.threads.messages.create(thread.id, role="user", content="again"))
    again = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    assert again.status == "queued"


async def test_cancel_run__twice_is_400(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Cancelling a cancelled run is the real API's 400 and changes nothing."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    cancelled = ok(await client.threads.runs.cancel(run.id, thread_id=thread.id))
    err = await api_error(lambda: client.threads.runs.cancel(run.id, thread_id=thread.id))
    assert error_fields(err) == (400, "Cannot cancel run with status 'cancelled'.", None, None)
    got = ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert got.to_dict() == cancelled.to_dict()


async def test_cancel_run__a_completed_run_is_400(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Cancelling a completed run is a 400 naming its status."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    await complete_with_message(client, "Done.")
    err = await api_error(lambda: client.threads.runs.cancel(run.id, thread_id=thread.id))
    assert error_fields(err) == (400, "Cannot cancel run with status 'completed'.", None, None)


async def test_submit_tool_outputs__on_a_queued_run_is_400(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """Tool outputs for a run that is not `requires_action` are refused; the run stays queued."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    err = await api_error(
        lambda: client.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_1", "output": "x"}]
        )
    )
    assert error_fields(err) == (
        400,
        'Runs in status "queued" do not accept tool outputs.',
        None,
        None,
    )
    assert ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id)).status == "queued"


# --- steps -----------------------------------------------------------------------------------


async def test_list_steps__a_queued_run_has_none(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """A run no worker has touched lists no steps (null first/last ids, has_more false)."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    steps = await page(client.threads.runs.steps.list(run.id, thread_id=thread.id))
    assert (steps.data, steps.first_id, steps.last_id, steps.has_more) == ([], None, None, False)


async def test_retrieve_step__unknown_id_is_404(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """An unknown step id of an existing run is a 404."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    err = await api_error(
        lambda: client.threads.runs.steps.retrieve("step_abc", thread_id=thread.id, run_id=run.id)
    )
    assert err.status_code == 404
    assert "step_abc" in err.message


async def test_steps__of_a_completed_run_list_and_retrieve(
    client: AsyncClient, assistant: Assistant, thread: Thread
) -> None:
    """A worked run's `message_creation` step lists and retrieves, naming its message."""
    run = ok(await client.threads.runs.create(thread.id, assistant_id=assistant.id))
    _, step_id, message_id = await complete_with_message(client, "Sunny.")

    steps = await page(client.threads.runs.steps.list(run.id, thread_id=thread.id))
    step = ok(await client.threads.runs.steps.retrieve(step_id, thread_id=thread.id, run_id=run.id))

    assert ids(steps.data) == [step_id]
    assert (steps.first_id, steps.last_id, steps.has_more) == (step_id, step_id, False)
    d = step.to_dict()
    assert d == steps.data[0].to_dict()
    assert (d["run_id"], d["thread_id"], d["assistant_id"]) == (run.id, thread.id, assistant.id)
    assert (d["type"], d["status"]) == ("message_creation", "completed")
    assert d["step_details"] == {
        "type": "message_creation",
        "message_creation": {"message_id": message_id},
    }
    done = ok(await client.threads.runs.retrieve(run.id, thread_id=thread.id))
    assert done.status == "completed"
    assert done.expires_at is None
    assert isinstance(done.completed_at, int)


# --- create_and_run --------------------------------------------------------------------------


async def test_create_and_run__queues_a_run_on_a_new_thread_with_its_messages(
    client: AsyncClient, assistant: Assistant
) -> None:
    """The run's `thread_id` is the new thread, which holds the given messages and metadata."""
    run = ok(
        await client.threads.create_and_run(
            assistant_id=assistant.id,
            thread={
                "messages": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {"role": "user", "content": [{"type": "text", "text": "And Rome?"}]},
                ],
                "metadata": {"origin": "test"},
            },
        )
    )
    assert run.status == "queued"
    assert run.thread_id.startswith("thread_")
    thread = ok(await client.threads.retrieve(run.thread_id))
    assert thread.metadata == {"origin": "test"}
    listed = await page(client.threads.messages.list(run.thread_id, order="asc"))
    texts = [m.to_dict()["content"][0]["text"]["value"] for m in listed.data]
    assert texts == ["Weather in Paris?", "And Rome?"]
    assert ids((await page(client.threads.runs.list(run.thread_id))).data) == [run.id]
    assert run.instructions == "Be brief."
    assert run.expires_at == run.created_at + 600
    err = await api_error(
        lambda: client.threads.messages.create(run.thread_id, role="user", content="more")
    )
    assert err.message == f"Can't add messages to {run.thread_id} while a run {run.id} is active."


async def test_create_and_run__without_a_thread_makes_an_empty_one(
    client: AsyncClient, assistant: Assistant
) -> None:
    """With no `thread`, the run gets a new empty thread."""
    run = ok(await client.threads.create_and_run(assistant_id=assistant.id))
    assert ok(await client.threads.retrieve(run.thread_id)).metadata == {}
    assert (await page(client.threads.messages.list(run.thread_id))).data == []


async def test_create_and_run__echoes_run_overrides(
    client: AsyncClient, assistant: Assistant
) -> None:
    """Run fields given to create_and_run are echoed on the run."""
    run = ok(
        await client.threads.create_and_run(
            assistant_id=assistant.id,
            instructions="Answer in French.",
            metadata={"job": "7"},
            tools=[{"type": "code_interpreter"}],
            temperature=0.3,
            tool_choice="required",
        )
    )
    d = run.to_dict()
    assert d["instructions"] == "Answer in French."
    assert d["metadata"] == {"job": "7"}
    assert d["tools"] == [{"type": "code_interpreter"}]
    assert d["temperature"] == 0.3
    assert d["tool_choice"] == "required"


async def test_create_and_run__the_new_thread_accepts_runs_after_cancel(
    client: AsyncClient, assistant: Assistant
) -> None:
    """After cancelling create_and_run's run, its thread takes messages and new runs."""
    run = ok(await client.threads.create_and_run(assistant_id=assistant.id))
    ok(await client.threads.runs.cancel(run.id, thread_id=run.thread_id))
    ok(await client.threads.messages.create(run.thread_id, role="user", content="next"))
    again = ok(await client.threads.runs.create(run.thread_id, assistant_id=assistant.id))
    assert ids((await page(client.threads.runs.list(run.thread_id))).data) == [again.id, run.id]
