"""The same assistant on a local model served by Ollama.

Run: ollama serve & ollama pull llama3.2; python examples/ollama.py

`OLLAMA_BASE_URL` (default http://localhost:11434/v1) and `OLLAMA_MODEL` (default llama3.2)
choose the server and the model. With no Ollama answering, it says so and exits with status 1.
"""

from __future__ import annotations

import os
import sys

import httpx

from assistants import Client
from assistants.logs import configure_logging


def main() -> int:
    configure_logging("warning")
    base_url = os.environ.get("OLLAMA_BASE_URL", "http://localhost:11434/v1").rstrip("/")
    model = os.environ.get("OLLAMA_MODEL", "llama3.2")
    try:
        httpx.get(f"{base_url}/models", timeout=3.0).raise_for_status()
    except httpx.HTTPError as exc:
        print(
            f"No Ollama server answered at {base_url} ({type(exc).__name__}).\n"
            f"Start one with `ollama serve` and `ollama pull {model}`, or set OLLAMA_BASE_URL.",
            file=sys.stderr,
        )
        return 1
    with Client(database_url="sqlite+aiosqlite:///:memory:") as client:
        assistant = client.assistants.create(
            model=f"ollama/{model}", instructions="You answer in one short sentence."
        )
        thread = client.threads.create(
            messages=[{"role": "user", "content": "Why is the sky blue?"}]
        )
        run = client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        print("run:", run.status, run.last_error or "")
        for message in client.threads.messages.list(thread.id, run_id=run.id):
            print("assistant:", message.content[0].text.value)  # type: ignore[union-attr]
    return 0 if run.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
