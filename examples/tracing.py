"""Tracing: a run with a tool round trip, and a completion with a fallback, read back as trees.

Run: python examples/tracing.py

Every run is a trace: a root span with a span per model call and per tool call, carrying the
run's `tags`, `user_id` and `session_id`; every chat completion is a span too. The script reads
them back with `client.traces.retrieve` and `client.spans.list` and prints each tree with its
durations, tokens and cost (`assistants trace <trace_id>` prints the same in a terminal).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from assistants import Client

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def show(span: dict[str, Any], depth: int = 0) -> None:
    usage = span["usage"] or {}
    print(
        f"{'  ' * depth}{span['kind']}: {span['name']} {span['status']}"
        + (f", {usage['total_tokens']} tokens" if usage else "")
        + (f", ${span['cost']:.7f}" if span["cost"] is not None else "")
    )
    for child in span["children"]:
        show(child, depth + 1)


def main() -> None:
    os.environ.setdefault("OLLAMA_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    with Client(
        database_url="sqlite+aiosqlite:///:memory:",
        prices={"test": {"prompt": 0.15, "completion": 0.60}},  # USD per million tokens
    ) as client:
        assistant = client.assistants.create(model="test", tools=[WEATHER])
        thread = client.threads.create(messages=[{"role": "user", "content": "Rain in Oslo?"}])
        run = client.threads.runs.create_and_poll(
            thread_id=thread.id,
            assistant_id=assistant.id,
            tags=["example"],
            user_id="user_123",
            session_id="session_abc",
        )
        assert run.required_action is not None  # the model asked for get_weather
        calls = run.required_action.submit_tool_outputs.tool_calls
        run = client.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": c.id, "output": "light rain"} for c in calls],
        )
        assert run.trace_id is not None
        trace = client.traces.retrieve(run.trace_id)
        print(f"run {run.status}: {trace.span_count} spans, {trace.usage['total_tokens']} tokens")
        for root in trace.spans:
            show(root)

        answer = client.chat.completions.create(
            model="ollama/llama3.2",
            messages=[{"role": "user", "content": "hello"}],
            fallbacks=["test"],
            num_retries=0,
            tags=["example"],
            session_id="session_abc",
        )
        assert answer.span_id is not None
        span = client.spans.retrieve(answer.span_id)
        failed = ", ".join(f["model"] for f in span.fallbacks)
        print(f"completion: {span.status} by {span.model} after {failed} failed")
        in_session = client.spans.list(session_id="session_abc").data
        print(f"session_abc: {len(in_session)} spans")


if __name__ == "__main__":
    main()
