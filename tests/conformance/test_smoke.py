"""The unmodified openai SDK against a real server: the quickstart, end to end."""

from __future__ import annotations

import json
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_quickstart__create_and_poll_tool_round_trip(sdk: openai.OpenAI) -> None:
    """Assistant, thread, create_and_poll → requires_action, submit_and_poll → completed."""
    assistant = sdk.beta.assistants.create(model="test", tools=[WEATHER])  # type: ignore[list-item]
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "weather? get_weather"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    assert run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert "city" in json.loads(call.function.arguments)
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
    )
    assert run.status == "completed"
    messages = sdk.beta.threads.messages.list(thread_id=thread.id)
    assert "sunny" in messages.data[0].content[0].text.value  # type: ignore[union-attr]
