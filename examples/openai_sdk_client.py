"""The quickstart through the official `openai` SDK, against `assistants serve`.

Run: pip install openai; python examples/openai_sdk_client.py

It talks to the server on http://127.0.0.1:8000 when one answers there (`assistants serve` in
another terminal), else it starts one of its own on a free port. Only the line that builds the
client differs from an app written for the hosted API.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import warnings

import httpx
from openai import OpenAI

client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="local")  # the one line that changes

warnings.filterwarnings(
    "ignore", category=DeprecationWarning
)  # the SDK marks Assistants deprecated

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def running_server() -> bool:
    """Whether `assistants serve` answers on the default address."""
    try:
        health = httpx.get("http://127.0.0.1:8000/health", timeout=1)
    except httpx.TransportError:
        return False
    return health.status_code == 200 and health.json().get("status") == "ok"


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/server.db"
    command = [sys.executable, "-m", "assistants.cli", "--log-level", "warning", "serve",
               "--port", str(port), "--database-url", database]  # fmt: skip
    server = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, f"{base}/v1"
        except httpx.TransportError:
            time.sleep(0.05)
    server.terminate()
    raise SystemExit("the server did not start")


def app(client: OpenAI) -> None:
    """The app, unchanged from the hosted API's days."""
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER])  # type: ignore[list-item]
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What's the weather in Lima? (get_weather)"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    print("run:", run.status)
    if run.required_action is not None:
        call = run.required_action.submit_tool_outputs.tool_calls[0]
        print(f"tool call: {call.function.name}({json.loads(call.function.arguments)})")
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "19°C, overcast"}],
        )
        print("run:", run.status)
    message = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    print("assistant:", message.content[0].text.value)  # type: ignore[union-attr]


def main() -> None:
    if running_server():
        app(client)
        return
    server, base_url = start_server()
    try:
        # Only because this script started its own server on a free port:
        app(client.with_options(base_url=base_url))
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
