"""A cross-provider call with fallbacks: the first model fails, the next one answers.

Run: python examples/completions_fallbacks.py

The call names `ollama/llama3.2` first. Unless you set OLLAMA_BASE_URL, it points at a port where
nothing listens, so that model fails before any output and the next of `fallbacks` answers; the
answer says which provider answered, what failed first and why, the latency, and the cost (from
the `prices` setting). With ANTHROPIC_API_KEY or OPENAI_API_KEY set, put a real model first.
"""

from __future__ import annotations

import asyncio
import os
import socket

from assistants import AsyncClient


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main() -> None:
    os.environ.setdefault("OLLAMA_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        worker=False,
        prices={"test": {"prompt": 0.15, "completion": 0.60}},  # USD per million tokens
    ) as client:
        response = await client.chat.completions.create(
            model="ollama/llama3.2",
            messages=[{"role": "user", "content": "hello"}],
            fallbacks=["test"],
            num_retries=0,
            temperature=0,
            max_tokens=20,
        )
        print("answer:", response.choices[0].message.content)
        print("provider:", response.provider, "| model:", response.model)
        for failed in response.fallbacks_failed or []:
            print(f"failed first: {failed.model} ({failed.code})")
        print(f"cost: ${response.cost:.8f}" if response.cost is not None else "cost: unpriced")
        print("latency_ms >= 0:", (response.latency_ms or 0) >= 0)


if __name__ == "__main__":
    asyncio.run(main())
