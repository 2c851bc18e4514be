"""Worker processes, runs to follow, and the invariants every run must keep after any crash.

`Workers.start()` launches `assistants worker` (JSON logs to a file, short leases and fast
sweeps); `WorkerProcess.kill()` is a SIGKILL. `Tracked` is one run the test created, with the
tool outputs it submitted; `drive()` plays the application (submits each round's outputs when the
run asks for them); `verify()` checks a finished run against the invariants:

- exactly one terminal state, reached once: one terminal event, the last of a gapless log;
- one assistant message for the run, completed, with the full answer (which contains every
  tool output); no step or message left `in_progress`, no step duplicated;
- every completed tool step holds the output submitted for it;
- a round whose tool calls were persisted is never asked of the model again (its call count
  when the outputs were submitted is its count at the end), and no claim called the model
  twice (calls per round <= claims in that round).
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from assistants import AsyncClient
from store.store import Store
from tests.faults.fakemodel import FakeModel, answer, tool_output

CLI = [sys.executable, "-m", "assistants.cli", "--log-json"]
LEASE_SECONDS = 1.0
FAST_ENV = {
    "ASSISTANTS_LEASE_SECONDS": str(LEASE_SECONDS),
    "ASSISTANTS_SWEEP_SECONDS": "0.1",
    "ASSISTANTS_POLL_SECONDS": "0.05",
    "ASSISTANTS_DELTA_FLUSH_COUNT": "1",
    "ASSISTANTS_STOP_GRACE_SECONDS": "5",
}
MODEL = "ollama/fake"
LOOKUP_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a key up.",
        "parameters": {
            "type": "object",
            "properties": {"key": {"type": "string"}, "round": {"type": "integer"}},
            "required": ["key"],
        },
    },
}
TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")
TERMINAL_EVENTS = frozenset(f"thread.run.{s}" for s in TERMINAL)


async def until(
    check: Callable[[], bool | Awaitable[bool]], *, timeout: float = 30.0, interval: float = 0.02
) -> None:
    """Bounded polling: return once `check()` is true; `TimeoutError` after `timeout` seconds."""
    with anyio.fail_after(timeout):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await anyio.sleep(interval)


# --- worker processes ---------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """One `assistants worker` subprocess and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no graceful stop, no release, nothing written."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(30)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (a graceful stop) and the exit status."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
        return self.popen.wait(timeout)

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        out: list[dict[str, Any]] = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by SIGKILL
        return out

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def started(self, timeout: float = 30.0) -> None:
        """Wait until the worker logged `worker_started` (bounded polling of its log)."""

        def up() -> bool:
            assert self.alive(), f"{self.name} exited:\n{self.log_tail()}"
            return '"worker_started"' in self.log.read_text(errors="replace")

        await until(up, timeout=timeout)

    async def logged(self, *events: str, run_id: str | None = None, timeout: float = 30.0) -> None:
        """Wait until the worker logged one of `events` (about `run_id`, if given)."""

        def seen() -> bool:
            return any(
                e.get("event") in events and (run_id is None or e.get("run_id") == run_id)
                for e in self.events()
            )

        await until(seen, timeout=timeout)


class Workers:
    """Starts worker processes in `directory`; `close()` kills those still running."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[WorkerProcess] = []

    def start(
        self,
        database_url: str,
        model: FakeModel | str | None,
        *,
        worker_id: str | None = None,
        concurrency: int = 10,
        env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        """`assistants worker` on `database_url`, calling `model` (a FakeModel or base URL)."""
        name = f"worker-{len(self.started) + 1}"
        log = self.directory / f"{name}.log"
        args = [*CLI, "worker", "--database-url", database_url, "--concurrency", str(concurrency)]
        if worker_id is not None:
            args += ["--worker-id", worker_id]
        # The developer's own ASSISTANTS_* settings (or ASSISTANTS_CONFIG) stay out of it.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANTS_")}
        full_env = {**inherited, **FAST_ENV, **(env or {})}
        if model is not None:
            full_env["OLLAMA_BASE_URL"] = model if isinstance(model, str) else model.base_url
        with log.open("wb") as out:
            popen = subprocess.Popen(
                args,
                env=full_env,
                cwd=self.directory,  # no assistants.toml of the developer's
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        process = WorkerProcess(name, popen, log)
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in self.started:
            if process.alive():
                process.kill()


# --- runs ---------------------------------------------------------------------------------------


@dataclass
class Tracked:
    """A run the test created: its key (user message), tool rounds, and what was submitted."""

    key: str
    thread_id: str
    run_id: str
    rounds: int
    outputs: dict[int, str] = field(default_factory=dict)
    calls_at_submit: dict[int, int] = field(default_factory=dict)

    def expected_text(self, fake: FakeModel) -> str:
        return answer(self.key, [self.outputs[r] for r in range(self.rounds)], fake.chunks)


async def make_assistant(client: AsyncClient, *, tools: bool) -> str:
    assistant = await client.assistants.create(model=MODEL, tools=[LOOKUP_TOOL] if tools else [])
    return assistant.id


def run_key(key: str, rounds: int = 0) -> str:
    """The user message (and the fake model's key) of a run queued by `queue_run`."""
    return f"{key} rounds={rounds}" if rounds else key


async def queue_run(
    client: AsyncClient, assistant_id: str, key: str, *, rounds: int = 0
) -> Tracked:
    """A thread with the user message `key` and a queued run on it (tools if `rounds`)."""
    text = run_key(key, rounds)
    thread = await client.threads.create(messages=[{"role": "user", "content": text}])
    run = await client.threads.runs.create(
        thread.id, assistant_id=assistant_id, tools=[LOOKUP_TOOL] if rounds else []
    )
    return Tracked(text, thread.id, run.id, rounds)


async def status(store: Store, run_id: str) -> str:
    value = await store.runs.status(run_id)
    assert value is not None
    return value


async def wait_status(
    client: AsyncClient, run_id: str, wanted: tuple[str, ...], timeout: float = 30.0
) -> str:
    """Bounded polling of the database until the run is in one of `wanted`."""
    store = await client.store()
    current = ""

    async def reached() -> bool:
        nonlocal current
        current = await status(store, run_id)
        return current in wanted

    await until(reached, timeout=timeout)
    return current


async def wait_for(client: AsyncClient, sql: str, params: dict[str, Any], at_least: int) -> None:
    """Bounded polling until `sql` (a `SELECT count(*) AS n`) reaches `at_least`."""
    store = await client.store()

    async def enough() -> bool:
        row = await store.db.fetchrow(sql, params)
        return row is not None and int(row["n"]) >= at_least

    await until(enough)


async def submit_outputs(client: AsyncClient, fake: FakeModel, run: Tracked) -> None:
    """Submit the outputs the paused run asks for; remember each round's calls at that time."""
    store = await client.store()
    row = await store.runs.row(run.run_id)
    assert row is not None
    required = json.loads(row["required_action"])
    outputs = []
    for call in required["submit_tool_outputs"]["tool_calls"]:
        arguments = json.loads(call["function"]["arguments"])
        assert arguments["key"] == run.key
        round_ = int(arguments["round"])
        run.outputs[round_] = tool_output(run.key, round_)
        run.calls_at_submit[round_] = fake.calls(run.key, round_)
        outputs.append({"tool_call_id": call["id"], "output": run.outputs[round_]})
    await client.threads.runs.submit_tool_outputs(
        run.run_id, thread_id=run.thread_id, tool_outputs=outputs
    )


async def drive(client: AsyncClient, fake: FakeModel, runs: list[Tracked], timeout: float) -> None:
    """Play the application until every run is terminal: submit outputs whenever one pauses."""
    store = await client.store()
    pending = {r.run_id: r for r in runs}

    async def done() -> bool:
        for run_id, run in list(pending.items()):
            current = await status(store, run_id)
            if current == "requires_action":
                await submit_outputs(client, fake, run)
            elif current in TERMINAL:
                del pending[run_id]
        return not pending

    await until(done, timeout=timeout)


# --- invariants ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a verified run went through: claims (per round) and model calls (per round)."""

    claims: list[int]
    calls: list[int]

    @property
    def interrupted(self) -> bool:
        return sum(self.claims) > len(self.claims)


async def verify(client: AsyncClient, fake: FakeModel, run: Tracked) -> Outcome:
    """Check `run` against the invariants of the module docstring; return what it took."""
    store = await client.store()
    row = await store.runs.row(run.run_id)
    assert row is not None
    context = f"run {run.run_id} ({run.key!r})"
    assert row["status"] == "completed", f"{context}: {row['status']} {row['last_error']}"
    assert row["worker_id"] is None

    events = await store.log.read_events(run.run_id, limit=100_000)
    names = [e.event for e in events]
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), context
    assert sum(n in TERMINAL_EVENTS for n in names) == 1, f"{context}: {names}"
    assert names[-1] == "thread.run.completed", f"{context}: {names[-3:]}"

    # Claims per round: a round ends when the run pauses for tool outputs.
    claims = [0]
    for name in names:
        if name == "thread.run.in_progress":
            claims[-1] += 1
        elif name == "thread.run.requires_action":
            claims.append(0)
    assert len(claims) == run.rounds + 1, f"{context}: {names}"

    messages = (await client.threads.messages.list(run.thread_id, limit=100)).data
    own = [m for m in messages if m.run_id == run.run_id]
    assert [m.role for m in messages if m.run_id != run.run_id] == ["user"], context
    assert len(own) == 1, f"{context}: {len(own)} assistant messages"
    [message] = own
    assert message.role == "assistant"
    assert message.status == "completed", context
    text = message.content[0].text.value  # type: ignore[union-attr]
    assert text == run.expected_text(fake), f"{context}: {text!r}"
    for round_ in range(run.rounds):
        assert run.outputs[round_] in text  # no tool output lost

    steps = (await client.threads.runs.steps.list(run.run_id, thread_id=run.thread_id)).data
    steps = sorted(steps, key=lambda s: s.created_at)
    assert [s.status for s in steps] == ["completed"] * (run.rounds + 1), f"{context}: {steps}"
    assert len({s.id for s in steps}) == len(steps)
    kinds = Counter(s.type for s in steps)
    assert kinds == Counter({"tool_calls": run.rounds, "message_creation": 1}), context
    tool_outputs = []
    for step in steps:
        details = step.step_details
        if details.type == "tool_calls":
            [call] = details.tool_calls
            assert call.type == "function"
            tool_outputs.append(call.function.output)
        else:
            assert details.message_creation.message_id == message.id
    assert sorted(o or "" for o in tool_outputs) == sorted(run.outputs.values()), context

    calls = [fake.calls(run.key, r) for r in range(run.rounds + 1)]
    for round_ in range(run.rounds):
        # The round's tool calls were persisted and answered: never asked for again.
        assert calls[round_] == run.calls_at_submit[round_], f"{context}: {calls} {run}"
    for round_, (n_calls, n_claims) in enumerate(zip(calls, claims, strict=True)):
        assert 1 <= n_calls <= n_claims, f"{context} round {round_}: {calls=} {claims=}"
    return Outcome(claims, calls)


def now() -> float:
    return time.monotonic()
