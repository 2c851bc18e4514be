"""Streaming with an event handler: text as it arrives, and a tool call answered mid-stream.

Run: python examples/streaming.py

The handler has the openai SDK's callbacks (an app's existing `openai.AssistantEventHandler`
subclass works too). When the run pauses for a tool call, the outputs go back with
`submit_tool_outputs_stream` and a new handler streams the rest.
"""

from __future__ import annotations

from typing import Any

from assistants import Client
from assistants.logs import configure_logging
from assistants.streaming import AssistantEventHandler

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


class Printer(AssistantEventHandler):
    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        print(delta.value, end="", flush=True)

    def on_tool_call_created(self, tool_call: Any) -> None:
        print(f"[calling {tool_call.function.name}]", flush=True)

    def on_message_done(self, message: Any) -> None:
        print()


def main() -> None:
    configure_logging("warning")
    with Client(database_url="sqlite+aiosqlite:///:memory:") as client:
        assistant = client.beta.assistants.create(model="test", tools=[WEATHER])
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "Is it warm in Rome? (get_weather)"}]
        )
        with client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id, event_handler=Printer()
        ) as stream:
            stream.until_done()
        run = stream.get_final_run()
        while run.status == "requires_action" and run.required_action is not None:
            outputs = [
                {"tool_call_id": call.id, "output": "27°C, clear skies"}
                for call in run.required_action.submit_tool_outputs.tool_calls
            ]
            with client.beta.threads.runs.submit_tool_outputs_stream(
                thread_id=thread.id, run_id=run.id, tool_outputs=outputs, event_handler=Printer()
            ) as stream:
                stream.until_done()
            run = stream.get_final_run()
        print("run:", run.status)


if __name__ == "__main__":
    main()
