"""`GET /v1/models` through the official SDK: what this server can run, in OpenAI's shapes."""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog

from runtime.providers.router import LOCAL_PRESETS
from tests.conformance.support import check_error, serve
from tests.runtime.providers.fake_server import FakeServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

OLLAMA_MODELS = [
    {"id": "llama3.2:1b", "object": "model", "created": 1_700_000_000, "owned_by": "library"},
    {"id": "qwen2.5:7b", "object": "model", "owned_by": "library"},
    {"id": "not a name"},
    {"object": "model"},
]


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """An Ollama-like server on loopback, configured as OLLAMA_BASE_URL."""
    for env, _ in LOCAL_PRESETS.values():
        monkeypatch.delenv(env, raising=False)
    fake = FakeServer()
    fake.models = OLLAMA_MODELS
    monkeypatch.setenv("OLLAMA_BASE_URL", fake.base_url)
    try:
        yield fake
    finally:
        fake.close()


def _closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_list__test_aliases_and_the_configured_servers_models(
    tmp_path: Path, ollama: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`client.models.list()`: `test`, the aliases, then `server/model` for each server's models."""
    monkeypatch.setenv("CORP_KEY", "sk-corp")
    options = {
        "only_configured_providers": True,
        "model_aliases": {"gpt-4o": "ollama/llama3.2:1b", "*": "test"},
        "endpoints": {"corp": {"base_url": ollama.base_url, "api_key_env": "CORP_KEY"}},
    }
    with serve(tmp_path, worker=False, client_options=options) as server:
        models = server.sdk().models.list()
        raw = httpx.get(f"{server.base_url}/models", headers={"Authorization": "Bearer x"})
    assert [(m.id, m.owned_by) for m in models] == [
        ("test", "assistants-runtime"),
        ("gpt-4o", "ollama"),
        ("ollama/llama3.2:1b", "ollama"),
        ("ollama/qwen2.5:7b", "ollama"),
        ("corp/llama3.2:1b", "corp"),
        ("corp/qwen2.5:7b", "corp"),
    ]
    assert {m.object for m in models} == {"model"}
    assert models.data[2].created == 1_700_000_000
    assert all(m.created > 0 for m in models)
    body = raw.json()
    assert list(body) == ["object", "data"]
    assert body["object"] == "list"
    assert list(body["data"][0]) == ["id", "object", "created", "owned_by"]
    asked = {(seen.path, seen.headers.get("authorization")) for seen in ollama.requests}
    assert asked == {("/v1/models", None), ("/v1/models", "Bearer sk-corp")}


def test_retrieve__a_listed_model_or_a_404_in_openai_wording(
    tmp_path: Path, ollama: FakeServer
) -> None:
    """`client.models.retrieve(id)` returns a listed model; an unknown id is model_not_found."""
    options = {"only_configured_providers": True, "model_aliases": {"fast": "test"}}
    with serve(tmp_path, worker=False, client_options=options) as server:
        sdk = server.sdk()
        model = sdk.models.retrieve("ollama/llama3.2:1b")
        alias = sdk.models.retrieve("fast")
        with pytest.raises(openai.NotFoundError) as info:
            sdk.models.retrieve("ollama/llama9")
        with pytest.raises(openai.NotFoundError) as unusable:
            sdk.models.retrieve("lmstudio/x")
    assert (model.id, model.object, model.owned_by) == ("ollama/llama3.2:1b", "model", "ollama")
    assert (alias.id, alias.owned_by) == ("fast", "test")
    check_error(
        info.value,
        404,
        "The model 'ollama/llama9' does not exist",
        code="model_not_found",
        param="model",
    )
    assert unusable.value.code == "model_not_found"


def test_list__a_server_that_is_down_is_skipped_with_a_warning(
    tmp_path: Path, ollama: FakeServer
) -> None:
    """An endpoint refusing connections, or answering 404, leaves the rest of the list intact."""
    ollama.models = None  # answers 404
    options = {"endpoints": {"down": {"base_url": f"http://127.0.0.1:{_closed_port()}/v1"}}}
    with (
        structlog.testing.capture_logs() as logs,
        serve(tmp_path, worker=False, client_options=options) as server,
    ):
        models = server.sdk().models.list()
    assert [m.id for m in models] == ["test"]
    warned = {(e["event"], e["server"]) for e in logs if e["log_level"] == "warning"}
    assert warned == {("model_list_unavailable", "ollama"), ("model_list_unavailable", "down")}


def test_models__need_an_api_key_like_every_route(tmp_path: Path) -> None:
    """With keys configured, both routes answer 401 without one and 200 with one."""
    with serve(tmp_path, worker=False, keys=["sk-a"]) as server:
        with pytest.raises(openai.AuthenticationError):
            server.sdk(api_key="sk-wrong").models.list()
        with pytest.raises(openai.AuthenticationError):
            server.sdk(api_key="sk-wrong").models.retrieve("test")
        assert server.sdk(api_key="sk-a").models.retrieve("test").id == "test"
