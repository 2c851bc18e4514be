"""Request-level validation through the client: ids (unknown and malformed), list parameters,
`include`, unknown arguments and tool outputs (CONTRACT §3, §6, §7.3).

Every rejected request is also checked to have written nothing (`rejected`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from assistants import AsyncClient, BadRequestError
from tests.helpers import World, bad, ok, page, rejected

Call = Callable[[AsyncClient, World], Awaitable[Any]]
ALLOWED_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"


def not_found(kind: str, object_id: str) -> tuple[int, str, None, None]:
    return (404, f"No {kind} found with id '{object_id}'.", None, None)


# --- unknown ids: 404 ------------------------------------------------------------------------

UNKNOWN: dict[str, tuple[Call, str, str]] = {
    "retrieve_thread": (lambda c, w: c.threads.retrieve("thread_abc"), "thread", "thread_abc"),
    "update_thread": (
        lambda c, w: c.threads.update("thread_abc", metadata={"a": "b"}),
        "thread",
        "thread_abc",
    ),
    "delete_thread": (lambda c, w: c.threads.delete("thread_abc"), "thread", "thread_abc"),
    "create_message_in_thread": (
        lambda c, w: c.threads.messages.create("thread_abc", role="user", content="hi"),
        "thread",
        "thread_abc",
    ),
    "list_messages_of_thread": (
        lambda c, w: c.threads.messages.list("thread_abc"),
        "thread",
        "thread_abc",
    ),
    "retrieve_message_under_thread": (
        lambda c, w: c.threads.messages.retrieve(w.message_id, thread_id="thread_abc"),
        "thread",
        "thread_abc",
    ),
    "create_run_on_thread": (
        lambda c, w: c.threads.runs.create("thread_abc", assistant_id=w.assistant_id),
        "thread",
        "thread_abc",
    ),
    "list_runs_of_thread": (
        lambda c, w: c.threads.runs.list("thread_abc"),
        "thread",
        "thread_abc",
    ),
    "retrieve_assistant": (lambda c, w: c.assistants.retrieve("asst_abc"), "assistant", "asst_abc"),
    "update_assistant": (
        lambda c, w: c.assistants.update("asst_abc", name="x"),
        "assistant",
        "asst_abc",
    ),
    "delete_assistant": (lambda c, w: c.assistants.delete("asst_abc"), "assistant", "asst_abc"),
    "create_run_of_assistant": (
        lambda c, w: c.threads.runs.create(w.thread_id, assistant_id="asst_abc"),
        "assistant",
        "asst_abc",
    ),
    "create_and_run_of_assistant": (
        lambda c, w: c.threads.create_and_run(
            assistant_id="asst_abc", thread={"messages": [{"role": "user", "content": "hi"}]}
        ),
        "assistant",
        "asst_abc",
    ),
    "retrieve_message": (
        lambda c, w: c.threads.messages.retrieve("msg_abc", thread_id=w.thread_id),
        "message",
        "msg_abc",
    ),
    "update_message": (
        lambda c, w: c.threads.messages.update("msg_abc", thread_id=w.thread_id, metadata={}),
        "message",
        "msg_abc",
    ),
    "delete_message": (
        lambda c, w: c.threads.messages.delete("msg_abc", thread_id=w.thread_id),
        "message",
        "msg_abc",
    ),
    "retrieve_run": (
        lambda c, w: c.threads.runs.retrieve("run_abc", thread_id=w.thread_id),
        "run",
        "run_abc",
    ),
    "update_run": (
        lambda c, w: c.threads.runs.update("run_abc", thread_id=w.thread_id, metadata={}),
        "run",
        "run_abc",
    ),
    "cancel_run": (
        lambda c, w: c.threads.runs.cancel("run_abc", thread_id=w.thread_id),
        "run",
        "run_abc",
    ),
    "submit_tool_outputs": (
        lambda c, w: c.threads.runs.submit_tool_outputs(
            "run_abc", thread_id=w.thread_id, tool_outputs=[{"tool_call_id": "call_1"}]
        ),
        "run",
        "run_abc",
    ),
    "list_steps_of_run": (
        lambda c, w: c.threads.runs.steps.list("run_abc", thread_id=w.thread_id),
        "run",
        "run_abc",
    ),
}


@pytest.mark.parametrize("case", list(UNKNOWN))
async def test_unknown_id__is_404_naming_it(client: AsyncClient, world: World, case: str) -> None:
    """A well-formed id that names nothing: 404 "No <kind> found with id '<id>'."."""
    call, kind, object_id = UNKNOWN[case]
    await rejected(client, world, lambda: call(client, world), not_found(kind, object_id))


# --- malformed ids: 400 ----------------------------------------------------------------------

MALFORMED: dict[str, tuple[Call, str, str, str]] = {
    "retrieve_thread_undefined": (
        lambda c, w: c.threads.retrieve("undefined"),
        "thread_id",
        "undefined",
        "thread",
    ),
    "retrieve_thread_asst_id": (
        lambda c, w: c.threads.retrieve("asst_x"),
        "thread_id",
        "asst_x",
        "thread",
    ),
    "delete_thread": (
        lambda c, w: c.threads.delete("undefined"),
        "thread_id",
        "undefined",
        "thread",
    ),
    "create_message": (
        lambda c, w: c.threads.messages.create("asst_x", role="user", content="hi"),
        "thread_id",
        "asst_x",
        "thread",
    ),
    "list_messages": (
        lambda c, w: c.threads.messages.list("undefined"),
        "thread_id",
        "undefined",
        "thread",
    ),
    "create_run": (
        lambda c, w: c.threads.runs.create("asst_x", assistant_id=w.assistant_id),
        "thread_id",
        "asst_x",
        "thread",
    ),
    "create_run_assistant_id": (
        lambda c, w: c.threads.runs.create(w.thread_id, assistant_id="thread_x"),
        "assistant_id",
        "thread_x",
        "asst",
    ),
    "create_and_run_assistant_id": (
        lambda c, w: c.threads.create_and_run(assistant_id="undefined"),
        "assistant_id",
        "undefined",
        "asst",
    ),
    "retrieve_assistant": (
        lambda c, w: c.assistants.retrieve("undefined"),
        "assistant_id",
        "undefined",
        "asst",
    ),
    "retrieve_message": (
        lambda c, w: c.threads.messages.retrieve("run_x", thread_id=w.thread_id),
        "message_id",
        "run_x",
        "msg",
    ),
    "retrieve_run": (
        lambda c, w: c.threads.runs.retrieve("undefined", thread_id=w.thread_id),
        "run_id",
        "undefined",
        "run",
    ),
    "cancel_run": (
        lambda c, w: c.threads.runs.cancel("msg_x", thread_id=w.thread_id),
        "run_id",
        "msg_x",
        "run",
    ),
    "retrieve_step": (
        lambda c, w: c.threads.runs.steps.retrieve("msg_x", thread_id=w.thread_id, run_id=w.run_id),
        "step_id",
        "msg_x",
        "step",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_id__is_400_naming_the_prefix(
    client: AsyncClient, world: World, case: str
) -> None:
    """An id without its kind's prefix: 400 "Invalid '<param>': '<value>'. Expected an ID..."."""
    call, param, value, prefix = MALFORMED[case]
    await rejected(
        client,
        world,
        lambda: call(client, world),
        bad(
            f"Invalid '{param}': '{value}'. Expected an ID that begins with '{prefix}'.",
            param,
            "invalid_value",
        ),
    )


async def test_malformed_id__the_contract_example(client: AsyncClient, world: World) -> None:
    """The real API's example, verbatim: a thread id of "undefined"."""
    await rejected(
        client,
        world,
        lambda: client.threads.retrieve("undefined"),
        bad(
            "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'.",
            "thread_id",
            "invalid_value",
        ),
    )


# --- list parameters -------------------------------------------------------------------------

LISTS: dict[str, Callable[[AsyncClient, World, dict[str, Any]], Awaitable[Any]]] = {
    "assistants": lambda c, w, kw: c.assistants.list(**kw),
    "messages": lambda c, w, kw: c.threads.messages.list(w.thread_id, **kw),
    "runs": lambda c, w, kw: c.threads.runs.list(w.thread_id, **kw),
    "steps": lambda c, w, kw: c.threads.runs.steps.list(w.run_id, thread_id=w.thread_id, **kw),
}
list_targets = pytest.mark.parametrize("target", list(LISTS))


@list_targets
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {"limit": 0},
            bad(
                "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got 0 "
                "instead.",
                "limit",
                "integer_below_min_value",
            ),
            id="limit=0",
        ),
        pytest.param(
            {"limit": 101},
            bad(
                "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got "
                "101 instead.",
                "limit",
                "integer_above_max_value",
            ),
            id="limit=101",
        ),
        pytest.param(
            {"order": "up"},
            bad(
                "Invalid value: 'up'. Supported values are: 'asc' and 'desc'.",
                "order",
                "invalid_value",
            ),
            id="order=up",
        ),
    ],
)
async def test_list__rejects_bad_limit_and_order(
    client: AsyncClient,
    world: World,
    target: str,
    kwargs: dict[str, Any],
    expected: tuple[int, str, str, str],
) -> None:
    """`limit` outside 1-100 and an `order` other than asc/desc are refused."""
    await rejected(client, world, lambda: LISTS[target](client, world, kwargs), expected)


@list_targets
async def test_list__accepts_limit_1_and_100(
    client: AsyncClient, world: World, target: str
) -> None:
    """`limit` 1 and 100 and both orders are accepted."""
    cases: list[tuple[dict[str, Any], int]] = [
        ({"limit": 1}, 1),
        ({"limit": 100, "order": "asc"}, 100),
        ({"order": "desc"}, 20),
    ]
    for kwargs, most in cases:
        result = await LISTS[target](client, world, kwargs)
        assert len(result.data) <= most


# --- include ---------------------------------------------------------------------------------

INCLUDES: dict[str, Callable[[AsyncClient, World, list[str]], Awaitable[Any]]] = {
    "create_run": lambda c, w, inc: c.threads.runs.create(
        w.thread_id, assistant_id=w.assistant_id, include=inc
    ),
    "list_steps": lambda c, w, inc: c.threads.runs.steps.list(
        w.run_id, thread_id=w.thread_id, include=inc
    ),
}


@pytest.mark.parametrize("target", list(INCLUDES))
async def test_include__rejects_an_unknown_value(
    client: AsyncClient, world: World, target: str
) -> None:
    """`include[]` has one allowed value; anything else is refused, naming it."""
    await rejected(
        client,
        world,
        lambda: INCLUDES[target](client, world, [ALLOWED_INCLUDE, "step_details.secrets"]),
        bad(
            f"Invalid value: 'step_details.secrets'. Supported values are: '{ALLOWED_INCLUDE}'.",
            "include[1]",
            "invalid_value",
        ),
    )
    await INCLUDES[target](client, world, [ALLOWED_INCLUDE])


async def test_retrieve_step__rejects_an_unknown_include(client: AsyncClient, world: World) -> None:
    """steps.retrieve checks `include[]` too."""
    await rejected(
        client,
        world,
        lambda: client.threads.runs.steps.retrieve(
            "step_abc", thread_id=world.thread_id, run_id=world.run_id, include=["nope"]
        ),
        bad(
            f"Invalid value: 'nope'. Supported values are: '{ALLOWED_INCLUDE}'.",
            "include[0]",
            "invalid_value",
        ),
    )


# --- unknown arguments -----------------------------------------------------------------------

EXTRA_BODY: dict[str, Call] = {
    "create_assistant": lambda c, w: c.assistants.create(
        model="gpt-4o", extra_body={"unknown_field": 1}
    ),
    "update_assistant": lambda c, w: c.assistants.update(
        w.assistant_id, extra_body={"unknown_field": 1}
    ),
    "create_thread": lambda c, w: c.threads.create(extra_body={"unknown_field": 1}),
    "create_run": lambda c, w: c.threads.runs.create(
        w.thread_id, assistant_id=w.assistant_id, extra_body={"unknown_field": 1}
    ),
    "create_and_run": lambda c, w: c.threads.create_and_run(
        assistant_id=w.assistant_id, extra_body={"unknown_field": 1}
    ),
}


@pytest.mark.parametrize("target", list(EXTRA_BODY))
async def test_extra_body__rejects_an_unknown_field(
    client: AsyncClient, world: World, target: str
) -> None:
    """An unknown body field: "Unrecognized request argument supplied: <name>"."""
    await rejected(
        client,
        world,
        lambda: EXTRA_BODY[target](client, world),
        bad(
            "Unrecognized request argument supplied: unknown_field",
            "unknown_field",
            "unknown_parameter",
        ),
    )


async def test_extra_body__known_fields_are_merged(client: AsyncClient, world: World) -> None:
    """A known field sent through `extra_body` is applied like the keyword argument."""
    a = ok(await client.assistants.create(model="gpt-4o", extra_body={"name": "via extra"}))
    assert a.name == "via extra"


# --- tool outputs ----------------------------------------------------------------------------


async def test_submit_tool_outputs__rejects_a_missing_tool_call_id(
    client: AsyncClient, world: World
) -> None:
    """Each tool output needs its `tool_call_id`: `missing_required_parameter` with its index."""
    await rejected(
        client,
        world,
        lambda: client.threads.runs.submit_tool_outputs(
            world.run_id,
            thread_id=world.thread_id,
            tool_outputs=[{"tool_call_id": "call_1", "output": "1"}, {"output": "2"}],
        ),
        bad(
            "Missing required parameter: 'tool_outputs[1].tool_call_id'.",
            "tool_outputs[1].tool_call_id",
            "missing_required_parameter",
        ),
    )


async def test_rejected_requests__leave_the_lists_as_they_were(
    client: AsyncClient, world: World
) -> None:
    """After a run of rejected creates, each list still holds exactly the seeded objects."""
    for call in (
        lambda: client.assistants.create(model="gpt-4o", name="x" * 257),
        lambda: client.threads.create(messages=[{"role": "system", "content": "x"}]),
        lambda: client.threads.messages.create(world.thread_id, role="user", content=[]),
        lambda: client.threads.runs.create(
            world.thread_id, assistant_id=world.assistant_id, top_p=2
        ),
    ):
        with pytest.raises(BadRequestError, match="Invalid"):
            await call()
    assert [a.id for a in (await page(client.assistants.list())).data] == [world.assistant_id]
    assert [m.id for m in (await page(client.threads.messages.list(world.thread_id))).data] == [
        world.message_id
    ]
    assert [r.id for r in (await page(client.threads.runs.list(world.thread_id))).data] == [
        world.run_id
    ]
