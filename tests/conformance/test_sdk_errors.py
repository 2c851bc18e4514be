"""CONTRACT §7: every state, lookup and validation error raises the SDK's matching exception
with OpenAI's wording, `code`, `param` and the request id; state conflicts are 400, never 409.

Runs meant to stay active are made on a server with no worker, where they stay `queued`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from tests.conformance.support import TIME, WEATHER, check_error, function_calls, serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai
    from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput


@dataclass
class Servers:
    idle: openai.OpenAI  # no worker: runs stay queued
    busy: openai.OpenAI  # with a worker and the `test` model


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("errors")
    with serve(root, worker=False, name="idle.db") as idle, serve(root, name="busy.db") as busy:
        a, b = idle.sdk(), busy.sdk()
        try:
            yield Servers(a, b)
        finally:
            a.close()
            b.close()


@pytest.fixture(scope="module")
def busy_server(servers: Servers) -> openai.OpenAI:
    return servers.busy


def raises(kind: type[openai.APIStatusError], call: Callable[[], Any]) -> openai.APIStatusError:
    """The exception `call()` raises, which must be exactly of class `kind`."""
    with pytest.raises(openai.APIStatusError) as info:
        call()
    exc = info.value
    assert type(exc) is kind, f"{type(exc).__name__}: {exc}"
    assert exc.request_id == exc.response.headers["x-request-id"]
    return exc


def active_run(client: openai.OpenAI) -> tuple[str, str, str]:
    """(assistant, thread, run) with the run queued on a worker-less server."""
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert run.status == "queued"
    return assistant.id, thread.id, run.id


# --- state conflicts (400, never 409) ---------------------------------------------------------


def test_add_message_while_run_active(servers: Servers) -> None:
    """A message added under a queued run: 400 "Can't add messages to ... while a run ... is active."."""
    client = servers.idle
    _, thread, run = active_run(client)
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.messages.create(thread, role="user", content="more"),
    )
    check_error(exc, 400, f"Can't add messages to {thread} while a run {run} is active.")


def test_second_run_on_a_busy_thread(servers: Servers) -> None:
    """A second run on the thread: 400 "Thread ... already has an active run ...", also via stream."""
    client = servers.idle
    assistant, thread, run = active_run(client)
    message = f"Thread {thread} already has an active run {run}."
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.runs.create(thread, assistant_id=assistant),
    )
    check_error(exc, 400, message)
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.runs.create(thread, assistant_id=assistant, stream=True),
    )
    check_error(exc, 400, message)
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.runs.create_and_poll(thread_id=thread, assistant_id=assistant),
    )
    check_error(exc, 400, message)


def test_submit_on_a_queued_run(servers: Servers) -> None:
    """Tool outputs for a run not paused: 400 `Runs in status "queued" do not accept tool outputs.`."""
    client = servers.idle
    _, thread, run = active_run(client)
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.runs.submit_tool_outputs(
            run, thread_id=thread, tool_outputs=[{"tool_call_id": "call_x", "output": "1"}]
        ),
    )
    check_error(exc, 400, 'Runs in status "queued" do not accept tool outputs.')


def test_submit_on_a_completed_run(busy_server: openai.OpenAI) -> None:
    """Tool outputs for a completed run: 400 `Runs in status "completed" ...`."""
    client = busy_server
    assistant = client.beta.assistants.create(model="test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_x", "output": "1"}]
        ),
    )
    check_error(exc, 400, 'Runs in status "completed" do not accept tool outputs.')
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.runs.cancel(run.id, thread_id=thread.id),
    )
    check_error(exc, 400, "Cannot cancel run with status 'completed'.")


def test_submit_with_missing_or_unknown_call_ids(busy_server: openai.OpenAI) -> None:
    """Outputs for too few or unknown calls: 400 "Expected tool outputs for call_ids [...], got [...]"."""
    client = busy_server
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER, TIME])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "get_weather and get_time"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    a, b = (c.id for c in function_calls(run))
    submit = client.beta.threads.runs.submit_tool_outputs

    exc = raises(
        openai.BadRequestError,
        lambda: submit(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": a, "output": "x"}]
        ),
    )
    check_error(
        exc,
        400,
        f"Expected tool outputs for call_ids ['{a}', '{b}'], got ['{a}']",
        check_code=False,
    )
    outputs: list[ToolOutput] = [
        {"tool_call_id": a, "output": "x"},
        {"tool_call_id": "call_bogus", "output": "y"},
    ]
    exc = raises(
        openai.BadRequestError,
        lambda: submit(run.id, thread_id=thread.id, tool_outputs=outputs),
    )
    check_error(
        exc,
        400,
        f"Expected tool outputs for call_ids ['{a}', '{b}'], got ['{a}', 'call_bogus']",
        check_code=False,
    )
    # Refused submits change nothing: the run still waits, and a complete submit goes through.
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == (
        "requires_action"
    )
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": b, "output": "2"}, {"tool_call_id": a, "output": "1"}],
    )
    assert done.status == "completed"


def test_cancel_of_a_cancelled_run(servers: Servers) -> None:
    """Cancelling twice: the second is a 400 "Cannot cancel run with status 'cancelled'."."""
    client = servers.idle
    _, thread, run = active_run(client)
    client.beta.threads.runs.cancel(run, thread_id=thread)
    assert client.beta.threads.runs.poll(run, thread).status == "cancelled"
    exc = raises(
        openai.BadRequestError, lambda: client.beta.threads.runs.cancel(run, thread_id=thread)
    )
    check_error(exc, 400, "Cannot cancel run with status 'cancelled'.")


def test_conflicts_are_not_retried(servers: Servers) -> None:
    """With the SDK's default retries on, a conflict is still one request answered with 400."""
    client = servers.idle.with_options(max_retries=2)
    assistant, thread, _ = active_run(client)
    raw = client.beta.threads.runs.with_raw_response
    with pytest.raises(openai.BadRequestError) as info:
        raw.create(thread, assistant_id=assistant)
    assert info.value.status_code == 400
    assert info.value.response.request.headers["x-stainless-retry-count"] == "0"


# --- lookups ----------------------------------------------------------------------------------


def test_unknown_ids_are_404(servers: Servers) -> None:
    """Unknown ids of every kind: 404 "No <kind> found with id '<id>'."."""
    client = servers.idle
    assistant, thread, run = active_run(client)
    cases: list[tuple[str, Callable[[], Any]]] = [
        (
            "No assistant found with id 'asst_nope'.",
            lambda: client.beta.assistants.retrieve("asst_nope"),
        ),
        (
            "No assistant found with id 'asst_nope'.",
            lambda: client.beta.assistants.delete("asst_nope"),
        ),
        (
            "No thread found with id 'thread_nope'.",
            lambda: client.beta.threads.retrieve("thread_nope"),
        ),
        (
            "No thread found with id 'thread_nope'.",
            lambda: client.beta.threads.messages.list("thread_nope"),
        ),
        (
            "No message found with id 'msg_nope'.",
            lambda: client.beta.threads.messages.retrieve("msg_nope", thread_id=thread),
        ),
        (
            "No run found with id 'run_nope'.",
            lambda: client.beta.threads.runs.retrieve("run_nope", thread_id=thread),
        ),
        (
            "No run found with id 'run_nope'.",
            lambda: client.beta.threads.runs.cancel("run_nope", thread_id=thread),
        ),
        (
            "No run step found with id 'step_nope'.",
            lambda: client.beta.threads.runs.steps.retrieve(
                "step_nope", thread_id=thread, run_id=run
            ),
        ),
        (
            "No assistant found with id 'asst_nope'.",
            lambda: client.beta.threads.create_and_run(assistant_id="asst_nope"),
        ),
    ]
    for message, call in cases:
        exc = raises(openai.NotFoundError, call)
        check_error(exc, 404, message)
    assert assistant


def test_malformed_ids_are_400(servers: Servers) -> None:
    """Ids without their prefix: 400 "Invalid '<param>': '<id>'. Expected an ID that begins with ..."."""
    client = servers.idle
    thread = client.beta.threads.create().id
    cases: list[tuple[str, str, Callable[[], Any]]] = [
        ("thread_id", "thread", lambda: client.beta.threads.retrieve("undefined")),
        ("assistant_id", "asst", lambda: client.beta.assistants.retrieve("undefined")),
        (
            "assistant_id",
            "asst",
            lambda: client.beta.threads.runs.create(thread, assistant_id="undefined"),
        ),
        (
            "message_id",
            "msg",
            lambda: client.beta.threads.messages.retrieve("undefined", thread_id=thread),
        ),
        ("run_id", "run", lambda: client.beta.threads.runs.retrieve("undefined", thread_id=thread)),
    ]
    for param, prefix, call in cases:
        exc = raises(openai.BadRequestError, call)
        check_error(
            exc,
            400,
            f"Invalid '{param}': 'undefined'. Expected an ID that begins with '{prefix}'.",
            code="invalid_value",
            param=param,
        )


# --- validation -------------------------------------------------------------------------------


def test_metadata_limits(servers: Servers) -> None:
    """Metadata over 16 pairs, 64-character keys or 512-character values: OpenAI's 400s."""
    create = servers.idle.beta.assistants.create
    exc = raises(
        openai.BadRequestError,
        lambda: create(model="test", metadata={f"k{i}": "v" for i in range(17)}),
    )
    check_error(
        exc,
        400,
        "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, "
        "but got an object with 17 properties instead.",
        code="object_above_max_properties",
        param="metadata",
    )
    key = "k" * 65
    exc = raises(openai.BadRequestError, lambda: create(model="test", metadata={key: "v"}))
    check_error(
        exc,
        400,
        f"Invalid property name in 'metadata': '{key}' is too long. Expected a string with "
        "maximum length 64, but got a string with length 65 instead.",
        code="property_name_above_max_length",
        param=f"metadata.{key}",
    )
    exc = raises(openai.BadRequestError, lambda: create(model="test", metadata={"note": "v" * 513}))
    check_error(
        exc,
        400,
        "Invalid 'metadata.note': string too long. Expected a string with maximum length 512, "
        "but got a string with length 513 instead.",
        code="string_above_max_length",
        param="metadata.note",
    )
    thread = servers.idle.beta.threads.create().id
    exc = raises(
        openai.BadRequestError,
        lambda: servers.idle.beta.threads.update(
            thread, metadata={f"k{i}": "v" for i in range(17)}
        ),
    )
    assert exc.code == "object_above_max_properties"


def test_number_ranges(servers: Servers) -> None:
    """temperature outside 0-2 and top_p outside 0-1 are 400s naming the parameter."""
    client = servers.idle
    cases: list[tuple[dict[str, Any], str]] = [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
    ]
    for kwargs, param in cases:
        exc = raises(
            openai.BadRequestError, partial(client.beta.assistants.create, model="test", **kwargs)
        )
        assert exc.status_code == 400
        assert exc.param == param
        assert exc.body is not None
        assert isinstance(exc.body, dict)
        assert f"Invalid '{param}'" in exc.body["message"]
    assistant = client.beta.assistants.create(model="test").id
    thread = client.beta.threads.create().id
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.runs.create(thread, assistant_id=assistant, temperature=3),
    )
    assert (exc.param, exc.code) == ("temperature", "decimal_above_max_value")


def test_token_budgets_below_256(servers: Servers) -> None:
    """max_prompt_tokens / max_completion_tokens under 256: "integer below minimum value"."""
    client = servers.idle
    assistant = client.beta.assistants.create(model="test").id
    thread = client.beta.threads.create().id
    for param in ("max_prompt_tokens", "max_completion_tokens"):
        budget: dict[str, Any] = {param: 255}
        exc = raises(
            openai.BadRequestError,
            partial(client.beta.threads.runs.create, thread, assistant_id=assistant, **budget),
        )
        check_error(
            exc,
            400,
            f"Invalid '{param}': integer below minimum value. Expected a value >= 256, "
            "but got 255 instead.",
            code="integer_below_min_value",
            param=param,
        )
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.create_and_run(assistant_id=assistant, max_completion_tokens=1),
    )
    assert (exc.param, exc.code) == ("max_completion_tokens", "integer_below_min_value")
    # Nothing was created by the refused requests: the thread takes a run at once.
    assert client.beta.threads.runs.create(thread, assistant_id=assistant).status == "queued"


def test_list_limit_out_of_range(servers: Servers) -> None:
    """`limit` must be 1-100."""
    for limit in (0, 101):
        exc = raises(
            openai.BadRequestError, partial(servers.idle.beta.assistants.list, limit=limit)
        )
        assert exc.param == "limit"


def test_empty_message_content(servers: Servers) -> None:
    """A message with an empty parts array is refused."""
    client = servers.idle
    thread = client.beta.threads.create().id
    exc = raises(
        openai.BadRequestError,
        lambda: client.beta.threads.messages.create(thread, role="user", content=[]),
    )
    assert exc.param == "content"
    assert exc.code == "empty_array"
