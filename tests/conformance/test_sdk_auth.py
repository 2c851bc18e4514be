"""API keys: 401s in OpenAI's shape, and isolation between projects on every route.

Keys `key-a` and `key-b` have projects of their own; `team-1` and `team-2` share the project
`team`. Another project's objects are 404s (never 403s) and never appear in lists.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conformance.conftest import LiveServer
from tests.conformance.support import WEATHER, check_error, echo_outputs, serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

KEYS = ["key-a", "key-b", "team-1=team", "team-2=team"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("auth"), keys=KEYS) as live:
        yield live


@dataclass
class Owned:
    """Objects of key-a's project: a finished tool run with its steps, and a paused run."""

    assistant: str
    thread: str
    message: str
    run: str
    step: str
    paused_thread: str
    paused_run: str
    call: str


@pytest.fixture(scope="module")
def owned(server: LiveServer) -> Iterator[Owned]:
    with server.sdk("key-a") as a:
        yield make_owned(a)


def make_owned(a: openai.OpenAI) -> Owned:
    assistant = a.beta.assistants.create(model="test", tools=[WEATHER], metadata={"o": "a"}).id
    thread = a.beta.threads.create(messages=[{"role": "user", "content": "get_weather"}]).id
    message = a.beta.threads.messages.list(thread).data[0].id
    run = a.beta.threads.runs.create_and_poll(thread_id=thread, assistant_id=assistant)
    run = a.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread, tool_outputs=echo_outputs(run)
    )
    assert run.status == "completed"
    step = a.beta.threads.runs.steps.list(run.id, thread_id=thread).data[0].id
    paused = a.beta.threads.create_and_run_poll(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": "get_weather"}]}
    )
    assert paused.required_action is not None
    call = paused.required_action.submit_tool_outputs.tool_calls[0].id
    return Owned(assistant, thread, message, run.id, step, paused.thread_id, paused.id, call)


def test_missing_authorization_is_401(server: LiveServer) -> None:
    """No Authorization header: `AuthenticationError`, OpenAI's "You didn't provide an API key"."""
    with server.sdk("key-a") as sdk, pytest.raises(openai.AuthenticationError) as info:
        sdk.beta.assistants.list(extra_headers={"Authorization": openai.Omit()})
    assert info.value.status_code == 401
    assert info.value.code == "missing_api_key"
    assert isinstance(info.value.body, dict)
    assert info.value.body["message"].startswith("You didn't provide an API key.")
    assert info.value.request_id is not None
    response = httpx.get(f"{server.base_url}/assistants")
    assert response.status_code == 401
    assert response.headers["x-request-id"].startswith("req_")
    assert response.json()["error"]["code"] == "missing_api_key"


def test_wrong_key_is_401(server: LiveServer) -> None:
    """An unknown key: `AuthenticationError` "Incorrect API key provided: ..." without echoing it."""
    with (
        server.sdk("sk-not-a-real-key-1234") as sdk,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        sdk.beta.threads.create()
    exc = info.value
    assert isinstance(exc.body, dict)
    message = exc.body["message"]
    assert message.startswith("Incorrect API key provided: sk-")
    assert message.endswith("1234.")
    assert "not-a-real" not in message
    check_error(exc, 401, message, code="invalid_api_key")


@pytest.mark.parametrize(
    "header", ["Basic a2V5LWE6", "Bearer", "key-a", "Token key-a", "Bearer key-a key-b"]
)
def test_malformed_authorization_is_401(server: LiveServer, header: str) -> None:
    """Authorization headers that are not `Bearer <key>` are 401s in OpenAI's shape."""
    response = httpx.get(f"{server.base_url}/assistants", headers={"Authorization": header})
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"


def test_scheme_is_case_insensitive(server: LiveServer) -> None:
    """`bearer key-a` is as good as `Bearer key-a`."""
    response = httpx.get(f"{server.base_url}/assistants", headers={"Authorization": "bearer key-a"})
    assert response.status_code == 200


def test_health_needs_no_key(server: LiveServer) -> None:
    """/health is outside /v1 and answers without credentials."""
    assert httpx.get(f"http://127.0.0.1:{server.port}/health").status_code == 200


def cross_project_calls(b: openai.OpenAI, o: Owned) -> list[tuple[str, Callable[[], Any]]]:
    """Every route, aimed by key-b at key-a's objects."""
    assistants, threads = b.beta.assistants, b.beta.threads
    messages, runs, steps = threads.messages, threads.runs, threads.runs.steps
    return [
        ("assistants.retrieve", lambda: assistants.retrieve(o.assistant)),
        ("assistants.update", lambda: assistants.update(o.assistant, name="stolen")),
        ("assistants.delete", lambda: assistants.delete(o.assistant)),
        ("threads.retrieve", lambda: threads.retrieve(o.thread)),
        ("threads.update", lambda: threads.update(o.thread, metadata={"x": "y"})),
        ("threads.delete", lambda: threads.delete(o.thread)),
        ("threads.create_and_run", lambda: threads.create_and_run(assistant_id=o.assistant)),
        ("messages.list", lambda: messages.list(o.thread)),
        ("messages.create", lambda: messages.create(o.thread, role="user", content="x")),
        ("messages.retrieve", lambda: messages.retrieve(o.message, thread_id=o.thread)),
        (
            "messages.update",
            lambda: messages.update(o.message, thread_id=o.thread, metadata={"x": "y"}),
        ),
        ("messages.delete", lambda: messages.delete(o.message, thread_id=o.thread)),
        ("runs.create", lambda: runs.create(o.thread, assistant_id=o.assistant)),
        (
            "runs.create(stream)",
            lambda: runs.create(o.thread, assistant_id=o.assistant, stream=True),
        ),
        ("runs.list", lambda: runs.list(o.thread)),
        ("runs.retrieve", lambda: runs.retrieve(o.run, thread_id=o.thread)),
        ("runs.poll", lambda: runs.poll(o.paused_run, o.paused_thread)),
        ("runs.update", lambda: runs.update(o.run, thread_id=o.thread, metadata={"x": "y"})),
        ("runs.cancel", lambda: runs.cancel(o.paused_run, thread_id=o.paused_thread)),
        (
            "runs.submit_tool_outputs",
            lambda: runs.submit_tool_outputs(
                o.paused_run,
                thread_id=o.paused_thread,
                tool_outputs=[{"tool_call_id": o.call, "output": "stolen"}],
            ),
        ),
        ("steps.list", lambda: steps.list(o.run, thread_id=o.thread)),
        ("steps.retrieve", lambda: steps.retrieve(o.step, thread_id=o.thread, run_id=o.run)),
    ]


@pytest.mark.parametrize("key", ["key-b", "team-1"])
def test_other_projects_get_404_on_every_route(server: LiveServer, owned: Owned, key: str) -> None:
    """key-a's objects are 404 to other keys on every route, and nothing of them changes."""
    with server.sdk(key) as b:
        for name, call in cross_project_calls(b, owned):
            with pytest.raises(openai.NotFoundError) as info:
                call()
            assert info.value.status_code == 404, name
            assert isinstance(info.value.body, dict)
            assert info.value.body["message"].startswith("No "), name
        # Lists of the other project do not show them either.
        assert owned.assistant not in [x.id for x in b.beta.assistants.list(limit=100)]
    events = httpx.get(
        f"{server.base_url}/threads/{owned.thread}/runs/{owned.run}/events",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert events.status_code == 404

    # The owner still sees everything exactly as it was.
    with server.sdk("key-a") as a:
        check_untouched(a, owned)


def check_untouched(a: openai.OpenAI, owned: Owned) -> None:
    assistant = a.beta.assistants.retrieve(owned.assistant)
    assert (assistant.name, assistant.metadata) == (None, {"o": "a"})
    assert a.beta.threads.retrieve(owned.thread).metadata == {}
    assert [m.id for m in a.beta.threads.messages.list(owned.thread)][-1] == owned.message
    paused = a.beta.threads.runs.retrieve(owned.paused_run, thread_id=owned.paused_thread)
    assert paused.status == "requires_action"
    assert a.beta.threads.runs.retrieve(owned.run, thread_id=owned.thread).metadata == {}


def test_lists_are_per_project(server: LiveServer) -> None:
    """Each key lists only its project's assistants."""
    with server.sdk("key-a") as a, server.sdk("key-b") as b:
        check_lists(a, b)


def check_lists(a: openai.OpenAI, b: openai.OpenAI) -> None:
    mine = a.beta.assistants.create(model="test", name="a-only").id
    theirs = b.beta.assistants.create(model="test", name="b-only").id
    a_ids = {x.id for x in a.beta.assistants.list(limit=100)}
    b_ids = {x.id for x in b.beta.assistants.list(limit=100)}
    assert mine in a_ids
    assert mine not in b_ids
    assert theirs in b_ids
    assert theirs not in a_ids
    assert not a_ids & b_ids


def test_keys_of_one_project_share_objects(server: LiveServer) -> None:
    """`KEY=PROJECT` keys naming the same project see and change each other's objects."""
    with server.sdk("team-1") as one, server.sdk("team-2") as two:
        check_shared(one, two)


def check_shared(one: openai.OpenAI, two: openai.OpenAI) -> None:
    assistant = one.beta.assistants.create(model="test")
    thread = one.beta.threads.create(messages=[{"role": "user", "content": "shared"}])
    assert two.beta.assistants.retrieve(assistant.id).id == assistant.id
    run = two.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert one.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"
    assert assistant.id in [x.id for x in two.beta.assistants.list(limit=100)]
    assert two.beta.assistants.delete(assistant.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        one.beta.assistants.retrieve(assistant.id)


async def test_async_client_isolation(server: LiveServer, owned: Owned) -> None:
    """The async SDK gets the same 401 and 404 answers."""
    async with server.async_sdk("key-b") as b, server.async_sdk("wrong") as wrong:
        with pytest.raises(openai.NotFoundError):
            await b.beta.threads.retrieve(owned.thread)
        with pytest.raises(openai.AuthenticationError):
            await wrong.beta.assistants.list()
