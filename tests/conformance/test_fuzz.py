"""Property-based fuzzing of every `/v1` operation with schemathesis, against a real server.

The document is the one the server publishes at `/openapi.json`. For each operation, Hypothesis
draws positive (schema-valid) and negative (schema-violating) requests; about half of them
address real objects (an assistant with a function tool, a thread, a run paused at
`requires_action`, its message and step, a finished run whose event stream ends, an uploaded
file, a vector store holding it and a file batch, a prompt with a version and a label, a
completion's span and trace) so that validation and state handling are reached, not only the id
checks. Every `/v1` route but the inspector's is in the document
(`test_every_v1_route_is_documented`), so every one is fuzzed. Every response must:

- not be a server error (`not_a_server_error`);
- have a documented status code and content type (`status_code_conformance`,
  `content_type_conformance`);
- match the documented schema (`response_schema_conformance`; a streamed run is checked event
  by event, each `data` against the object its event name implies).

Bounded by default (`DEFAULT_EXAMPLES` per operation and mode; the module takes well under a
minute). `ASSISTANTS_FUZZ_EXAMPLES=N` runs N examples per operation and mode instead: 50 makes
about 6,000 requests. `ASSISTANTS_FUZZ_SEED=S` makes a run reproducible.

Server bugs found and not yet fixed go in `KNOWN_BUGS`: the fuzzer steers around the inputs that
trigger them (so that it keeps looking for new ones). Fixed ones move to `FIXED_BUGS`, whose
reproductions are regression tests.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assistants import AsyncClient
from assistants.server import KeyRing, ServerSettings, create_app
from assistants.server.openapi import JSON, build_schema, openapi_schema
from tests.conformance.conftest import LiveServer

DEFAULT_EXAMPLES = 8
EXAMPLES = int(os.environ.get("ASSISTANTS_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
SEED = os.environ.get("ASSISTANTS_FUZZ_SEED")
REQUEST_TIMEOUT = 15.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
AnyCase: TypeAlias = Case[Any]
SQLITE_INTEGER_MAX = 2**63 - 1

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


UNDOCUMENTED_PREFIXES = ("/v1/inspector/",)
"""The `/v1` routes left out of the document: the inspector page's own reads."""


def _app() -> FastAPI:
    """An app that is never started, with every optional router on."""
    return create_app(
        AsyncClient(database_url="sqlite+aiosqlite:///:memory:"),
        ServerSettings(keys=KeyRing([]), inspector=True),
        manage_client=False,
    )


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation."""
    doc = build_schema(_app())
    return [(m.upper(), p) for p, item in doc["paths"].items() for m in item]


OPERATIONS = _operations()


# --- known server bugs ----------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float)


def _non_iterable_message_field(method: str, path: str, body: Any) -> bool:
    return (
        method == "POST"
        and path == "/v1/threads/{thread_id}/messages"
        and isinstance(body, dict)
        and (_scalar(body.get("content")) or _scalar(body.get("attachments")))
    )


def _token_budget_overflow(method: str, path: str, body: Any) -> bool:
    return (
        method == "POST"
        and path in ("/v1/threads/runs", "/v1/threads/{thread_id}/runs")
        and isinstance(body, dict)
        and any(
            isinstance(body.get(name), int)
            and not isinstance(body.get(name), bool)
            and body[name] > SQLITE_INTEGER_MAX
            for name in ("max_prompt_tokens", "max_completion_tokens")
        )
    )


def _lone_surrogate(method: str, path: str, body: Any) -> bool:
    for text in _strings(body):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


@dataclass(frozen=True)
class KnownBug:
    """A server bug the fuzzer found: how to recognise its inputs, and how to reproduce it.

    Generated inputs that `hits` are not sent (they would only repeat the 500, and cost the
    connection: see KEEPALIVE_AFTER_500). `request` (method, path under /v1, raw JSON body) is
    a minimal reproduction.
    """

    reason: str
    hits: Callable[[str, str, Any], bool]
    request: tuple[str, str, str]


FIXED_BUGS: dict[str, KnownBug] = {
    "message_scalar_content": KnownBug(
        "server bug: POST /v1/threads/{thread_id}/messages with a number or boolean `content` "
        "(or `attachments`) answers 500: AsyncMessages.create calls list() on it before "
        "validation (TypeError: 'int' object is not iterable)",
        _non_iterable_message_field,
        request=("POST", "/threads/{thread_id}/messages", '{"role": "user", "content": 1}'),
    ),
    "token_budget_overflow": KnownBug(
        "server bug: max_prompt_tokens / max_completion_tokens >= 2**63 pass validation (>= 256, "
        "no maximum) and answer 500 on insert (OverflowError: Python int too large to convert "
        "to SQLite INTEGER)",
        _token_budget_overflow,
        request=(
            "POST",
            "/threads/runs",
            '{"assistant_id": "{assistant_id}", "max_prompt_tokens": 9223372036854775808}',
        ),
    ),
    "lone_surrogate": KnownBug(
        "server bug: a JSON string with an unpaired surrogate escape (valid JSON, e.g. "
        '"\\udc00") passes validation and answers 500 on insert (UnicodeEncodeError: '
        "surrogates not allowed)",
        _lone_surrogate,
        request=("POST", "/assistants", '{"model": "test", "name": "\\udc00"}'),
    ),
}

# Bugs found by the fuzzer and not fixed yet: it steers around their inputs (none at present;
# the ones above were fixed and are regression tests now).
KNOWN_BUGS: dict[str, KnownBug] = {}

KEEPALIVE_AFTER_500 = (
    "server bug: after a 500 from the catch-all exception handler the connection is closed "
    "without `Connection: close` (Starlette's ServerErrorMiddleware re-raises, uvicorn then "
    "drops the socket), so the client's next request on that keep-alive connection fails "
    "with a connection reset"
)


# --- the fuzzer -----------------------------------------------------------------------------


@dataclass
class Fuzz:
    server: LiveServer
    schema: Any
    ids: dict[str, str]
    session: requests.Session
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    steered: Counter[str] = field(default_factory=Counter)


def _seed_objects(base_url: str) -> dict[str, str]:
    """Real objects for the fuzzer to address: ids by path parameter name (and the call id)."""
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as http:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.post(path, json=body)
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

        assistant = post("/assistants", {"model": "test", "tools": [WEATHER]})
        thread = post(
            "/threads", {"messages": [{"role": "user", "content": "get_weather, please"}]}
        )
        run = post(f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"]})
        for _ in range(100):
            run = http.get(
                f"/threads/{thread['id']}/runs/{run['id']}",
                headers={"x-stainless-poll-helper": "true"},
            ).json()
            if run["status"] not in ("queued", "in_progress"):
                break
        assert run["status"] == "requires_action", run
        message = http.get(f"/threads/{thread['id']}/messages").json()["data"][0]
        step = http.get(f"/threads/{thread['id']}/runs/{run['id']}/steps").json()["data"][0]
        # A finished run, whose event stream ends (the paused one's follows it through the
        # pause), in a thread of its own.
        text = post("/assistants", {"model": "test"})
        done = post("/threads/runs", {"assistant_id": text["id"], "stream": False})
        for _ in range(100):
            done = http.get(
                f"/threads/{done['thread_id']}/runs/{done['id']}",
                headers={"x-stainless-poll-helper": "true"},
            ).json()
            if done["status"] not in ("queued", "in_progress"):
                break
        assert done["status"] == "completed", done
        upload = http.post(
            "/files",
            files={"file": ("notes.txt", b"The weather in Paris is sunny.")},
            data={"purpose": "assistants"},
        )
        upload.raise_for_status()
        file_id = upload.json()["id"]
        store = post("/vector_stores", {"name": "notes", "file_ids": [file_id]})
        batch = post(f"/vector_stores/{store['id']}/file_batches", {"file_ids": [file_id]})
        prompt = post("/prompts", {"name": "greeting"})["name"]
        post(f"/prompts/{prompt}/versions", {"instructions": "Say hello to {{who}}."})
        label = post(f"/prompts/{prompt}/labels", {"label": "prod", "version": 1})["label"]
        completion = post(
            "/chat/completions", {"model": "test", "messages": [{"role": "user", "content": "hi"}]}
        )
        span = http.get(f"/spans/{completion['span_id']}").json()
    return {
        "assistant_id": assistant["id"],
        "thread_id": thread["id"],
        "run_id": run["id"],
        "message_id": message["id"],
        "step_id": step["id"],
        "tool_call_id": run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"],
        "model": "test",
        "finished_thread_id": done["thread_id"],
        "finished_run_id": done["id"],
        "file_id": file_id,
        "vector_store_id": store["id"],
        "batch_id": batch["id"],
        "name": prompt,
        "label": label,
        "span_id": span["id"],
        "trace_id": span["trace_id"],
    }


def _server(tmp: Path) -> LiveServer:
    client = AsyncClient(
        database_url=f"sqlite+aiosqlite:///{tmp / 'server.db'}",
        poll_seconds=0.05,
        sweep_seconds=0.05,
    )
    return LiveServer(client)


@pytest.fixture(scope="module")
def fuzz(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Fuzz]:
    with _server(tmp_path_factory.mktemp("fuzz")) as server, requests.Session() as session:
        root = server.base_url.removesuffix("/v1")
        schema = schemathesis.openapi.from_url(
            f"{root}/openapi.json", config=schemathesis.Config(), timeout=REQUEST_TIMEOUT
        )
        # Failure reports show the request as sent (field names such as
        # `max_prompt_tokens` would otherwise be masked as secrets).
        schema.config.output.sanitization.update(enabled=False)
        state = Fuzz(server, schema, _seed_objects(server.base_url), session)
        yield state
    total = sum(state.requests.values())
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and total:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(state.statuses.items()))
        steered = ", ".join(f"{name}: {n}" for name, n in sorted(state.steered.items()))
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nfuzz: {total} requests over {len(state.requests)} operations "
                f"({EXAMPLES} examples per operation and mode); statuses {statuses}"
                + (f"; known-bug inputs skipped {steered}" if steered else "")
            )


def _use_real_ids(fuzz: Fuzz, mode: GenerationMode) -> Callable[[AnyCase], AnyCase]:
    """Point a valid body's `assistant_id` / `tool_call_id` at the real objects."""

    def apply(case: AnyCase) -> AnyCase:
        body = case.body
        if mode.is_positive and isinstance(body, dict):
            if "assistant_id" in body:
                body["assistant_id"] = fuzz.ids["assistant_id"]
            if "file_id" in body:
                body["file_id"] = fuzz.ids["file_id"]
            outputs = body.get("tool_outputs")
            for output in outputs if isinstance(outputs, list) else []:
                if isinstance(output, dict) and "tool_call_id" in output:
                    output["tool_call_id"] = fuzz.ids["tool_call_id"]
        return case

    return apply


def _strategy(
    fuzz: Fuzz, method: str, path: str, mode: GenerationMode
) -> st.SearchStrategy[AnyCase]:
    operation = fuzz.schema[path][method]
    generated: st.SearchStrategy[AnyCase] = operation.as_strategy(generation_mode=mode)
    names = [part.split("}")[0] for part in path.split("{")[1:]]
    spec = fuzz.schema.raw_schema["paths"][path][method.lower()]
    has_more = "requestBody" in spec or any(p["in"] == "query" for p in spec["parameters"])
    if names and method != "DELETE" and (mode.is_positive or has_more):
        # Deleting the shared objects would leave the rest of the run with 404s only; with
        # real path ids and nothing else, a negative case has nothing left to make invalid.
        real_ids = {name: fuzz.ids[name] for name in names}
        if path.endswith("/events"):  # a stream that ends: the finished run's
            real_ids = {name: fuzz.ids[f"finished_{name}"] for name in names}
        real = operation.as_strategy(generation_mode=mode, path_parameters=real_ids)
        generated = st.one_of(generated, real)
    return generated.map(_use_real_ids(fuzz, mode))


def _send(fuzz: Fuzz, case: AnyCase) -> Any:
    try:
        return case.call(session=fuzz.session, timeout=REQUEST_TIMEOUT)
    except requests.ConnectionError:
        # A kept-alive connection the server dropped after a 500 (see KEEPALIVE_AFTER_500):
        # that 500 was reported already; this request never reached the app.
        fuzz.session.close()
        return case.call(session=fuzz.session, timeout=REQUEST_TIMEOUT)


def _run(fuzz: Fuzz, method: str, path: str, mode: GenerationMode) -> int:
    label = f"{method} {path}"
    made = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(fuzz, method, path, mode))
    def check(case: AnyCase) -> None:
        nonlocal made
        made += 1
        for name, bug in KNOWN_BUGS.items():
            if bug.hits(method, path, case.body):
                fuzz.steered[name] += 1
                return
        response = _send(fuzz, case)
        fuzz.requests[label] += 1
        fuzz.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    if SEED is not None:
        check = seed(int(SEED))(check)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # schemathesis / hypothesis advisory warnings
        check()
    return made


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_operation(fuzz: Fuzz, method: str, path: str) -> None:
    """Positive and negative requests to one operation: no 5xx, responses as documented."""
    try:
        made = sum(_run(fuzz, method, path, mode) for mode in MODES)
    except BaseException:
        # Let the server thread finish logging a 500 before pytest formats the failure
        # (CPython 3.11 can raise "AST constructor recursion depth mismatch" when two
        # threads format tracebacks at once).
        time.sleep(1)
        raise
    assert made >= EXAMPLES * len(MODES), f"only {made} examples were run for {method} {path}"
    sent = fuzz.requests[f"{method} {path}"]
    assert sent >= made * 0.8, f"only {sent} of {made} examples were sent to {method} {path}"


# --- the published document -----------------------------------------------------------------


def test_openapi_document(tmp_path: Path) -> None:
    """`/openapi.json` documents the 23 operations of CONTRACT §2, the two of `/v1/models`, the
    run events extension, chat completions, prompts (10), files (5), vector stores (14), spans
    and traces (3), and is built once."""
    with _server(tmp_path) as server, httpx.Client() as http:
        response = http.get(f"{server.base_url.removesuffix('/v1')}/openapi.json")
        assert response.status_code == 200
        doc = response.json()
        assert openapi_schema(server.app) is openapi_schema(server.app)
    assert doc["openapi"] == "3.1.0"
    assert len(OPERATIONS) == 60
    documented = sorted((m.upper(), p) for p, item in doc["paths"].items() for m in item)
    assert documented == sorted(OPERATIONS)
    assert sum(1 for _ in schemathesis.openapi.from_dict(doc).get_all_operations()) == 60
    steps = doc["paths"]["/v1/threads/{thread_id}/runs/{run_id}/steps"]["get"]
    params = {p["name"]: p for p in steps["parameters"]}
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == 100
    assert params["order"]["schema"]["enum"] == ["asc", "desc"]
    assert params["include[]"]["schema"]["type"] == "array"
    create = doc["paths"]["/v1/assistants"]["post"]
    assert create["requestBody"]["required"] is True
    for item in doc["paths"].values():
        for spec in item.values():
            assert {"200", "400", "401", "404", "413"} <= set(spec["responses"])


def test_every_v1_route_is_documented() -> None:
    """A `/v1` route is in the document unless it is one of the inspector's, so a new route
    cannot be left out of the document (and of the fuzzing) unnoticed."""
    routes: list[tuple[str, str]] = []
    for route in iter_route_contexts(_app().routes):  # through included routers too
        path = route.path_format or ""  # `{model:path}` documented as `{model}`
        if isinstance(route.original_route, APIRoute) and path.startswith("/v1/"):
            routes += [(method, path) for method in sorted(route.methods or ())]
    undocumented = [r for r in routes if r not in OPERATIONS]
    assert undocumented, "the inspector's reads are mounted in this app"
    assert all(path.startswith(UNDOCUMENTED_PREFIXES) for _, path in undocumented), undocumented
    assert sorted(set(routes) - set(undocumented)) == sorted(OPERATIONS)


# --- reproductions of the known bugs ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, id=name) for name in FIXED_BUGS],
)
def test_known_bug(tmp_path: Path, name: str) -> None:
    """The request a bug needs gets a 4xx in OpenAI's error shape, not a 500."""
    bug = FIXED_BUGS[name]
    method, path, body = bug.request
    assert bug.hits(method, "/v1" + path, json.loads(body))
    with _server(tmp_path) as server, httpx.Client(base_url=server.base_url) as http:
        ids = {
            "assistant_id": http.post("/assistants", json={"model": "test"}).json()["id"],
            "thread_id": http.post("/threads", json={}).json()["id"],
        }
        for key, value in ids.items():
            path, body = path.replace(f"{{{key}}}", value), body.replace(f"{{{key}}}", value)
        response = http.request(
            method,
            path,
            content=body.encode(),
            headers={"content-type": "application/json"},
            timeout=REQUEST_TIMEOUT,
        )
    # Asserted once the server has stopped: a failure report is not formatted while the
    # server thread is still logging the error (CPython 3.11 can raise "AST constructor
    # recursion depth mismatch" when two threads format tracebacks at once).
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("tools", "content"),
    [pytest.param([WEATHER], "get_weather", id="tool-call"), pytest.param([], "hello", id="text")],
)
def test_stream_events_match_the_document(
    tmp_path: Path, tools: list[dict[str, Any]], content: str
) -> None:
    """Every event of a streamed run matches the documented event schema (deltas included)."""
    with _server(tmp_path) as server:
        schema = schemathesis.openapi.from_url(
            f"{server.base_url.removesuffix('/v1')}/openapi.json", config=schemathesis.Config()
        )
        assistant = httpx.post(
            f"{server.base_url}/assistants", json={"model": "test", "tools": tools}
        ).json()
        case = schema["/v1/threads/runs"]["POST"].Case(
            body={
                "assistant_id": assistant["id"],
                "stream": True,
                "thread": {"messages": [{"role": "user", "content": content}]},
            },
            media_type=JSON,
        )
        response = case.call(timeout=REQUEST_TIMEOUT)
        assert response.status_code == 200
        assert "event: done" in response.text
        case.validate_response(response, checks=[response_schema_conformance])


@pytest.mark.parametrize(
    ("tools", "content"),
    [pytest.param([WEATHER], "get_weather", id="tool-call"), pytest.param([], "hello", id="text")],
)
def test_completion_and_prompt_streams_match_the_document(
    tmp_path: Path, tools: list[dict[str, Any]], content: str
) -> None:
    """Every `data:` event of a streamed chat completion and of a streamed prompt run matches
    the documented event schema: the chunks, the prompt run, then `[DONE]`."""
    with _server(tmp_path) as server:
        schema = schemathesis.openapi.from_url(
            f"{server.base_url.removesuffix('/v1')}/openapi.json", config=schemathesis.Config()
        )
        http = httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT)
        http.post("/prompts", json={"name": "ask"}).raise_for_status()
        http.post(
            "/prompts/ask/versions",
            json={"messages": [{"role": "user", "content": content}], "tools": tools or None},
        ).raise_for_status()
        http.close()
        body: dict[str, Any] = {
            "model": "test",
            "messages": [{"role": "user", "content": content}],
            "tools": tools or None,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        completion = schema["/v1/chat/completions"]["POST"].Case(
            body=body,
            media_type=JSON,
        )
        prompt_run = schema["/v1/prompts/{name}/run"]["POST"].Case(
            path_parameters={"name": "ask"},
            body={"model": "test", "stream": True},
            media_type=JSON,
        )
        for case, last_object in (
            (completion, '"chat.completion.chunk"'),
            (prompt_run, '"prompt.run"'),
        ):
            response = case.call(timeout=REQUEST_TIMEOUT)
            assert response.status_code == 200, response.text
            events = [e for e in response.text.split("\n\n") if e]
            assert events[-1] == "data: [DONE]", events[-3:]
            assert last_object in events[-2], events[-2]
            assert len(events) >= 3
            case.validate_response(response, checks=[response_schema_conformance])


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response with a Content-Length: (head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed mid-body"
        body += chunk
    return head, body


def test_keepalive_connection_survives_a_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an unexpected error the server keeps the connection, or says `Connection: close`.

    Closing a kept-alive connection right after a response that did not announce it races the
    client's next request on it (which then fails with a connection reset).
    """
    with _server(tmp_path) as server:

        async def unavailable() -> Any:
            raise RuntimeError("the store is unavailable")

        monkeypatch.setattr(server.client, "store", unavailable)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            head, body = _read_response(sock)
            assert head.startswith(b"HTTP/1.1 500 "), head
            assert json.loads(body)["error"]["type"] == "server_error"
            announced = b"\r\nconnection: close" in head.lower()
            sock.settimeout(1.0)
            try:
                closed = sock.recv(1) == b""
            except TimeoutError:
                closed = False
    assert announced or not closed, "the server closed a kept-alive connection unannounced"
