"""The quickstart on the async client: `AsyncClient` as an async context manager.

Run: python examples/async_quickstart.py
"""

from __future__ import annotations

import anyio

from assistants import AsyncClient
from assistants.logs import configure_logging

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def main() -> None:
    configure_logging("warning")
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:") as client:
        assistant = await client.beta.assistants.create(model="test", tools=[WEATHER])
        thread = await client.beta.threads.create(
            messages=[{"role": "user", "content": "Weather in Oslo? (get_weather)"}]
        )
        run = await client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.required_action is not None
        outputs = [
            {"tool_call_id": call.id, "output": "-3°C and snowing"}
            for call in run.required_action.submit_tool_outputs.tool_calls
        ]
        run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread.id, run_id=run.id, tool_outputs=outputs
        )
        print("run:", run.status)
        async for message in client.beta.threads.messages.list(thread.id, order="asc"):
            print(f"{message.role}: {message.content[0].text.value}")  # type: ignore[union-attr]


if __name__ == "__main__":
    anyio.run(main)
