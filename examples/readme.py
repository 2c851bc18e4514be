"""The README's example, verbatim (a test checks the README still shows exactly this code).

Run: python examples/readme.py   (creates ./assistants.db, or uses ASSISTANTS_DATABASE_URL)
"""

# mypy: disable-error-code="union-attr"
from assistants import Client

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

with Client() as client:  # ./assistants.db and an embedded worker
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What's the weather in Paris?"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    if run.status == "requires_action":
        calls = run.required_action.submit_tool_outputs.tool_calls
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": c.id, "output": "18°C and sunny"} for c in calls],
        )
    print(client.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text.value)
