"""The "minimal Python client for local LLMs", pointed at `assistants serve`.

Run: pip install openai; python examples/local_server_client.py

The official `openai` client talks to any OpenAI-compatible server by its `base_url`; here that
server is `assistants serve`, which fronts every provider it is configured with (Ollama, vLLM,
LM Studio, llama.cpp, OpenAI, Anthropic, Gemini) at one address, with aliases, fallbacks and
retries. It talks to http://127.0.0.1:8000 when a server answers there, else it starts one of its
own on a free port. The `test` model answers offline; with `--model-alias 'llama3=ollama/llama3'`
on the server, the same code asks Ollama.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading

import httpx
import openai
from openai import OpenAI

LOCAL_LLM_ENDPOINT = "http://127.0.0.1:8000/v1"  # `assistants serve`
LOCAL_MODEL_NAME = "test"  # or a model alias the server maps, e.g. "llama3"

client = OpenAI(base_url=LOCAL_LLM_ENDPOINT, api_key="local")


def get_chat_completion(
    client: OpenAI, user_message: str, system_message: str = "You are helpful."
) -> str:
    """Sends a chat completion request to the local server."""
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "system", "content": system_message},
        {"role": "user", "content": user_message},
    ]
    try:
        response = client.chat.completions.create(
            model=LOCAL_MODEL_NAME, messages=messages, temperature=0.7, max_tokens=150
        )
        return response.choices[0].message.content or ""
    except openai.APIConnectionError as e:
        return f"Error: could not connect to the local server ({e})."
    except openai.APIStatusError as e:
        return f"Error: the server answered {e.status_code}: {e.message}"


def stream_chat_completion(client: OpenAI, user_message: str) -> str:
    """The same, streamed: the text as it arrives."""
    stream = client.chat.completions.create(
        model=LOCAL_MODEL_NAME,
        messages=[{"role": "user", "content": user_message}],
        stream=True,
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def unknown_model_error(client: OpenAI) -> str:
    """What the server says to a model it cannot route (a 400 in OpenAI's shape)."""
    try:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "x"}]
        )
    except openai.BadRequestError as e:
        return f"{e.status_code} {e.code}"
    return "no error"


def start_server() -> tuple[subprocess.Popen[str], str]:
    """`assistants serve` on a free port (port 0): its base URL, read from its start-up line."""
    database = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/server.db"
    command = [sys.executable, "-m", "assistants.cli", "serve", "--port", "0",
               "--no-worker", "--database-url", database]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    for line in server.stderr:
        found = re.search(r"url=(http://\S+/v1)", line)
        if found:  # keep reading its log, so that the pipe never fills
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, found.group(1)
    raise SystemExit(f"the server did not start (exit code {server.wait()})")


def main() -> None:
    server = None
    local = client
    try:
        httpx.get(LOCAL_LLM_ENDPOINT.removesuffix("/v1") + "/health", timeout=1)
    except httpx.TransportError:
        server, base_url = start_server()
        local = client.with_options(base_url=base_url)  # only because we started our own
    try:
        print("LLM Response:", get_chat_completion(local, "Explain quantum entanglement."))
        print("Streamed:", stream_chat_completion(local, "What is the capital of Japan?"))
        print("Unknown model:", unknown_model_error(local))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
