"""The quickstart through the official `openai` SDK, against a server this script starts.

Run: pip install openai; python examples/openai_sdk_client.py

Only the line that builds the client differs from an app written for the hosted API.
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

warnings.filterwarnings(
    "ignore", category=DeprecationWarning
)  # the SDK marks Assistants deprecated
from openai import OpenAI  # noqa: E402

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


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


def main() -> None:
    server, base_url = start_server()
    try:
        client = OpenAI(base_url=base_url, api_key="local")  # the one line that changes
        assistant = client.beta.assistants.create(model="test", tools=[WEATHER])  # type: ignore[list-item]
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "What's the weather in Lima? (get_weather)"}]
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
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
        client.close()
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
