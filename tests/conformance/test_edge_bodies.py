"""Hostile request bodies, paths and queries over real HTTP, on SQLite and Postgres: JSON too deep
to store or read back, numbers JSON columns cannot hold, NUL characters, oversized messages and
bodies, junk cursors. Each is a 400 (or 413) in OpenAI's shape, and nothing is half-written.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assistants import AsyncClient
from assistants.validation import JSON_DEPTH_MAX, MESSAGE_PARTS_MAX, THREAD_MESSAGES_MAX
from tests.conformance.conftest import LiveServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

JSON_HEADERS = {"content-type": "application/json", "OpenAI-Beta": "assistants=v2"}


@pytest.fixture(scope="module")
def server(any_database_url: str) -> Iterator[LiveServer]:
    client = AsyncClient(database_url=any_database_url, poll_seconds=0.05, sweep_seconds=0.05)
    with LiveServer(client) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=JSON_HEADERS, timeout=60) as client:
        yield client


def refused(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    """The inner error of an OpenAI-shaped refusal."""
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    return dict(error)


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` levels deep: {"a": {"a": ... {"a": 1}}}."""
    value: dict[str, Any] = {"a": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def function_tool(parameters: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "parameters": parameters}}


def assistant_ids(http: httpx.Client) -> list[str]:
    response = http.get("/assistants", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["data"]]


# --- depth ----------------------------------------------------------------------------------

# The body is level 1; `tools` 2, the tool 3, `function` 4, `parameters` 5.
PARAMETERS_LEVEL = 5


def test_deep_parameters__refused_naming_field_and_limit(http: httpx.Client) -> None:
    """A function schema past 64 levels of nesting is a 400 naming the field; nothing stored."""
    before = assistant_ids(http)
    too_deep = nested(JSON_DEPTH_MAX - PARAMETERS_LEVEL + 2)
    response = http.post("/assistants", json={"model": "test", "tools": [function_tool(too_deep)]})
    error = refused(response)
    assert error["param"] == "tools[0].function.parameters"
    assert error["code"] == "nesting_too_deep"
    assert "at most 64 levels" in error["message"]
    assert assistant_ids(http) == before


def test_depth_at_the_limit__stored_and_read_back(http: httpx.Client) -> None:
    """Exactly 64 levels is taken, and every read of it (retrieve, list) answers 200."""
    deepest = nested(JSON_DEPTH_MAX - PARAMETERS_LEVEL + 1)
    created = http.post("/assistants", json={"model": "test", "tools": [function_tool(deepest)]})
    assert created.status_code == 200, created.text
    retrieved = http.get(f"/assistants/{created.json()['id']}")
    assert retrieved.status_code == 200, retrieved.text
    assert retrieved.json()["tools"][0]["function"]["parameters"] == deepest
    assert created.json()["id"] in assistant_ids(http)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/assistants",
            {
                "model": "test",
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "s", "schema": nested(70)},
                },
            },
            "response_format.json_schema.schema.a",
        ),
        ("/threads", {"metadata": {"k": nested(70)}}, "metadata.k.a.a"),
        ("/threads", {"tool_resources": nested(70)}, "tool_resources.a.a.a"),
    ],
    ids=["response_format", "metadata", "tool_resources"],
)
def test_deep_json_anywhere__refused(
    http: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    """Nesting past the limit in any field is refused at the door, before any validation."""
    error = refused(http.post(path, json=body))
    assert error["code"] == "nesting_too_deep"
    assert error["param"] == param


def test_json_nested_thousands_of_levels__400_not_a_recursion_error(http: httpx.Client) -> None:
    """5,000 nested arrays (past the parser's recursion limit) are a 400, not a 500."""
    body = '{"model": "test", "metadata": ' + "[" * 5000 + "]" * 5000 + "}"
    error = refused(http.post("/assistants", content=body.encode()))
    assert error["code"] == "nesting_too_deep"
    assert error["param"] == "body"


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"model": "test", "temperature": ' + "1" * 5000 + "}",
        '{"model": "test", "tools": [{"type": "function", "function": {"name": "f", '
        '"parameters": {"maximum": ' + "9" * 4301 + "}}}]}",
        '{"model": "test", "tools": [{"type": "function", "function": {"name": "f", '
        '"parameters": {"maximum": 1e400}}}]}',
        '{"model": "test", "tools": [{"type": "function", "function": {"name": "f", '
        '"parameters": {"minimum": -1e400}}}]}',
    ],
    ids=["int-5000-digits", "int-4301-digits-in-schema", "1e400-in-schema", "-1e400-in-schema"],
)
def test_numbers_json_cannot_hold__400_nothing_stored(http: httpx.Client, body: str) -> None:
    """Integers past 4,300 digits and floats that overflow to infinity are 400s, not 500s."""
    before = assistant_ids(http)
    error = refused(http.post("/assistants", content=body.encode()))
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    assert error["code"] == "invalid_json"
    assert assistant_ids(http) == before


def test_integer_of_4300_digits__taken(http: httpx.Client) -> None:
    """4,300 digits is Python's limit, and still taken (and read back) in a function schema."""
    body = (
        '{"model": "test", "tools": [{"type": "function", "function": {"name": "f", '
        '"parameters": {"maximum": ' + "9" * 4300 + "}}}]}"
    )
    created = http.post("/assistants", content=body.encode())
    assert created.status_code == 200, created.text[:200]
    assert http.get(f"/assistants/{created.json()['id']}").status_code == 200


# --- NUL and text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/assistants", {"model": "test", "name": "a\u0000b"}, "name"),
        ("/assistants", {"model": "test", "instructions": "\u0000"}, "instructions"),
        ("/assistants", {"model": "test", "metadata": {"k": "v\u0000"}}, "metadata.k"),
        ("/assistants", {"model": "test", "metadata": {"k\u0000": "v"}}, "metadata"),
        (
            "/assistants",
            {"model": "test", "tools": [function_tool({"description": "x\u0000"})]},
            "tools[0].function.parameters.description",
        ),
        (
            "/threads",
            {"messages": [{"role": "user", "content": "hi\u0000"}]},
            "messages[0].content",
        ),
    ],
    ids=["name", "instructions", "metadata-value", "metadata-key", "schema", "message"],
)
def test_nul_in_any_string__400_on_every_backend(
    http: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    """A NUL character (which Postgres text refuses) is a 400 naming the field, on both backends."""
    before = assistant_ids(http)
    error = refused(http.post(path, json=body))
    assert error["param"] == param
    assert "NUL character" in error["message"]
    assert assistant_ids(http) == before


def test_nul_through_the_sdk__bad_request(server: LiveServer) -> None:
    """The official SDK gets `BadRequestError` for a NUL in a message's text."""
    with server.sdk() as sdk:
        thread = sdk.beta.threads.create()
        with pytest.raises(openai.BadRequestError) as info:
            sdk.beta.threads.messages.create(thread.id, role="user", content="a\u0000b")
        assert info.value.param == "content"
        assert sdk.beta.threads.messages.list(thread.id).data == []


def test_lone_surrogate_in_a_key__400(http: httpx.Client) -> None:
    """A lone surrogate escape in a metadata key is a 400, like one in a value."""
    body = '{"model": "test", "metadata": {"\\udc00": "v"}}'
    error = refused(http.post("/assistants", content=body.encode()))
    assert "lone surrogate" in error["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/assistants/asst_%00x",
        "/threads/thread_%00/messages",
        "/threads/thread_a/runs/run_%00",
        "/assistants?after=%00",
        "/assistants?before=asst_%00",
    ],
)
def test_nul_in_path_or_query__400(http: httpx.Client, url: str) -> None:
    """`%00` in a path id or a query parameter is a 400, not a lookup that Postgres fails."""
    error = refused(http.get(url))
    assert "NUL character" in error["message"]


# --- cursors -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(server: LiveServer) -> tuple[str, str]:
    """(thread id, run id) of a completed run."""
    with server.sdk() as sdk:
        assistant = sdk.beta.assistants.create(model="test")
        run = sdk.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "hi"}]},
            poll_interval_ms=20,
        )
        assert run.status == "completed"
        return run.thread_id, run.id


@pytest.mark.parametrize("cursor", ["1" * 5000, "junk", "asst_é", "²", "-" * 300])
@pytest.mark.parametrize("name", ["after", "before"])
def test_junk_cursors__400_on_every_list(
    http: httpx.Client, finished_run: tuple[str, str], name: str, cursor: str
) -> None:
    """`after` / `before` that are not ids of the list are 400s on every list route."""
    thread, run = finished_run
    for path in (
        "/assistants",
        f"/threads/{thread}/messages",
        f"/threads/{thread}/runs",
        f"/threads/{thread}/runs/{run}/steps",
    ):
        error = refused(http.get(path, params={name: cursor}))
        assert error["param"] == name, path


@pytest.mark.parametrize("after", ["1" * 5000, "²", "1e3", "--1", ""])
def test_event_cursor_not_a_sequence_number__400(
    http: httpx.Client, finished_run: tuple[str, str], after: str
) -> None:
    """`?after=` on a run's event stream takes only a 64-bit integer: 5,000 digits is a 400."""
    thread, run = finished_run
    error = refused(http.get(f"/threads/{thread}/runs/{run}/events", params={"after": after}))
    assert error["param"] == "after"


def test_limit_of_5000_digits__400(http: httpx.Client) -> None:
    """A `limit` too long to be an integer is a 400 naming `limit`."""
    assert refused(http.get("/assistants", params={"limit": "9" * 5000}))["param"] == "limit"


# --- sizes -----------------------------------------------------------------------------------


def test_message_with_too_many_parts__400_nothing_stored(http: httpx.Client) -> None:
    """More than 100 content parts in a message is a 400 naming `content`; nothing stored."""
    thread = http.post("/threads", json={}).json()["id"]
    parts = [{"type": "text", "text": "x"}] * (MESSAGE_PARTS_MAX + 1)
    error = refused(
        http.post(f"/threads/{thread}/messages", json={"role": "user", "content": parts})
    )
    assert error["param"] == "content"
    assert error["code"] == "array_above_max_length"
    assert http.get(f"/threads/{thread}/messages").json()["data"] == []
    at_cap = parts[:MESSAGE_PARTS_MAX]
    taken = http.post(f"/threads/{thread}/messages", json={"role": "user", "content": at_cap})
    assert taken.status_code == 200, taken.text
    assert len(taken.json()["content"]) == MESSAGE_PARTS_MAX


def test_message_of_300000_parts__400(http: httpx.Client) -> None:
    """The 9 MB, 300,000-part message that once took 11 s to store is a 400."""
    thread = http.post("/threads", json={}).json()["id"]
    body = {"role": "user", "content": [{"type": "text", "text": "x"}] * 300_000}
    error = refused(http.post(f"/threads/{thread}/messages", json=body))
    assert error["code"] == "array_above_max_length"


def test_thread_with_too_many_messages__400(http: httpx.Client) -> None:
    """A new thread takes at most 1,000 messages at once."""
    messages = [{"role": "user", "content": "x"}] * (THREAD_MESSAGES_MAX + 1)
    error = refused(http.post("/threads", json={"messages": messages}))
    assert error["param"] == "messages"


def test_text_part_over_256000_characters__400(http: httpx.Client) -> None:
    """One text part holds at most 256,000 characters (the API's message content limit)."""
    thread = http.post("/threads", json={}).json()["id"]
    body = {"role": "user", "content": [{"type": "text", "text": "é" * 256_001}]}
    error = refused(http.post(f"/threads/{thread}/messages", json=body))
    assert error["param"] == "content[0].text"
    assert error["code"] == "string_above_max_length"


def test_body_over_16_mib__413(http: httpx.Client) -> None:
    """The default body limit is 16 MiB: one byte more is a 413 in OpenAI's shape."""
    body = b'{"model": "test", "instructions": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    refused(http.post("/assistants", content=body), 413)


def test_large_valid_body__parsed_and_stored(http: httpx.Client) -> None:
    """A body over the off-loop threshold (64 KiB) is parsed in a thread and stored whole."""
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}}
    body = json.dumps({"model": "test", "tools": [function_tool(schema)]}).encode()
    assert len(body) > 64 * 1024
    created = http.post("/assistants", content=body)
    assert created.status_code == 200, created.text[:200]
    assert created.json()["tools"][0]["function"]["parameters"] == schema
