"""The HTTP layer with inputs the SDK never sends, straight through `httpx`: bodies that are not
JSON objects, oversized bodies, unknown routes and methods, empty bodies, health, headers, and the
SSE wire format.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.conftest import LiveServer
from tests.conformance.support import INCLUDE_CONTENT, WEATHER, serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

BETA = {"OpenAI-Beta": "assistants=v2"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("http")) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=BETA, timeout=20) as client:
        yield client


def openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The inner error of an OpenAI-shaped error response, after checking its frame."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    return dict(error)


def test_body_not_json(http: httpx.Client) -> None:
    """A body that is not JSON: 400 with OpenAI's error body."""
    response = http.post(
        "/assistants", content=b"{model: test", headers={"content-type": "application/json"}
    )
    error = openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    binary = http.post(
        "/threads", content=b"\xff\xfe\x00", headers={"content-type": "application/json"}
    )
    openai_error(binary, 400)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_body_with_non_json_number__400_nothing_stored(http: httpx.Client, constant: str) -> None:
    """NaN and the infinities are not JSON (Python's parser takes them): refused, not stored."""
    before = http.get("/assistants").json()["data"]
    body = (
        '{"model": "test", "tools": [{"type": "function", "function": {"name": "f", '
        f'"parameters": {{"type": "object", "maximum": {constant}}}}}}}]}}'
    )
    response = http.post(
        "/assistants", content=body.encode(), headers={"content-type": "application/json"}
    )
    error = openai_error(response, 400)
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    assert f"{constant} is not a JSON value." in error["message"]
    assert http.get("/assistants").json()["data"] == before


@pytest.mark.parametrize("body", ["[]", '[{"model": "test"}]', '"test"', "42", "null"])
def test_body_not_an_object(http: httpx.Client, body: str) -> None:
    """A JSON body that is not an object: 400 with OpenAI's error body."""
    response = http.post(
        "/assistants", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert openai_error(response, 400)["type"] == "invalid_request_error"


def test_unknown_body_parameter(http: httpx.Client) -> None:
    """An argument the endpoint does not take: 400 `unknown_parameter`."""
    thread = http.post("/threads", json={}).json()["id"]
    response = http.post(
        f"/threads/{thread}/messages", json={"role": "user", "content": "x", "colour": "red"}
    )
    error = openai_error(response, 400)
    assert (error["param"], error["code"]) == ("colour", "unknown_parameter")


def test_nulls_and_empty_bodies(http: httpx.Client) -> None:
    """JSON nulls mean "default"; a POST with no body at all is an empty object."""
    response = http.post(
        "/assistants",
        json={"model": "test", "name": None, "temperature": None, "metadata": None, "tools": None},
    )
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {}
    assert response.json()["tools"] == []
    empty = http.post("/threads", headers={"content-type": "application/json"})
    assert empty.status_code == 200, empty.text
    assert empty.json()["object"] == "thread"


def test_oversized_body_is_413(tmp_path: Path) -> None:
    """Bodies over the limit (declared or streamed) get 413 in OpenAI's shape; smaller ones pass."""
    with serve(tmp_path, worker=False, max_body_bytes=1024) as live:
        big = json.dumps({"model": "test", "instructions": "x" * 2000}).encode()
        with httpx.Client(base_url=live.base_url, headers=BETA) as http:
            declared = http.post(
                "/assistants", content=big, headers={"content-type": "application/json"}
            )
            assert openai_error(declared, 413)["type"] == "invalid_request_error"

            def chunks() -> Iterator[bytes]:
                yield from (big[i : i + 256] for i in range(0, len(big), 256))

            streamed = http.post(
                "/assistants", content=chunks(), headers={"content-type": "application/json"}
            )
            assert "content-length" not in streamed.request.headers
            openai_error(streamed, 413)
            small = http.post("/assistants", json={"model": "test", "instructions": "short"})
            assert small.status_code == 200
        sdk = live.sdk()
        with pytest.raises(openai.APIStatusError) as info:
            sdk.beta.assistants.create(model="test", instructions="y" * 2000)
        assert info.value.status_code == 413
        assert isinstance(info.value.body, dict)
        assert info.value.body["type"] == "invalid_request_error"
        assert info.value.request_id is not None
        assert sdk.beta.assistants.create(model="test").object == "assistant"
        sdk.close()


@pytest.mark.parametrize(
    "path", ["/v1/nope", "/v1/threads/thread_abc/nope", "/nope", "/v2/assistants", "/"]
)
def test_unknown_route_is_404(server: LiveServer, path: str) -> None:
    """Unknown paths, inside /v1 or not: 404 in OpenAI's shape."""
    response = httpx.get(f"http://127.0.0.1:{server.port}{path}", headers=BETA)
    assert openai_error(response, 404)["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/assistants/asst_abc"),
        ("PUT", "/threads/thread_abc"),
        ("PATCH", "/threads/thread_abc/messages/msg_abc"),
        ("DELETE", "/threads/thread_abc/runs/run_abc"),
        ("PUT", "/assistants"),
        ("GET", "/threads/thread_abc/runs/run_abc/cancel"),
    ],
)
def test_wrong_method_is_405(http: httpx.Client, method: str, path: str) -> None:
    """A known path with a method it does not serve: 405 in OpenAI's shape."""
    response = http.request(method, path, json={})
    assert openai_error(response, 405)["type"] == "invalid_request_error"


def test_cancel_with_empty_json_body(http: httpx.Client) -> None:
    """POST cancel with no body but `Content-Type: application/json` works, as the SDK sends it."""
    assistant = http.post("/assistants", json={"model": "test", "tools": [WEATHER]}).json()["id"]
    thread = http.post(
        "/threads", json={"messages": [{"role": "user", "content": "get_weather"}]}
    ).json()["id"]
    run = http.post(f"/threads/{thread}/runs", json={"assistant_id": assistant}).json()["id"]
    waited = http.get(
        f"/threads/{thread}/runs/{run}", headers={"x-stainless-poll-helper": "true"}
    ).json()
    assert waited["status"] == "requires_action"
    response = http.post(
        f"/threads/{thread}/runs/{run}/cancel",
        content=b"",
        headers={"content-type": "application/json", "content-length": "0"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] in {"cancelling", "cancelled"}
    assert response.headers["x-request-id"].startswith("req_")


def test_health(server: LiveServer) -> None:
    """GET /health answers without credentials."""
    response = httpx.get(f"http://127.0.0.1:{server.port}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-request-id"].startswith("req_")


def test_request_ids_are_unique_and_everywhere(server: LiveServer, http: httpx.Client) -> None:
    """Every response, success or error of any kind, carries a fresh `x-request-id`."""
    responses = [
        http.post("/assistants", json={"model": "test"}),
        http.get("/assistants"),
        http.get("/threads/thread_nope"),
        http.get("/threads/undefined"),
        http.post("/assistants", content=b"nope", headers={"content-type": "application/json"}),
        http.get("/nope"),
        http.patch("/assistants", json={}),
        httpx.get(f"http://127.0.0.1:{server.port}/health"),
    ]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(i is not None and i.startswith("req_") for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_run_gets_carry_an_integer_poll_hint(http: httpx.Client) -> None:
    """`openai-poll-after-ms` on run GETs is an integer, as the SDK's `int()` requires."""
    assistant = http.post("/assistants", json={"model": "test"}).json()["id"]
    thread = http.post("/threads", json={"messages": [{"role": "user", "content": "x"}]}).json()
    run = http.post(f"/threads/{thread['id']}/runs", json={"assistant_id": assistant}).json()
    for headers in ({}, {"x-stainless-poll-helper": "true"}):
        response = http.get(f"/threads/{thread['id']}/runs/{run['id']}", headers=headers)
        assert response.status_code == 200
        hint = response.headers["openai-poll-after-ms"]
        assert hint.isdigit()
        assert int(hint) > 0
    assert response.json()["status"] == "completed"


def test_sse_wire_format(http: httpx.Client) -> None:
    """A stream: text/event-stream, `event:` + one `data:` line per event, `done`/`[DONE]` last."""
    assistant = http.post("/assistants", json={"model": "test"}).json()["id"]
    thread = http.post("/threads", json={"messages": [{"role": "user", "content": "wire"}]}).json()[
        "id"
    ]
    with http.stream(
        "POST",
        f"/threads/{thread}/runs",
        params={"include[]": INCLUDE_CONTENT},
        json={"assistant_id": assistant, "stream": True},
        headers={"accept": "application/json"},  # streaming is chosen by the body alone
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"].startswith("req_")
        body = response.read().decode()
    blocks = [b for b in body.split("\n\n") if b.strip()]
    assert body.endswith("\n\n")
    events = []
    for block in blocks:
        lines = block.split("\n")
        assert len(lines) == 2, block
        assert lines[0].startswith("event: ")
        assert lines[1].startswith("data: ")
        events.append((lines[0][7:], lines[1][6:]))
    assert events[-1] == ("done", "[DONE]")
    assert events[-2][0] == "thread.run.completed"
    for name, data in events[:-1]:
        assert name.startswith("thread.")
        assert isinstance(json.loads(data), dict)


def test_include_without_brackets_is_accepted(http: httpx.Client) -> None:
    """`include` without brackets is accepted too on step lists."""
    assistant = http.post("/assistants", json={"model": "test"}).json()["id"]
    run = http.post(
        "/threads/runs",
        json={
            "assistant_id": assistant,
            "thread": {"messages": [{"role": "user", "content": "x"}]},
        },
    ).json()
    path = f"/threads/{run['thread_id']}/runs/{run['id']}/steps"
    for key in ("include", "include[]"):
        response = http.get(path, params={key: INCLUDE_CONTENT})
        assert response.status_code == 200, response.text
        assert response.json()["object"] == "list"


def null_paths(value: Any, path: str = "") -> list[str]:
    """The paths in `value` holding an explicit JSON null."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in null_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in null_paths(v, f"{path}[{i}]")]
    return []


def delta_events(
    http: httpx.Client, path: str, body: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """The `*.delta` events of the stream `POST path` answers, as (event, data)."""
    out: list[tuple[str, dict[str, Any]]] = []
    with http.stream("POST", path, json=body) as response:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name.endswith(".delta"):
                out.append((name, json.loads(line[6:])))
    return out


def test_sse_delta_fragments_carry_only_what_they_add(http: httpx.Client) -> None:
    """Delta events omit absent fields (§8.2, §8.3, §8.5): no repeated id/name/annotations, no nulls."""
    # Clients merge deltas into snapshots; the Node SDK throws on a null merged into a set value.
    # The spec's first tool-call fragment shows `"output": null`, the one null allowed.
    assistant = http.post("/assistants", json={"model": "test", "tools": [WEATHER]}).json()["id"]
    thread = http.post(
        "/threads", json={"messages": [{"role": "user", "content": "get_weather"}]}
    ).json()["id"]
    deltas = delta_events(
        http, f"/threads/{thread}/runs", {"assistant_id": assistant, "stream": True}
    ) + delta_events(
        http,
        "/threads/runs",
        {
            "assistant_id": assistant,
            "stream": True,
            "tools": [],
            "thread": {"messages": [{"role": "user", "content": "a few words here"}]},
        },
    )
    problems: list[str] = []
    seen_calls: set[int] = set()
    seen_text = False
    for name, data in deltas:
        nulls = [p for p in null_paths(data["delta"]) if not p.endswith(".function.output")]
        problems += [f"{name}: null at delta{p}" for p in nulls]
        if name == "thread.run.step.delta":
            for call in data["delta"]["step_details"]["tool_calls"]:
                if call["index"] in seen_calls:
                    if "id" in call:
                        problems.append(f"{name}: repeated 'id'")
                    if "name" in call.get("function", {}):
                        problems.append(f"{name}: repeated 'function.name'")
                seen_calls.add(call["index"])
        else:
            for part in data["delta"].get("content", []):
                if seen_text and "annotations" in part.get("text", {}):
                    problems.append(f"{name}: repeated 'text.annotations'")
                seen_text = True
    assert {n for n, _ in deltas} == {"thread.run.step.delta", "thread.message.delta"}
    assert not problems, "\n".join(sorted(set(problems)))
