"""SIGKILL a worker process at chosen points of runs; another worker finishes each run once.

One worker holds six runs, each stopped at a different point by the fake model, when it is
killed; a second worker then recovers them all (the points are independent, so one kill tests
them all at once):

- before the model call: the request reached the model, no byte of the answer came back;
- during the answer stream: two text deltas were sent and persisted (flush count 1);
- during a tool call's stream: the tool step is open, its arguments half sent;
- after tool outputs were submitted: the continuation's request reached the model;
- during the final answer after a tool round;
- right at the submit: outputs are submitted and the worker killed in the same breath.
"""

from __future__ import annotations

from assistants import AsyncClient
from tests.faults.fakemodel import FakeModel, Hold
from tests.faults.harness import (
    LEASE_SECONDS,
    Outcome,
    Tracked,
    Workers,
    drive,
    make_assistant,
    now,
    queue_run,
    run_key,
    submit_outputs,
    verify,
    wait_for,
    wait_status,
)

DELTAS = (
    "SELECT count(*) AS n FROM run_events WHERE run_id = :run_id AND event = 'thread.message.delta'"
)
OPEN_TOOL_STEP = (
    "SELECT count(*) AS n FROM run_steps WHERE run_id = :run_id AND type = 'tool_calls' "
    "AND status = 'in_progress'"
)


async def test_sigkill_at_each_point_of_a_run__another_worker_finishes_each_once(
    database_url: str, client: AsyncClient, fake_model: FakeModel, workers: Workers
) -> None:
    fake = fake_model
    assistant_id = await make_assistant(client, tools=False)
    victim = workers.start(database_url, fake)
    await victim.started()

    runs: dict[str, Tracked] = {}
    holds: list[Hold] = []

    async def point(name: str, rounds: int, round_: int, after_chunks: int) -> Tracked:
        # Armed before the run is queued: the worker may call the model at once.
        holds.append(fake.hold(run_key(name, rounds), round_, after_chunks=after_chunks))
        run = await queue_run(client, assistant_id, name, rounds=rounds)
        runs[name] = run
        return run

    await point("before-call", 0, 0, after_chunks=0)
    mid_stream = await point("mid-stream", 0, 0, after_chunks=2)
    mid_tool_call = await point("mid-tool-call", 1, 0, after_chunks=2)
    after_submit = await point("after-submit", 1, 1, after_chunks=0)
    final_stream = await point("final-stream", 1, 1, after_chunks=2)
    at_submit = await queue_run(client, assistant_id, "at-submit", rounds=1)
    runs["at-submit"] = at_submit

    for run in (after_submit, final_stream, at_submit):
        await wait_status(client, run.run_id, ("requires_action",))
    for run in (after_submit, final_stream):
        await submit_outputs(client, fake, run)
    for hold in holds:
        await hold.wait()
    # The held points are reached at the model; make sure the worker persisted what it streamed.
    await wait_for(client, DELTAS, {"run_id": mid_stream.run_id}, at_least=2)
    await wait_for(client, DELTAS, {"run_id": final_stream.run_id}, at_least=2)
    await wait_for(client, OPEN_TOOL_STEP, {"run_id": mid_tool_call.run_id}, at_least=1)
    abandoned = (await client.threads.messages.list(mid_stream.thread_id)).data[0]
    assert abandoned.role == "assistant"
    assert abandoned.status == "in_progress"

    await submit_outputs(client, fake, at_submit)
    victim.kill()
    killed_at = now()
    fake.release_all()  # the dead worker's requests: their answers go nowhere

    rescuer = workers.start(database_url, fake)
    await drive(client, fake, list(runs.values()), timeout=30)
    recovered_in = now() - killed_at

    outcomes: dict[str, Outcome] = {}
    for name, run in runs.items():
        outcomes[name] = await verify(client, fake, run)
    assert outcomes["before-call"].calls == [2]
    assert outcomes["mid-stream"].calls == [2]
    assert outcomes["mid-tool-call"].calls == [2, 1]
    assert outcomes["after-submit"].calls == [1, 2]
    assert outcomes["final-stream"].calls == [1, 2]
    assert outcomes["at-submit"].calls[0] == 1
    assert outcomes["at-submit"].calls[1] in (1, 2)
    for name in ("before-call", "mid-stream", "mid-tool-call", "after-submit", "final-stream"):
        assert outcomes[name].interrupted, name

    # The half-streamed message was closed for live readers, then removed from the thread.
    store = await client.store()
    events = await store.log.read_events(mid_stream.run_id)
    incomplete = [e for e in events if e.event == "thread.message.incomplete"]
    assert [e.data["id"] for e in incomplete] == [abandoned.id]
    thread_messages = (await client.threads.messages.list(mid_stream.thread_id)).data
    assert abandoned.id not in [m.id for m in thread_messages]
    # The answer's deltas, as a stream reader reassembles them, are the answer once.
    [done] = [e for e in events if e.event == "thread.message.completed"]
    deltas = [
        e.data["delta"]["content"][0]["text"]["value"]
        for e in events
        if e.event == "thread.message.delta" and e.data["id"] == done.data["id"]
    ]
    assert "".join(deltas) == mid_stream.expected_text(fake)

    # Recovery: the lease lapses (1 s), a sweep re-queues, the new worker (started after the
    # kill, so its start-up is included) claims and runs every round left.
    assert recovered_in < LEASE_SECONDS + 10, recovered_in
    assert rescuer.terminate() == 0, rescuer.log_tail()
