"""One assistant, several providers chosen by the model string, and a fallback model.

Run: python examples/providers.py

It needs no network and no API keys: a tiny OpenAI-compatible server (a few lines of
`http.server`, streaming one fixed answer) runs in a thread and is registered as the named
endpoint `local`. The same assistant then runs on `test` (the built-in test double) and on
`local/any-model`. With OPENAI_API_KEY, ANTHROPIC_API_KEY or OLLAMA_BASE_URL set, it also runs on
that real provider.

Last, a fallback: an assistant on `ollama/llama3.2` with `fallbacks: ["test"]`. Unless you set
OLLAMA_BASE_URL, it points at a port where nothing listens, so the call fails before any output
and `test` answers; the run step records which model answered and what failed first.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from assistants import Client
from assistants.logs import configure_logging

INSTRUCTIONS = "You answer in one short sentence."
QUESTION = "What is the capital of France?"
LOCAL_ANSWER = "Paris is the capital of France."
REAL_PROVIDERS = {  # env var -> model
    "OPENAI_API_KEY": "openai/gpt-4o-mini",
    "ANTHROPIC_API_KEY": "anthropic/claude-haiku-4-5",
    "OLLAMA_BASE_URL": f"ollama/{os.environ.get('OLLAMA_MODEL', 'llama3.2')}",
}


class FakeChatCompletions(BaseHTTPRequestHandler):
    """Answers every POST /v1/chat/completions with LOCAL_ANSWER, as server-sent events."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        words = LOCAL_ANSWER.split(" ")
        deltas = [{"content": word if i == 0 else f" {word}"} for i, word in enumerate(words)]
        events: list[dict[str, Any]] = [
            {"choices": [{"index": 0, "delta": delta}]} for delta in deltas
        ]
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


def closed_port() -> int:
    """A loopback port nothing listens on (taken from the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def ask(client: Client, model: str, **extra: Any) -> tuple[str, str, dict[str, Any]]:
    """Run the assistant on `model` once: the run status, the answer, the step's extensions."""
    assistant = client.assistants.create(model=model, instructions=INSTRUCTIONS, extra_body=extra)
    thread = client.threads.create(messages=[{"role": "user", "content": QUESTION}])
    run = client.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    if run.status != "completed":
        error = run.last_error.message if run.last_error else ""
        return run.status, error, {}
    message = client.threads.messages.list(thread.id, run_id=run.id).data[0]
    block = message.content[0]
    answer = block.text.value if block.type == "text" else ""
    step = client.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
    return run.status, answer, dict(step.model_extra or {})


def main() -> int:
    configure_logging("warning")
    real = [(env, model) for env, model in REAL_PROVIDERS.items() if os.environ.get(env)]
    if "OLLAMA_BASE_URL" not in os.environ:  # the fallback demo needs ollama to be unreachable
        os.environ["OLLAMA_BASE_URL"] = f"http://127.0.0.1:{closed_port()}/v1"
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChatCompletions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        with Client(
            database_url="sqlite+aiosqlite:///:memory:",
            endpoints={"local": {"base_url": local}},
            provider_max_retries=0,  # fail fast: the fallback answers at once
            provider_timeout_seconds=60,
        ) as client:
            print(f"Same assistant ({INSTRUCTIONS!r}), asked {QUESTION!r}:")
            statuses: dict[str, str] = {}
            for model in ["test", "local/any-model", *(model for _, model in real)]:
                statuses[model], answer, step = ask(client, model)
                answered_by = step.get("model", "-")
                print(f"  {model:<36} {statuses[model]:<10} answered by {answered_by}: {answer}")
            if not real:
                print(f"  (set one of {', '.join(REAL_PROVIDERS)} to add a real provider)")

            print(f"\nFallback: ollama/llama3.2 at {os.environ['OLLAMA_BASE_URL']}, then test:")
            status, answer, step = ask(client, "ollama/llama3.2", fallbacks=["test"])
            statuses["fallback"] = status
            print(f"  run: {status}, answered by {step.get('model', '-')}: {answer}")
            for failed in step.get("fallbacks_failed", []):
                print(f"  failed first: {failed['model']} ({failed['code']}): {failed['error']}")
    finally:
        server.shutdown()
        server.server_close()
    offline = ("test", "local/any-model", "fallback")  # these need no network
    return 0 if all(statuses[name] == "completed" for name in offline) else 1


if __name__ == "__main__":
    sys.exit(main())
