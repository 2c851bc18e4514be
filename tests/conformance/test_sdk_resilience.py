"""The server under stress of the client's or the operator's making: a client that hangs up
mid-stream, a reader that falls behind, and a graceful shutdown with a run in flight.

Models that must hold a run open wait on a `threading.Event` the test controls (in a worker
thread, so the server's loop keeps running); nothing here waits on a timer.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from assistants import AsyncClient
from tests.conformance.conftest import LiveServer
from tests.conformance.support import Gate, db_url, serve, text_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

BETA = {"OpenAI-Beta": "assistants=v2"}


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    try:
        yield g
    finally:
        g.opened.set()  # frees a thread left waiting by a failed test


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from SSE lines."""
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            assert name is not None
            yield name, line[6:]
            name = None


def test_client_disconnect_mid_stream__run_completes(tmp_path: Path, gate: Gate) -> None:
    """A client that hangs up mid-stream leaves the run running to completion; the server serves on."""
    with serve(tmp_path, providers={"gated": gate.model()}) as live, live.sdk() as sdk:
        assistant = sdk.beta.assistants.create(model="gated")
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        with (
            httpx.Client(base_url=live.base_url, headers=BETA, timeout=20) as http,
            http.stream(
                "POST",
                f"/threads/{thread.id}/runs",
                json={"assistant_id": assistant.id, "stream": True},
            ) as response,
        ):
            assert response.status_code == 200
            events = sse_events(response.iter_lines())
            name, data = next(events)
            assert name == "thread.run.created"
            run_id = json.loads(data)["id"]
            for name, _ in events:
                if name == "thread.message.delta":
                    break
            assert gate.reached.is_set()
        # The connection is gone while the model is still answering; now let it finish.
        gate.opened.set()
        run = sdk.beta.threads.runs.poll(run_id, thread.id)
        assert run.status == "completed"
        reply = sdk.beta.threads.messages.list(thread.id).data[0]
        assert text_of(reply) == "Hello world"
        assert reply.status == "completed"

        # The server keeps serving: plain requests and a new stream, read to its end.
        assert httpx.get(f"http://127.0.0.1:{live.port}/health").status_code == 200
        sdk.beta.threads.messages.create(thread.id, role="user", content="again")
        with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            assert "".join(stream.text_deltas) == "Hello world"


def test_client_disconnect_before_first_event(tmp_path: Path) -> None:
    """Clients that hang up right after sending a stream request do not disturb the server."""
    with serve(tmp_path) as live, live.sdk() as sdk:
        assistant = sdk.beta.assistants.create(model="test")
        threads = []
        for i in range(5):
            thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"m{i}"}])
            threads.append(thread.id)
            with (
                httpx.Client(base_url=live.base_url, headers=BETA, timeout=20) as http,
                http.stream(
                    "POST",
                    f"/threads/{thread.id}/runs",
                    json={"assistant_id": assistant.id, "stream": True},
                ) as response,
            ):
                assert response.status_code == 200
        for i, thread_id in enumerate(threads):
            (run,) = sdk.beta.threads.runs.list(thread_id).data
            assert sdk.beta.threads.runs.poll(run.id, thread_id).status == "completed"
            assert text_of(sdk.beta.threads.messages.list(thread_id).data[0]) == f"You said: m{i}"


def test_slow_reader_gets_every_event(tmp_path: Path) -> None:
    """A reader that stops reading until the run has finished still receives every event."""
    words = [f"w{i}" for i in range(3000)]
    prompt = " ".join(words)
    with serve(tmp_path) as live, live.sdk() as sdk:
        assistant = sdk.beta.assistants.create(model="test")
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": prompt}])
        with (
            httpx.Client(base_url=live.base_url, headers=BETA, timeout=30) as http,
            http.stream(
                "POST",
                f"/threads/{thread.id}/runs",
                json={"assistant_id": assistant.id, "stream": True},
            ) as response,
        ):
            lines = response.iter_lines()
            events = sse_events(lines)
            name, data = next(events)
            assert name == "thread.run.created"
            run_id = json.loads(data)["id"]
            # Pause reading until the run is over (the poll GET is held until it stops).
            assert sdk.beta.threads.runs.poll(run_id, thread.id).status == "completed"
            rest = list(events)
        names = [name, *(n for n, _ in rest)]
        assert names[-1] == "done"
        assert names[-2] == "thread.run.completed"
        text = "".join(
            json.loads(d)["delta"]["content"][0]["text"]["value"]
            for n, d in rest
            if n == "thread.message.delta"
        )
        assert text == "You said: " + prompt
        assert names.count("thread.message.completed") == 1
        # one delta per word ("You", " said:", then each word): none lost, none repeated
        assert names.count("thread.message.delta") == len(words) + 2


def test_graceful_shutdown_releases_the_run(tmp_path: Path, gate: Gate) -> None:
    """Stopping the server with a run in the model gives the run back to the queue."""
    url = db_url(tmp_path)
    client = AsyncClient(
        database_url=url,
        providers={"gated": gate.model()},
        poll_seconds=0.05,
        sweep_seconds=0.05,
        stop_grace_seconds=0.2,
    )
    with LiveServer(client) as live, live.sdk() as sdk:
        assistant = sdk.beta.assistants.create(model="gated")
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "hold"}])
        run = sdk.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        assert gate.reached.wait(20), "the model was never called"
        assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress"
    # LiveServer.__exit__ set `should_exit` and joined the server: the worker has stopped.

    async def status_after_stop() -> tuple[str, str | None]:
        async with AsyncClient(database_url=url, worker=False) as reader:
            found = await reader.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
            return str(found.status), found.last_error.code if found.last_error else None

    assert anyio.run(status_after_stop) == ("queued", None)

    # Not lost: a new server on the same database picks the run up and finishes it.
    gate.opened.set()
    with serve(tmp_path, providers={"gated": gate.model()}) as again, again.sdk() as sdk2:
        final = sdk2.beta.threads.runs.poll(run.id, thread.id)
        assert final.status == "completed"
        assert "world" in text_of(sdk2.beta.threads.messages.list(thread.id).data[0])


def test_sdk_sees_a_stopped_server_as_a_connection_error(tmp_path: Path) -> None:
    """After shutdown the SDK raises `APIConnectionError` (nothing is left listening)."""
    with serve(tmp_path) as live:
        sdk = live.sdk()
        assert sdk.beta.assistants.list().data == []
    with pytest.raises(openai.APIConnectionError):
        sdk.beta.assistants.list()
    sdk.close()
