"""Every object the client returns, and every event a run logs, validates with the SDK's models."""

from __future__ import annotations

import warnings
from typing import Any

import pydantic

from assistants import AsyncClient
from tests.conftest import WEATHER_TOOL
from tests.sdk import sdk_validate

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.types.beta import AssistantStreamEvent

EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(AssistantStreamEvent)


async def test_objects_of_a_tool_round_trip__validate_with_the_sdk(
    live_client: AsyncClient,
) -> None:
    """Assistant, thread, messages, runs at each stop, steps and deletions all pass the SDK."""
    client = live_client
    assistant = await client.assistants.create(
        model="test",
        name="w",
        instructions="Be brief.",
        tools=[WEATHER_TOOL],
        metadata={"k": "v"},
        temperature=0.5,
        top_p=0.9,
        response_format={"type": "json_object"},
    )
    objects: list[Any] = [assistant, await client.assistants.retrieve(assistant.id)]
    thread = await client.threads.create(
        messages=[
            {"role": "user", "content": "weather in Paris? get_weather"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "parts"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
        ]
    )
    objects.append(thread)
    run = await client.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        max_prompt_tokens=1000,
        truncation_strategy={"type": "last_messages", "last_messages": 5},
    )
    assert run.status == "requires_action"
    objects.append(run)
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    steps = await client.threads.runs.steps.list(run.id, thread_id=thread.id)
    objects += steps.data
    run = await client.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": "sunny"} for c in calls],
    )
    assert run.status == "completed"
    objects.append(run)
    objects += (await client.threads.runs.steps.list(run.id, thread_id=thread.id)).data
    objects += (await client.threads.messages.list(thread.id)).data
    objects += (await client.threads.runs.list(thread.id)).data
    cancelled = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
    objects.append(await client.threads.runs.cancel(cancelled.id, thread_id=thread.id))
    # A worker may hold the run (then it is `cancelling` until the worker stops).
    objects.append(await client.threads.runs.poll(cancelled.id, thread.id))
    message = await client.threads.messages.create(thread.id, role="user", content="bye")
    objects.append(message)
    objects.append(await client.threads.messages.delete(message.id, thread_id=thread.id))
    objects.append(await client.threads.delete(thread.id))
    objects.append(await client.assistants.delete(assistant.id))
    for obj in objects:
        sdk_validate(obj)
    assert len(objects) > 15


async def test_run_event_log__every_event_validates_as_an_sdk_stream_event(
    live_client: AsyncClient,
) -> None:
    """The durable event log holds events the SDK's AssistantStreamEvent union accepts."""
    client = live_client
    assistant = await client.assistants.create(model="test", tools=[WEATHER_TOOL])
    thread = await client.threads.create(messages=[{"role": "user", "content": "get_weather"}])
    run = await client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    run = await client.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in calls],
    )
    store = await client.store()
    events = await store.log.read_events(run.id)
    names = [e.event for e in events]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for event in events:
        parsed = EVENTS.validate_python({"event": event.event, "data": event.data})
        assert parsed.event == event.event
    assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert "thread.run.requires_action" in names
    assert names[-1] == "thread.run.completed"
