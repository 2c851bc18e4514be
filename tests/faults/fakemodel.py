"""A scriptable chat-completions server on loopback, for worker processes to call as `ollama/...`.

Every answer is derived from the request, so any worker, in any process, gets the same one:

- the *key* of a call is the text of the last user message (each test run has its own);
- its *round* is the number of tool results in the request: 0 answers the user, 1 follows the
  first tool round, and so on;
- with tools in the request and `round < tool_rounds(key)` (`rounds=N` in the key, default 1)
  it calls the first tool, with arguments `{"key": ..., "round": ...}` streamed in two pieces;
- otherwise it streams `answer(key, outputs)` in `chunks` text deltas (the tool results it was
  given, if any, are in the text).

Calls are counted per `(key, round)`, so a model call made twice is visible. `hold()` makes one
call stop at a point (before any byte of the answer, or after some chunks were sent and flushed)
and signal it with a `threading.Event`, until the test releases it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio

HOLD_TIMEOUT = 60.0
"""The longest a held call waits for its release (a test that failed never releases it)."""


def tool_rounds(key: str) -> int:
    """How many tool rounds the model asks for on `key` (when the run has tools)."""
    for word in key.split():
        if word.startswith("rounds="):
            return int(word.removeprefix("rounds="))
    return 1


def answer_pieces(key: str, outputs: list[str], chunks: int) -> list[str]:
    head = f"Answer to {key}" + (f" using {'; '.join(outputs)}" if outputs else "")
    return [head, *(f" part{i}" for i in range(1, chunks))]


def answer(key: str, outputs: list[str] | None = None, chunks: int = 4) -> str:
    """The final text the model gives `key` after tool results `outputs`."""
    return "".join(answer_pieces(key, outputs or [], chunks))


def tool_output(key: str, round_: int) -> str:
    """What the tests submit as the output of `key`'s tool call in round `round_`."""
    digest = hashlib.sha256(f"{key}/{round_}".encode()).hexdigest()[:8]
    return f"result-{round_}-{digest}"


@dataclass
class Hold:
    """One call that stops at a point until released.

    `after_chunks=0` stops before any byte of the answer (the worker waits on the model);
    otherwise after that many chunks were written and flushed.
    """

    key: str
    round: int
    nth: int
    after_chunks: int
    block: bool = True
    reached: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.gate.set()

    async def wait(self, timeout: float = 30.0) -> None:
        """Wait (off the event loop) until the call reached its hold point."""
        reached = await anyio.to_thread.run_sync(self.reached.wait, timeout)
        assert reached, f"the call {self.key!r} round {self.round} #{self.nth} never came"


@dataclass(frozen=True)
class Call:
    key: str
    round: int
    nth: int
    at: float  # time.monotonic() when it arrived


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a killed worker
            self.server.fake.answer(self, json.loads(raw))

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    fake: FakeModel

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a killed worker's connection breaks mid-answer: expected


class FakeModel:
    """The server (see the module docstring). `close()` releases every hold and stops it."""

    def __init__(self, *, chunks: int = 4, chunk_delay: float = 0.0, latency: float = 0.0) -> None:
        self.chunks = chunks
        self.chunk_delay = chunk_delay
        self.latency = latency
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, int]] = Counter()
        self.log: list[Call] = []
        self._holds: dict[tuple[str, int, int], Hold] = {}
        self._done: set[tuple[str, int, int]] = set()
        self._serial = 0
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def calls(self, key: str, round_: int | None = None) -> int:
        """Calls made for `key` (in round `round_`, or in all rounds)."""
        with self.lock:
            if round_ is not None:
                return self.counts[(key, round_)]
            return sum(n for (k, _), n in self.counts.items() if k == key)

    def finished(self, key: str, round_: int = 0, *, nth: int = 1) -> bool:
        """Whether call number `nth` of `(key, round_)` was answered to its end."""
        with self.lock:
            return (key, round_, nth) in self._done

    def total_calls(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def hold(
        self, key: str, round_: int = 0, *, nth: int = 1, after_chunks: int = 0, block: bool = True
    ) -> Hold:
        """Stop call number `nth` of `(key, round_)` at its hold point (see `Hold`).

        With `block=False` the call only signals that it reached the point.
        """
        hold = Hold(key, round_, nth, after_chunks, block)
        if not block:
            hold.gate.set()
        with self.lock:
            self._holds[(key, round_, nth)] = hold
        return hold

    def release_all(self) -> None:
        with self.lock:
            holds = list(self._holds.values())
        for hold in holds:
            hold.release()

    def close(self) -> None:
        self.release_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)

    # --- answering ----------------------------------------------------------------------------

    def answer(self, handler: _Handler, body: dict[str, Any]) -> None:
        messages = body.get("messages", [])
        users = [m for m in messages if m.get("role") == "user"]
        key = str(users[-1]["content"]) if users else ""
        outputs = [str(m.get("content")) for m in messages if m.get("role") == "tool"]
        round_ = len(outputs)
        with self.lock:
            self.counts[(key, round_)] += 1
            nth = self.counts[(key, round_)]
            self._serial += 1
            serial = self._serial
            self.log.append(Call(key, round_, nth, time.monotonic()))
            hold = self._holds.get((key, round_, nth))
        tools = body.get("tools") or []
        if tools and round_ < tool_rounds(key):
            name = tools[0]["function"]["name"]
            arguments = json.dumps({"key": key, "round": round_})
            half = len(arguments) // 2
            first: dict[str, Any] = {"index": 0, "id": f"call_{serial}", "type": "function"}
            pieces: list[dict[str, Any]] = [
                {"tool_calls": [{**first, "function": {"name": name, "arguments": ""}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": arguments[:half]}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]},
            ]
            finish = "tool_calls"
        else:
            pieces = [{"content": p} for p in answer_pieces(key, outputs, self.chunks)]
            finish = "stop"
        if self.latency:
            time.sleep(self.latency)
        if hold is not None and hold.after_chunks == 0:
            hold.reached.set()
            hold.gate.wait(HOLD_TIMEOUT)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for sent, delta in enumerate(pieces, start=1):
            self._event(handler, {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            if hold is not None and sent == hold.after_chunks:
                hold.reached.set()
                hold.gate.wait(HOLD_TIMEOUT)
            elif self.chunk_delay:
                time.sleep(self.chunk_delay)
        usage = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self._event(handler, {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        self._event(handler, {"choices": [], "usage": usage})
        self._write(handler, b"data: [DONE]\n\n")
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
        with self.lock:
            self._done.add((key, round_, nth))

    def _event(self, handler: _Handler, payload: dict[str, Any]) -> None:
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake"}
        self._write(handler, f"data: {json.dumps({**chunk, **payload})}\n\n".encode())

    @staticmethod
    def _write(handler: _Handler, data: bytes) -> None:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        handler.wfile.flush()
