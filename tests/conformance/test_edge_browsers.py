"""Web pages and DNS rebinding against a server without keys: only loopback `Host` names, no
`Origin` outside the CORS allow-list, JSON bodies only; CORS preflights for allowed origins.
Also duplicate headers, which a proxy and the server could read differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.conftest import LiveServer
from tests.conformance.support import serve

APP = "http://localhost:3000"
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(
        tmp_path_factory.mktemp("keyless"),
        worker=False,
        cors_origins=[APP],
        body_types={"/v1/uploads": ["multipart/form-data"]},
    ) as live:
        yield live


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(
        tmp_path_factory.mktemp("keyed"), worker=False, keys=["key-a"], cors_origins=[APP]
    ) as live:
        yield live


@pytest.fixture
def http(keyless: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=keyless.base_url, timeout=20) as client:
        yield client


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    return dict(error)


def count(http: httpx.Client) -> int:
    return len(http.get("/assistants", params={"limit": 100}).json()["data"])


# --- content type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_body_not_sent_as_json__415_nothing_created(
    http: httpx.Client, content_type: str | None
) -> None:
    """A body whose Content-Type is not application/json (a form a page can post) is a 415."""
    before = count(http)
    headers = {"content-type": content_type} if content_type else {}
    response = http.post("/assistants", content=b'{"model": "test"}', headers=headers)
    error = refused(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert count(http) == before


def test_json_with_charset_and_empty_bodies__accepted(http: httpx.Client) -> None:
    """`application/json; charset=utf-8` is JSON; a POST with no body needs no Content-Type."""
    created = http.post(
        "/assistants",
        content=b'{"model": "test"}',
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert created.status_code == 200, created.text
    empty = http.post("/threads")
    assert empty.status_code == 200, empty.text


def test_other_media_types__allowed_per_path(http: httpx.Client) -> None:
    """A path prefix given other body types takes them (and only them) past the guard."""
    multipart = http.post(
        "/uploads", content=b"--x--", headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert multipart.status_code == 404  # past the guard: no such route yet
    json_there = http.post("/uploads", json={})
    refused(json_there, 415, "unsupported_media_type")


# --- host --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.", ""]
)
def test_keyless_server__refuses_foreign_host(http: httpx.Client, host: str) -> None:
    """Without keys, a Host that is not a loopback name (DNS rebinding) is a 400 on every route."""
    refused(http.get("/assistants", headers={"host": host}), 400, "invalid_host")
    before = count(http)
    response = http.post("/assistants", json={"model": "test"}, headers={"host": host})
    refused(response, 400, "invalid_host")
    assert count(http) == before


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1:1", "[::1]:8000"])
def test_keyless_server__answers_loopback_hosts(http: httpx.Client, host: str) -> None:
    """localhost, 127.0.0.1 and [::1] with any port are answered."""
    assert http.get("/assistants", headers={"host": host}).status_code == 200


def test_keyed_server__any_host(keyed: LiveServer) -> None:
    """With keys the key protects the data: any Host is answered (a reverse proxy's name)."""
    response = httpx.get(
        f"{keyed.base_url}/assistants",
        headers={"host": "assistants.internal", "authorization": "Bearer key-a"},
    )
    assert response.status_code == 200, response.text


# --- origin and CORS ---------------------------------------------------------------------------


def test_text_plain_post_from_a_foreign_page__403(http: httpx.Client) -> None:
    """The page-driven create (text/plain from http://evil.example) is a 403; nothing created."""
    before = count(http)
    response = http.post(
        "/assistants",
        content=b'{"model": "test"}',
        headers={"content-type": "text/plain", "origin": EVIL},
    )
    error = refused(response, 403, "origin_not_allowed")
    assert EVIL in error["message"]
    assert count(http) == before
    refused(http.get("/assistants", headers={"origin": EVIL}), 403, "origin_not_allowed")
    refused(http.get("/assistants", headers={"origin": "null"}), 403, "origin_not_allowed")


def test_allowed_origin__gets_cors_headers(http: httpx.Client) -> None:
    """A page from an allowed origin is answered with Access-Control-Allow-Origin for it."""
    response = http.post("/assistants", json={"model": "test"}, headers={"origin": APP})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize("server_name", ["keyless", "keyed"])
def test_preflight_from_allowed_origin__answered_without_key(
    request: pytest.FixtureRequest, server_name: str
) -> None:
    """An OPTIONS preflight from an allowed origin gets the CORS grant, with no key needed."""
    server: LiveServer = request.getfixturevalue(server_name)
    response = httpx.options(
        f"{server.base_url}/threads/thread_x/runs",
        headers={
            "origin": APP,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, openai-beta",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "openai-beta"} <= {
        h.strip() for h in allowed.split(",")
    }


def test_preflight_from_foreign_origin__403(http: httpx.Client) -> None:
    """A preflight from an origin not in the list is refused, so the browser sends nothing."""
    response = http.options(
        "/assistants", headers={"origin": EVIL, "access-control-request-method": "POST"}
    )
    refused(response, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in response.headers


def test_keyed_server__refuses_foreign_origin(keyed: LiveServer) -> None:
    """With keys too, a request from a page of a foreign origin is a 403."""
    response = httpx.get(
        f"{keyed.base_url}/assistants", headers={"origin": EVIL, "authorization": "Bearer key-a"}
    )
    refused(response, 403, "origin_not_allowed")


# --- duplicate headers -------------------------------------------------------------------------


def test_two_authorization_headers__refused_even_if_one_is_valid(keyed: LiveServer) -> None:
    """Two Authorization headers (a proxy may check the first, the server read the last): 400."""
    for pair in (["Bearer wrong", "Bearer key-a"], ["Bearer key-a", "Bearer wrong"]):
        headers = [("authorization", value) for value in pair]
        response = httpx.get(f"{keyed.base_url}/assistants", headers=headers)
        error = refused(response, 400, "duplicate_header")
        assert "Authorization" in error["message"]
    single = httpx.get(f"{keyed.base_url}/assistants", headers={"authorization": "Bearer key-a"})
    assert single.status_code == 200


@pytest.mark.parametrize("name", ["origin", "content-type"])
def test_other_duplicate_headers__refused(http: httpx.Client, name: str) -> None:
    """Two Origin or two Content-Type headers are refused the same way."""
    value = APP if name == "origin" else "application/json"
    response = http.post("/threads", content=b"{}", headers=[(name, value), (name, value)])
    refused(response, 400, "duplicate_header")


def test_app_without_cors_origins__refuses_every_origin(tmp_path: Path) -> None:
    """By default no origin is allowed: browsers cannot call the server at all."""
    with serve(tmp_path, worker=False) as live:
        response = httpx.get(f"{live.base_url}/assistants", headers={"origin": APP})
        refused(response, 403, "origin_not_allowed")
