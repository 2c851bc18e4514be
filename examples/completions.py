"""One stateless model call: variables, a tool round trip, and a stream, in-process.

Run: python examples/completions.py

`client.chat.completions.create` takes openai-python's parameters (so code moves by changing the
line that builds the client) plus extensions: `variables` fill `{{name}}` in message text,
`provider=` routes a custom model name, `fallbacks`, `num_retries`, per-call `api_key` /
`api_base`, and trace fields. The built-in `test` model answers here, offline; put
`openai/gpt-4o-mini`, `anthropic/claude-haiku-4-5` or `ollama/llama3.2` instead to ask a real one.
"""

from __future__ import annotations

import json

from assistants import Client

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}

client = Client(database_url="sqlite+aiosqlite:///:memory:", worker=False)
messages = [
    {"role": "system", "content": "You help with {{topic}}."},
    {"role": "user", "content": "What is the weather in {{city}}?"},
]
first = client.chat.completions.create(
    model="test",
    messages=messages,
    variables={"topic": "travel", "city": "Tokyo"},
    tools=[WEATHER],
    tags=["example"],
    user_id="user_123",
)
print("finish:", first.choices[0].finish_reason, "| provider:", first.provider)
call = (first.choices[0].message.tool_calls or [])[0]
print(f"tool call: {call.function.name}({json.loads(call.function.arguments)})")
follow_up = client.chat.completions.create(
    model="test",
    messages=[
        {"role": "user", "content": "What is the weather in Tokyo?"},
        first.choices[0].message.to_dict(),
        {"role": "tool", "tool_call_id": call.id, "content": "22°C and sunny"},
    ],
    tools=[WEATHER],
)
print("answer:", follow_up.choices[0].message.content)

with client.chat.completions.create(
    model="test", messages=[{"role": "user", "content": "Write a story."}], stream=True
) as stream:
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()
    final = stream.get_final_completion()
print(
    "streamed:",
    final.choices[0].message.content,
    "| tokens:",
    final.usage and final.usage.total_tokens,
)
client.close()
