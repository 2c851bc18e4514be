"""Through the server, a tenant's model string never makes it call what the operator did not set."""

from __future__ import annotations

import errno
import socket
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime.providers.router import LOCAL_PRESETS
from tests.conformance.support import serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

# The presets whose default ports the request-forgery test listens on.
DEFAULT_PORTS = {"ollama": 11434, "lmstudio": 1234, "llamacpp": 8080}


@pytest.fixture(autouse=True)
def _no_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """No local server is configured through the environment."""
    for env, _ in LOCAL_PRESETS.values():
        monkeypatch.delenv(env, raising=False)


@pytest.fixture(params=sorted(DEFAULT_PORTS))
def listener(request: pytest.FixtureRequest) -> Iterator[tuple[str, socket.socket]]:
    """A socket listening on a preset's real default port (skipped if the port is taken)."""
    preset = str(request.param)
    port = DEFAULT_PORTS[preset]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        pytest.skip(f"127.0.0.1:{port} ({preset}'s default) is in use on this machine")
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield preset, sock
    finally:
        sock.close()


def _connections(sock: socket.socket) -> int:
    """How many connections reached the listener (the kernel queues them without an accept)."""
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_unconfigured_preset__no_tenant_request_reaches_its_default_port(
    tmp_path: Path, listener: tuple[str, socket.socket]
) -> None:
    """`preset/x` as model, run override, create_and_run model or fallback: 400s, no connection."""
    preset, sock = listener
    model = f"{preset}/x"
    env = LOCAL_PRESETS[preset][0]
    with serve(tmp_path, client_options={"only_configured_providers": True}) as server:
        sdk = server.sdk()
        assistant = sdk.beta.assistants.create(model="test")
        thread = sdk.beta.threads.create()
        attempts: list[tuple[str, Callable[[], object]]] = [
            ("model", lambda: sdk.beta.assistants.create(model=model)),
            ("model", lambda: sdk.beta.assistants.update(assistant.id, model=model)),
            (
                "model",
                lambda: sdk.beta.threads.runs.create(
                    thread.id, assistant_id=assistant.id, model=model
                ),
            ),
            (
                "model",
                lambda: sdk.beta.threads.create_and_run(assistant_id=assistant.id, model=model),
            ),
            (
                "fallbacks[0]",
                lambda: sdk.beta.assistants.create(model="test", extra_body={"fallbacks": [model]}),
            ),
            (
                "fallbacks[0]",
                lambda: sdk.beta.threads.runs.create(
                    thread.id, assistant_id=assistant.id, extra_body={"fallbacks": [model]}
                ),
            ),
        ]
        for param, attempt in attempts:
            with pytest.raises(openai.BadRequestError) as info:
                attempt()
            assert (info.value.param, info.value.code) == (param, "model_not_found")
            assert f"needs provider '{preset}', which is not configured on this server: " in (
                info.value.message
            )
            assert f"set {env}" in info.value.message
        assert sdk.beta.threads.runs.list(thread.id).data == []
        assert sdk.beta.assistants.retrieve(assistant.id).model == "test"
    assert _connections(sock) == 0


def test_unconfigured_preset__the_listener_sees_a_configured_one(
    tmp_path: Path, listener: tuple[str, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: with its base URL set, the same run reaches the port (so the check can fail)."""
    preset, sock = listener
    env = LOCAL_PRESETS[preset][0]
    monkeypatch.setenv(env, f"http://127.0.0.1:{DEFAULT_PORTS[preset]}/v1")
    options = {
        "only_configured_providers": True,
        "provider_timeout_seconds": 1.0,
        "provider_max_retries": 0,
    }
    with serve(tmp_path, client_options=options) as server:
        sdk = server.sdk()
        assistant = sdk.beta.assistants.create(model=f"{preset}/x")
        run = sdk.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, poll_interval_ms=50, timeout=30
        )
        assert run.status == "failed"
        assert run.last_error is not None
        assert "timed out" in run.last_error.message
    assert _connections(sock) >= 1
