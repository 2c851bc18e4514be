"""Quickstart: an assistant with a function tool, on the embedded defaults (SQLite + worker).

Run: python examples/quickstart.py

It uses the built-in `test` model (a deterministic test double, no network); point `model` at
"openai/gpt-4o-mini", "ollama/llama3.2", ... for a real one.
"""

from __future__ import annotations

import json
import os
import tempfile

from assistants import Client
from assistants.logs import configure_logging

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def main() -> None:
    configure_logging("warning")
    database = os.environ.get(
        "ASSISTANTS_DATABASE_URL",
        f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/quickstart.db",
    )
    with Client(database_url=database) as client:
        assistant = client.beta.assistants.create(
            model="test", name="Weather bot", instructions="Answer briefly.", tools=[WEATHER]
        )
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "What's the weather in Paris? (get_weather)"}]
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        print("run:", run.status)
        if run.status == "requires_action" and run.required_action is not None:
            outputs = []
            for call in run.required_action.submit_tool_outputs.tool_calls:
                args = json.loads(call.function.arguments)
                print(f"tool call: {call.function.name}({args})")
                outputs.append({"tool_call_id": call.id, "output": "18°C and sunny"})
            run = client.beta.threads.runs.submit_tool_outputs_and_poll(
                thread_id=thread.id, run_id=run.id, tool_outputs=outputs
            )
            print("run:", run.status)
        answer = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
        print("assistant:", answer.content[0].text.value)  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
