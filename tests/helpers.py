"""Small helpers the client-level tests share: SDK checks, error checks, row counts, a worker turn,
and a task that counts the turns the loop gives it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import pytest

from assistants import AsyncClient
from assistants.errors import APIError, BadRequestError, NotFoundError
from assistants.pagination import AsyncCursorPage, AsyncPaginator
from store.db import Database
from store.migrate import migrations
from store.statuses import RunStatus
from store.store import Store
from store.types import Model, Run
from tests.conftest import WEATHER_TOOL
from tests.sdk import sdk_validate

T = TypeVar("T")
M = TypeVar("M", bound=Model)

TEST_WORKER = "test-worker"


def ok(obj: T) -> T:
    """`obj`, once the openai SDK's model for its `object` type has accepted it."""
    sdk_validate(obj)
    return obj


async def page(listing: AsyncPaginator[M]) -> AsyncCursorPage[M]:
    """The first page of `listing`, every item checked against the SDK's model."""
    result = await listing
    for item in result.data:
        sdk_validate(item)
    return result


def ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


async def api_error(call: Callable[[], Awaitable[object]]) -> APIError:
    """The `APIError` that `call()` raises (the test fails if it raises none)."""
    with pytest.raises(APIError) as info:
        await call()
    err = info.value
    if err.status_code == 400:
        assert isinstance(err, BadRequestError)
    elif err.status_code == 404:
        assert isinstance(err, NotFoundError)
    return err


def error_fields(err: APIError) -> tuple[int, str, str | None, str | None]:
    """What a client sees of an error: status, message, param, code."""
    return (err.status_code, err.message, err.param, err.code)


async def count_rows(client: AsyncClient, table: str, where: str = "", **params: Any) -> int:
    """How many rows `table` holds (optionally matching `where`), read straight from the store."""
    store = await client.store()
    clause = f" WHERE {where}" if where else ""
    row = await store.db.fetchrow(f"SELECT COUNT(*) AS n FROM {table}{clause}", params)
    assert row is not None
    return int(row["n"])


TEXT = [{"type": "text", "text": {"value": "Hi.", "annotations": []}}]
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


async def open_message(store: Store, run: Any, worker: str = TEST_WORKER) -> tuple[str, str]:
    """Open a `message_creation` step and its message for a claimed run, as a worker does:
    `(step_id, message_id)`."""
    step, message, _ = await store.work.begin_step(
        run, worker, kind="message_creation", message=True
    )
    assert message is not None
    return str(step), str(message)


async def finish_message(
    store: Store,
    run_id: str,
    step_id: str,
    message_id: str,
    worker: str = TEST_WORKER,
    **options: Any,
) -> int:
    """`store.finish_message` with a worker's usual arguments (`TEXT`, `USAGE`, ending the run
    `completed`); `options` override them. Returns the run's last event sequence number."""
    arguments: dict[str, Any] = {
        "content": TEXT,
        "step_usage": USAGE,
        "run_usage": USAGE,
        "step_extensions": None,
        "end_run": RunStatus.COMPLETED,
        **options,
    }
    return await store.work.finish_message(
        run_id, worker, step_id=step_id, message_id=message_id, **arguments
    )


async def complete_with_message(client: AsyncClient, text: str) -> tuple[str, str, str]:
    """Do what a worker does for a one-message turn, through the store's worker interface.

    Claims the (only) queued run, opens a `message_creation` step with its assistant message,
    writes `text` and completes the run. Returns `(run_id, step_id, message_id)`.
    """
    store = await client.store()
    (run,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
    step_id, message_id = await open_message(store, run)
    content = [{"type": "text", "text": {"value": text, "annotations": []}}]
    await finish_message(store, run.id, step_id, message_id, content=content)
    return str(run.id), step_id, message_id


async def apply_first_migration(db: Database) -> int:
    """Bring an empty database to migration 0001 only (what the first release created);
    returns its version."""
    first = migrations(db.dialect)[0]
    async with db.transaction() as tx:
        for statement in first.statements():
            await tx.execute(statement)
        await tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (:v, 0)",
            {"v": first.version},
        )
    return first.version


@dataclass(frozen=True)
class World:
    """One of everything: an assistant, a thread with one message, and a cancelled run on it.

    Each carries metadata `{"seed": "1"}`. The run is cancelled, so the thread accepts new
    messages and runs.
    """

    assistant_id: str
    thread_id: str
    message_id: str
    run_id: str


SEED = {"seed": "1"}


async def make_world(client: AsyncClient) -> World:
    assistant = await client.assistants.create(
        model="gpt-4o", instructions="Be brief.", tools=[WEATHER_TOOL], metadata=SEED
    )
    thread = await client.threads.create(
        messages=[{"role": "user", "content": "hi", "metadata": SEED}], metadata=SEED
    )
    (message,) = (await client.threads.messages.list(thread.id)).data
    run = await client.threads.runs.create(thread.id, assistant_id=assistant.id, metadata=SEED)
    await client.threads.runs.cancel(run.id, thread_id=thread.id)
    return World(assistant.id, thread.id, message.id, run.id)


async def snapshot(client: AsyncClient, w: World) -> dict[str, Any]:
    """Everything a rejected request could have written to: objects as listed, and row counts."""

    async def dump(listing: AsyncPaginator[Any]) -> list[dict[str, Any]]:
        return [item.to_dict() for item in (await listing).data]

    return {
        "assistants": await dump(client.assistants.list(limit=100)),
        "thread": (await client.threads.retrieve(w.thread_id)).to_dict(),
        "messages": await dump(client.threads.messages.list(w.thread_id, limit=100)),
        "runs": await dump(client.threads.runs.list(w.thread_id, limit=100)),
        "rows": {
            table: await count_rows(client, table)
            for table in ("assistants", "threads", "messages", "runs", "run_steps")
        },
    }


Expected = tuple[int, str, str | None, str | None]


def bad(message: str, param: str | None, code: str | None) -> Expected:
    """A 400 as the client sees it."""
    return (400, message, param, code)


async def rejected(
    client: AsyncClient, w: World, call: Callable[[], Awaitable[object]], expected: Expected
) -> None:
    """`call()` fails with exactly `expected` (status, message, param, code) and writes nothing."""
    before = await snapshot(client, w)
    err = await api_error(call)
    assert error_fields(err) == expected
    assert await snapshot(client, w) == before


async def tool_round_trip(
    client: AsyncClient,
    output: str = "sunny, 21C",
    *,
    prompt: str = "Weather in Paris?",
    **trace: Any,
) -> Run:
    """A completed run of the `test` model through one `get_weather` call and its `output`,
    created with the trace fields `trace` (through `extra_body`)."""
    assistant = await client.assistants.create(model="test", tools=[WEATHER_TOOL])
    thread = await client.threads.create(messages=[{"role": "user", "content": prompt}])
    run = await client.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, extra_body=dict(trace)
    )
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    run = await client.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": c.id, "output": output} for c in calls],
    )
    assert run.status == "completed"
    return run


@asynccontextmanager
async def other_task_turns() -> AsyncIterator[Callable[[], int]]:
    """Another task runs beside the body, taking every turn the loop gives it: the callable
    yielded says how many it has had so far (none while the body holds the loop)."""
    turns = 0
    done = anyio.Event()

    async def other_task() -> None:
        nonlocal turns
        while not done.is_set():
            await anyio.lowlevel.checkpoint()
            turns += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(other_task)
        await anyio.lowlevel.checkpoint()
        try:
            yield lambda: turns
        finally:
            done.set()
