"""The Postgres one-statement writes (`store.pg`) are twins of `store.work`'s general
transactions: the same worker turns through either leave the same rows and the same event log.

The contract runs on every backend: on SQLite the store has only the general path, on Postgres
the store's own `work` (which takes the twins) is compared with a `WorkPart` without them.
"""

from __future__ import annotations

import re
from typing import Any

from assistants import AsyncClient
from store.statuses import RunStatus
from store.store import Store
from store.work import WorkPart
from tests.conftest import WEATHER_TOOL
from tests.helpers import TEST_WORKER, TEXT, USAGE

_ID = re.compile(r"^(run|step|msg|thread|asst|call|sp|tr)_\w+$")


def _shape(value: Any, key: str = "") -> Any:
    """`value` with ids and times replaced by what they are: comparable across runs."""
    if isinstance(value, dict):
        return {k: _shape(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shape(v) for v in value]
    if key.endswith("_at") and isinstance(value, int):
        return "<time>"
    if isinstance(value, str) and _ID.match(value):
        return value.split("_", 1)[0] + "_<id>"
    return value


async def _turns(client: AsyncClient, store: Store, work: WorkPart) -> list[Any]:
    """A text turn with deltas that completes its run, and a tool turn that pauses its run:
    each run's event log and final rows, shaped."""
    assistant = await client.assistants.create(model="test", tools=[WEATHER_TOOL])
    shaped: list[Any] = []
    for tools in (False, True):
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = await client.threads.runs.create(thread.id, assistant_id=assistant.id)
        (claimed,) = await store.claims.claim(TEST_WORKER, limit=1, lease_seconds=60)
        kind = "tool_calls" if tools else "message_creation"
        step, message, _ = await work.begin_step(claimed, TEST_WORKER, kind=kind, message=not tools)
        if message is None:
            function = {"name": "get_weather", "arguments": "{}", "output": None}
            call = {"id": "call_1", "type": "function", "function": function}
            await work.pause_for_tools(
                run.id,
                TEST_WORKER,
                step_id=step,
                tool_calls=[call],
                step_usage=USAGE,
                run_usage=USAGE,
                step_extensions={"model": "test"},
                paused=RunStatus.REQUIRES_ACTION,
                allowed=(RunStatus.IN_PROGRESS,),
            )
        else:
            delta = {"id": message, "object": "thread.message.delta", "delta": {}}
            await work.append_events(run.id, TEST_WORKER, [("thread.message.delta", delta)])
            await work.finish_message(
                run.id,
                TEST_WORKER,
                step_id=step,
                message_id=message,
                content=TEXT,
                step_usage=USAGE,
                run_usage=USAGE,
                step_extensions={"model": "test"},
                end_run=RunStatus.COMPLETED,
            )
        events = await store.log.read_events(run.id)
        final = await client.threads.runs.retrieve(run.id, thread_id=thread.id)
        steps = await client.threads.runs.steps.list(run.id, thread_id=thread.id)
        messages = await client.threads.messages.list(thread.id)
        shaped.append(
            _shape(
                {
                    "events": [(e.seq, e.event, e.data) for e in events],
                    "run": final.to_dict(),
                    "steps": [s.to_dict() for s in steps.data],
                    "messages": [m.to_dict() for m in messages.data],
                }
            )
        )
    return shaped


async def test_pg_twin__same_rows_and_events_as_the_general_path(client: AsyncClient) -> None:
    """A text turn and a tool turn through the store's `work` (the twins on Postgres) and
    through a `WorkPart` without twins leave identical logs and objects, on every backend."""
    store = await client.store()
    general = WorkPart(store.db, store.log, store.transitions, None)
    assert (store.work.pg is not None) == (store.db.dialect == "postgresql")
    twin = await _turns(client, store, store.work)
    reference = await _turns(client, store, general)
    assert twin == reference
    text, tool = reference
    assert [e[1] for e in text["events"]][-4:] == [
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    assert tool["run"]["status"] == "requires_action"
    assert tool["events"][-1][1] == "thread.run.requires_action"
