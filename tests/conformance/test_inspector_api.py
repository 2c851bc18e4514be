"""The inspector over HTTP: its files (offline, strict CSP), its `/v1/inspector/` reads scoped by
API key, bad query values, the same-origin rule for its actions, and `id:` lines on re-attached
event streams (never on the SDK's streams)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistants.cli_serve import inspector_on
from assistants.server.inspection import PAGE_DIR
from store.errors import ConfigurationError
from tests.conformance.conftest import LiveServer
from tests.conformance.support import WEATHER, serve
from tests.store.test_inspection import ROUND_TRIP_STATUSES

KEYS = ["key-a", "key-b"]


@dataclass
class Owned:
    thread: str
    run: str
    paused_thread: str
    paused_run: str
    call: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("inspector"), keys=KEYS) as live:
        yield live


@pytest.fixture(scope="module")
def owned(server: LiveServer) -> Owned:
    """key-a's objects: a completed tool round trip and a run paused in `requires_action`."""
    with server.sdk("key-a") as a:
        assistant = a.beta.assistants.create(model="test", tools=[WEATHER])
        thread = a.beta.threads.create(
            messages=[{"role": "user", "content": "weather?"}], metadata={"team": "Blue"}
        )
        run = a.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.required_action is not None
        call = run.required_action.submit_tool_outputs.tool_calls[0].id
        run = a.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": call, "output": "ok"}],
        )
        assert run.status == "completed"
        paused_thread = a.beta.threads.create(messages=[{"role": "user", "content": "again"}])
        paused = a.beta.threads.runs.create_and_poll(
            thread_id=paused_thread.id, assistant_id=assistant.id
        )
        assert paused.status == "requires_action"
        assert paused.required_action is not None
        return Owned(
            thread.id,
            run.id,
            paused_thread.id,
            paused.id,
            paused.required_action.submit_tool_outputs.tool_calls[0].id,
        )


def http(server: LiveServer, key: str | None = "key-a", **headers: str) -> httpx.Client:
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=20)


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    return error


# --- the page -----------------------------------------------------------------------------------


def test_page__served_with_strict_policy(server: LiveServer) -> None:
    """`/inspector` redirects to the page; each file comes with a CSP allowing only this server
    and no inline script, and with the right content type."""
    root = f"http://127.0.0.1:{server.port}"
    redirect = httpx.get(f"{root}/inspector")
    assert redirect.status_code == 308
    assert redirect.headers["location"] == "/inspector/"
    page = httpx.get(f"{root}/inspector/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    script = httpx.get(f"{root}/inspector/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "content-security-policy" in script.headers
    assert httpx.get(f"{root}/inspector/nothing.js").status_code == 404


def test_page__needs_nothing_from_the_network() -> None:
    """No file of the page names another host, loads a URL, or runs inline script: imports are
    relative, the HTML links only its own files."""
    files = sorted(PAGE_DIR.iterdir())
    assert {f.suffix for f in files} == {".html", ".js", ".css"}
    for file in files:
        text = file.read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), file.name
        assert "@import" not in text, file.name
        for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
            assert risky not in text, (file.name, risky)
        for target in re.findall(r"""from\s+["']([^"']+)["']""", text):
            assert target.startswith("./"), (file.name, target)
            assert (PAGE_DIR / target).is_file(), (file.name, target)
    html = (PAGE_DIR / "index.html").read_text()
    assert "<script>" not in html
    assert not re.search(r"\son[a-z]+=", html, re.I)
    for target in re.findall(r"""(?:src|href)="([^"#]+)\"""", html):
        assert target == "data:," or (PAGE_DIR / target).is_file(), target


def test_page__off__nothing_served(tmp_path: Path) -> None:
    """With the inspector off, neither the page nor its reads exist."""
    with serve(tmp_path, worker=False, inspector=False) as live:
        root = f"http://127.0.0.1:{live.port}"
        assert httpx.get(f"{root}/inspector/").status_code == 404
        error = error_of(httpx.get(f"{live.base_url}/inspector/threads"), 404)
        assert error["code"] == "unknown_url"


# --- reads, scoped by key -----------------------------------------------------------------------


def test_threads__search_and_scope(server: LiveServer, owned: Owned) -> None:
    """key-a finds its threads newest first (by metadata, any case); key-b sees none of them."""
    with http(server) as a:
        listed = a.get("/inspector/threads").json()
        assert [t["id"] for t in listed["data"]][:2] == [owned.paused_thread, owned.thread]
        assert listed["data"][0]["last_run"] == {
            "id": owned.paused_run,
            "status": "requires_action",
        }
        found = a.get("/inspector/threads", params={"q": "blue"}).json()
        assert [t["id"] for t in found["data"]] == [owned.thread]
        assert found["data"][0]["metadata"] == {"team": "Blue"}
        paged = a.get("/inspector/threads", params={"limit": 1}).json()
        assert paged["has_more"] is True
        rest = a.get("/inspector/threads", params={"after": paged["last_id"]}).json()
        assert owned.thread in [t["id"] for t in rest["data"]]
    with http(server, "key-b") as b:
        assert b.get("/inspector/threads").json()["data"] == []
        assert b.get("/inspector/threads", params={"q": "blue"}).json()["data"] == []
        for path in (
            f"/inspector/runs/{owned.run}/transitions",
            f"/inspector/runs/{owned.run}/events",
        ):
            error = error_of(b.get(path), 404)
            assert error["message"] == f"No run found with id '{owned.run}'."


def test_transitions_and_events(server: LiveServer, owned: Owned) -> None:
    """A run's status history and its event log, paged and filtered."""
    with http(server) as a:
        history = a.get(f"/inspector/runs/{owned.run}/transitions").json()["data"]
        assert [t["status"] for t in history] == ROUND_TRIP_STATUSES
        assert all(isinstance(t["at"], float) for t in history)
        newest = a.get(f"/inspector/runs/{owned.run}/events", params={"before": 10**6}).json()
        assert newest["data"][-1]["event"] == "thread.run.completed"
        assert newest["data"][-1]["seq"] == newest["run_last_seq"] == newest["last_seq"]
        first = a.get(f"/inspector/runs/{owned.run}/events", params={"limit": 2}).json()
        assert [e["seq"] for e in first["data"]] == [1, 2]
        assert first["has_more"] is True
        deltas = a.get(
            f"/inspector/runs/{owned.run}/events", params={"event": "message.delta"}
        ).json()
        assert deltas["data"]
        assert {e["event"] for e in deltas["data"]} == {"thread.message.delta"}


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/inspector/threads", {"limit": "0"}, 400, "invalid_value"),
        ("/inspector/threads", {"limit": "101"}, 400, "invalid_value"),
        ("/inspector/threads", {"limit": "ten"}, 400, "invalid_type"),
        ("/inspector/threads", {"after": "run_x"}, 400, "invalid_value"),
        ("/inspector/threads", {"after": "thread_nope"}, 404, None),
        ("/inspector/threads", {"q": "x" * 201}, 400, "string_above_max_length"),
        ("/inspector/runs/thread_x/transitions", {}, 400, "invalid_value"),
        ("/inspector/runs/run_nope/transitions", {}, 404, None),
        ("/inspector/runs/run_nope/events", {}, 404, None),
        ("/inspector/runs/run_x/events", {"after": "-1"}, 400, "invalid_type"),
        ("/inspector/runs/run_x/events", {"limit": "501"}, 400, "invalid_value"),
    ],
)
def test_bad_queries__clear_errors(
    server: LiveServer, path: str, params: dict[str, str], status: int, code: str | None
) -> None:
    """Malformed values are 400s naming the parameter; unknown ids are OpenAI's 404s."""
    with http(server) as a:
        error = error_of(a.get(path, params=params), status)
        assert error["code"] == code
        if status == 404:
            assert error["message"].startswith("No ")


def test_reads_need_a_valid_key(server: LiveServer) -> None:
    """No key and a wrong key are 401s in OpenAI's wording, with no data."""
    with http(server, None) as anonymous:
        assert error_of(anonymous.get("/inspector/threads"), 401)["code"] == "missing_api_key"
    with http(server, "key-wrong") as wrong:
        error = error_of(wrong.get("/inspector/threads"), 401)
        assert error["message"].startswith("Incorrect API key provided")


# --- the page's actions: same origin --------------------------------------------------------------


def test_actions_from_the_page_origin__allowed_others_refused(
    tmp_path: Path, server: LiveServer, owned: Owned
) -> None:
    """The page (Origin = this server) may submit tool outputs; a foreign origin may not; with
    the inspector off, the server's own origin is foreign like any other."""
    path = f"/threads/{owned.paused_thread}/runs/{owned.paused_run}/submit_tool_outputs"
    body = {"tool_outputs": [{"tool_call_id": owned.call, "output": "from the page"}]}
    with http(server, origin="http://evil.example") as foreign:
        assert error_of(foreign.post(path, json=body), 403)["code"] == "origin_not_allowed"
    with http(server, origin=f"http://localhost.evil:{server.port}") as lookalike:
        assert error_of(lookalike.post(path, json=body), 403)["code"] == "origin_not_allowed"
    with http(server, origin=f"http://127.0.0.1:{server.port}") as page:
        response = page.post(path, json=body)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "queued"
    with serve(tmp_path, worker=False, inspector=False) as off:
        origin = f"http://127.0.0.1:{off.port}"
        response = httpx.get(f"{off.base_url}/assistants", headers={"origin": origin})
        assert error_of(response, 403)["code"] == "origin_not_allowed"


# --- event ids ------------------------------------------------------------------------------------


def test_reattached_stream__ids_are_sequence_numbers(server: LiveServer, owned: Owned) -> None:
    """`/events?after=N` gives each event `id: <seq>` from N+1 on; the SDK's own streams stay
    as they were (no `id:` lines)."""
    with http(server) as a:
        response = a.get(f"/threads/{owned.thread}/runs/{owned.run}/events", params={"after": 3})
        lines = response.text.splitlines()
        ids = [int(line[4:]) for line in lines if line.startswith("id: ")]
        events = [line for line in lines if line.startswith("event: ") and line != "event: done"]
        assert ids == list(range(4, 4 + len(events)))
        assert lines[-2:] == ["data: [DONE]", ""] or lines[-1] == "data: [DONE]"
        thread = a.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]})
        assistant = a.post("/assistants", json={"model": "test"}).json()["id"]
        streamed = a.post(
            f"/threads/{thread.json()['id']}/runs",
            json={"assistant_id": assistant, "stream": True},
        )
        assert "event: thread.run.completed" in streamed.text
        assert not [line for line in streamed.text.splitlines() if line.startswith("id:")]


# --- the switch -----------------------------------------------------------------------------------


def test_switch__on_for_loopback_flag_and_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """On by default on loopback only; `--inspector` / `--no-inspector` win, then
    `ASSISTANTS_INSPECTOR`; a value that is not a yes or no is a clear start-up error."""
    monkeypatch.delenv("ASSISTANTS_INSPECTOR", raising=False)
    assert inspector_on(None, "127.0.0.1")
    assert inspector_on(None, "::1")
    assert not inspector_on(None, "0.0.0.0")
    assert inspector_on(True, "0.0.0.0")
    assert not inspector_on(False, "127.0.0.1")
    monkeypatch.setenv("ASSISTANTS_INSPECTOR", "1")
    assert inspector_on(None, "0.0.0.0")
    assert not inspector_on(False, "0.0.0.0")
    monkeypatch.setenv("ASSISTANTS_INSPECTOR", "off")
    assert not inspector_on(None, "127.0.0.1")
    monkeypatch.setenv("ASSISTANTS_INSPECTOR", "maybe")
    with pytest.raises(ConfigurationError, match="ASSISTANTS_INSPECTOR is 'maybe'"):
        inspector_on(None, "127.0.0.1")
