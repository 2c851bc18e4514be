"""The shared httpx client under the adapters, against real loopback peers.

One request per attempt (no silent resend), proxies from the environment (HTTP CONNECT and
absolute form, socks5, NO_PROXY, loopback never proxied), gzip answers, and the errors a tenant
sees when a server cannot be reached, breaks a stream, or answers with an error body. Servers are
`FakeServer` (threaded) and the anyio peers of `peers`; stalls wait on events, never on sleeps.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import httpx
import pytest
from structlog.testing import capture_logs

from assistants import AsyncClient
from runtime.providers.base import ChatMessage, Finish, ModelRequest, ProviderCallError, TextDelta
from runtime.providers.gemini import GeminiProvider
from runtime.providers.http import CONNECT_TIMEOUT, MAX_REASON, new_http_client
from runtime.providers.openai_compat import OpenAICompatibleProvider
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from store.errors import ConfigurationError
from tests.runtime.providers.fake_server import (
    DONE,
    FakeServer,
    Reply,
    collect,
    collect_error,
    delta,
)
from tests.runtime.providers.peers import HTTPProxy, KeepAliveModel, Socks5Proxy

KEY = "sk-test-0123456789abcdef"
Transport = Literal["httpx", "aiohttp"]
OTHER_LOOPBACK = "127.0.0.2"  # a loopback address the client does not treat as local: proxied


def ask(text: str = "hi") -> ModelRequest:
    return ModelRequest(model="m", messages=[ChatMessage("user", text)])


def provider_at(
    base_url: str, client: httpx.AsyncClient, **options: Any
) -> OpenAICompatibleProvider:
    options.setdefault("backoff_base", 0.001)
    return OpenAICompatibleProvider(
        "local", base_url=base_url, api_key=KEY, client=client, **options
    )


def answer(text: str = "ok") -> Reply:
    return Reply(events=[delta(content=text), delta("stop"), DONE])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["httpx", "aiohttp"])
def transport(request: pytest.FixtureRequest) -> Transport:
    """Each case on both transports of the client (aiohttp on asyncio only: see conftest)."""
    kind: Transport = request.param
    return kind


@pytest.fixture
async def client(transport: Transport) -> AsyncIterator[httpx.AsyncClient]:
    async with new_http_client(read_timeout=60, transport=transport) as http:
        yield http


@pytest.fixture
def other_server() -> Iterator[FakeServer]:
    """A model server on 127.0.0.2: loopback, but not a host the client reaches directly."""
    fake = FakeServer(host=OTHER_LOOPBACK)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.2, and its key, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("making a test certificate needs the openssl CLI")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=model.test", "-addext", f"subjectAltName=IP:{OTHER_LOOPBACK}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


# --- the client ---------------------------------------------------------------------------------


async def test_router_client__configured_limits_and_timeouts_and_closed_with_the_router() -> None:
    """The router's one client: connect 10 s, reads at provider_timeout_seconds, closed on aclose."""
    router = ProviderRouter(Settings(provider_timeout_seconds=42.0, max_concurrent_runs=500))
    client = router.http
    assert router.http is client
    assert (client.timeout.connect, client.timeout.read) == (CONNECT_TIMEOUT, 42.0)
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert (pool._max_connections, pool._keepalive_expiry) == (500, 5.0)
    assert client.trust_env
    await router.aclose()
    assert client.is_closed


async def test_router_client__closed_when_the_worker_and_client_close() -> None:
    """The embedded worker's router makes the shared httpx client; closing closes it."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:") as assistants:
        await assistants.store()
        worker = assistants.worker
        assert worker is not None
        http = worker.router.http
        assert not http.is_closed
    assert http.is_closed


# --- one request per attempt ---------------------------------------------------------------------


async def test_one_request__a_connection_the_server_closed_after_answering_is_not_resent_to(
    transport: Transport,
) -> None:
    """After the server closed a kept-alive connection, the next call is exactly one request."""
    async with (
        KeepAliveModel("close").run() as server,
        new_http_client(read_timeout=30, transport=transport) as client,
    ):
        provider = provider_at(server.base_url, client)
        assert await collect(provider, ask()) == [TextDelta("answer 1"), Finish("stop")]
        await server.first_closed.wait()
        assert await collect(provider, ask()) == [TextDelta("answer 2"), Finish("stop")]
    assert (server.requests, server.connections) == (2, 2)


async def test_one_request__a_request_dropped_unanswered_is_retried_only_by_the_policy(
    transport: Transport,
) -> None:
    """A request the server read and dropped: the policy's one retry is the only other request."""
    async with (
        KeepAliveModel("drop_next").run() as server,
        new_http_client(read_timeout=30, transport=transport) as client,
    ):
        provider = provider_at(server.base_url, client, max_retries=1)
        assert await collect(provider, ask()) == [TextDelta("answer 1"), Finish("stop")]
        with capture_logs() as logs:
            assert await collect(provider, ask()) == [TextDelta("answer 3"), Finish("stop")]
    assert server.requests == 3  # the first call's, the dropped one, the policy's retry
    assert [entry["attempt"] for entry in logs if entry["event"] == "provider_retry"] == [1]


async def test_one_request__without_retries_a_dropped_request_is_sent_once(
    transport: Transport,
) -> None:
    """max_retries=0: a request the server dropped unanswered fails; it reached the server once."""
    async with (
        KeepAliveModel("drop_next").run() as server,
        new_http_client(read_timeout=30, transport=transport) as client,
    ):
        provider = provider_at(server.base_url, client, max_retries=0)
        await collect(provider, ask())
        _, error = await collect_error(provider, ask())
    assert server.requests == 2
    assert (error.code, error.retryable) == ("server_error", True)
    assert f"Provider 'local' (127.0.0.1:{server.port}) closed the connection before answering" in (
        error.message
    )


# --- proxies ------------------------------------------------------------------------------------


async def test_proxy__http_proxy_forwards_in_absolute_form(
    transport: Transport, other_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY: the POST goes to the proxy with the whole URL, and on to the model server."""
    other_server.queue(answer())
    async with HTTPProxy().run() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with new_http_client(read_timeout=30, transport=transport) as client:
            chunks = await collect(provider_at(other_server.base_url, client), ask())
    assert chunks == [TextDelta("ok"), Finish("stop")]
    target = f"http://{OTHER_LOOPBACK}:{other_server.port}/v1/chat/completions"
    assert proxy.forwarded == [f"POST {target} HTTP/1.1"]
    assert proxy.bytes_back > 0
    assert [seen.path for seen in other_server.requests] == ["/v1/chat/completions"]


async def test_proxy__https_proxy_tunnels_with_connect(
    transport: Transport, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY: a CONNECT tunnel to host:port, then TLS to the model server through it."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    server = FakeServer(host=OTHER_LOOPBACK, tls=tls)
    try:
        server.queue(answer())
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        async with HTTPProxy().run() as proxy:
            monkeypatch.setenv("HTTPS_PROXY", proxy.url)
            async with new_http_client(read_timeout=30, transport=transport) as client:
                chunks = await collect(provider_at(server.base_url, client), ask())
    finally:
        server.close()
    assert chunks == [TextDelta("ok"), Finish("stop")]
    assert proxy.tunnels == [f"{OTHER_LOOPBACK}:{server.port}"]
    assert proxy.forwarded == []
    assert proxy.bytes_back > 0
    assert len(server.requests) == 1


async def test_proxy__all_proxy_socks5(
    other_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALL_PROXY=socks5://: the connection to the model server goes through the SOCKS5 server."""
    other_server.queue(answer())
    async with Socks5Proxy().run() as socks:
        monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{socks.port}")
        async with new_http_client(read_timeout=30) as client:
            chunks = await collect(provider_at(other_server.base_url, client), ask())
    assert chunks == [TextDelta("ok"), Finish("stop")]
    assert socks.targets == [(OTHER_LOOPBACK, other_server.port)]
    assert socks.bytes_back > 0
    assert len(other_server.requests) == 1


async def test_proxy__no_proxy_hosts_are_reached_directly(
    transport: Transport, other_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host in NO_PROXY bypasses HTTP_PROXY and ALL_PROXY; the proxy sees nothing."""
    other_server.queue(answer())
    async with HTTPProxy().run() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", f"example.com,{OTHER_LOOPBACK}")
        async with new_http_client(read_timeout=30, transport=transport) as client:
            chunks = await collect(provider_at(other_server.base_url, client), ask())
    assert chunks == [TextDelta("ok"), Finish("stop")]
    assert proxy.connections == 0
    assert len(other_server.requests) == 1


async def test_proxy__local_servers_are_never_proxied(
    transport: Transport, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """127.0.0.1 (and localhost, ::1) is reached directly even with every proxy variable set."""
    server.queue(answer())
    async with HTTPProxy().run() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        async with new_http_client(read_timeout=30, transport=transport) as client:
            chunks = await collect(provider_at(server.base_url, client), ask())
    assert chunks == [TextDelta("ok"), Finish("stop")]
    assert proxy.connections == 0


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:21", "socks4://127.0.0.1:1080"])
def test_proxy__an_unsupported_proxy_scheme_is_a_configuration_error(
    transport: Transport, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """A proxy URL of another scheme refuses to make the client, naming the schemes allowed."""
    monkeypatch.setenv("ALL_PROXY", url)
    with pytest.raises(ConfigurationError, match=r"Use http://, https://, socks5:// or socks5h://"):
        new_http_client(read_timeout=30, transport=transport)


async def test_cookies__a_cookie_a_provider_sets_is_never_sent_back(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """The shared client keeps no cookies: one call's Set-Cookie never reaches the next call."""
    server.queue(
        Reply(
            events=[delta(content="a"), delta("stop"), DONE], headers={"Set-Cookie": "s=1; Path=/"}
        ),
        answer(),
    )
    provider = provider_at(server.base_url, client)
    await collect(provider, ask())
    await collect(provider, ask())
    assert [seen.headers.get("cookie") for seen in server.requests] == [None, None]


# --- gzip ---------------------------------------------------------------------------------------


async def test_gzip__a_gzipped_json_body(server: FakeServer, client: httpx.AsyncClient) -> None:
    """A non-streamed answer sent with Content-Encoding: gzip is decoded."""
    message = {"role": "assistant", "content": "zipped"}
    body = {"id": "c1", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    server.queue(Reply(body=body, gzip=True))
    chunks = await collect(provider_at(server.base_url, client, stream=False), ask())
    assert chunks == [TextDelta("zipped"), Finish("stop")]
    assert "gzip" in server.requests[0].headers["accept-encoding"]


async def test_gzip__a_gzipped_event_stream(server: FakeServer, client: httpx.AsyncClient) -> None:
    """A server-sent-events stream gzipped event by event is decoded as it arrives."""
    server.queue(
        Reply(events=[delta(content="a"), delta(content="b"), delta("stop"), DONE], gzip=True)
    )
    chunks = await collect(provider_at(server.base_url, client), ask())
    assert chunks == [TextDelta("a"), TextDelta("b"), Finish("stop")]


# --- errors -------------------------------------------------------------------------------------


async def test_error__a_stream_cut_after_output_says_the_provider_closed_it_mid_stream(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A stream cut after a chunk names the provider and host, never 'Could not reach'."""
    server.queue(Reply(events=[delta(content="par"), delta(content="tial"), DONE], drop_after=1))
    chunks, error = await collect_error(provider_at(server.base_url, client), ask())
    assert chunks == [TextDelta("par")]
    assert len(server.requests) == 1
    assert (error.code, error.retryable) == ("server_error", False)
    assert "broke after output had begun" in error.message
    assert f"Provider 'local' (127.0.0.1:{server.port}) closed the connection mid-stream" in (
        error.message
    )
    assert "Could not reach" not in error.message


async def test_error__a_read_timeout_is_retried_then_says_it_timed_out(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server slower than the call's timeout: each attempt is one request that timed out."""
    release = threading.Event()
    server.queue(Reply(body={}, hold=release), Reply(body={}, hold=release))
    try:
        _, error = await collect_error(
            provider_at(server.base_url, client, timeout=0.2, max_retries=1), ask()
        )
    finally:
        release.set()
    assert len(server.requests) == 2
    assert error.message == "The request to provider 'local' timed out (ReadTimeout)"
    assert (error.code, error.retryable) == ("server_error", True)


async def test_error__an_untrusted_certificate_is_could_not_reach(
    transport: Transport, certificate: tuple[Path, Path]
) -> None:
    """A self-signed certificate nobody trusts: the provider could not be reached, and why."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    server = FakeServer(host=OTHER_LOOPBACK, tls=tls)
    try:
        async with new_http_client(read_timeout=30, transport=transport) as client:
            provider = provider_at(server.base_url, client, max_retries=0)
            _, error = await collect_error(provider, ask())
    finally:
        server.close()
    assert error.message.startswith(
        f"Could not reach provider 'local' at {OTHER_LOOPBACK}:{server.port}: "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in error.message
    assert server.requests == []


@pytest.mark.parametrize(
    ("preset", "variable"),
    [
        ("llamacpp", "LLAMACPP_BASE_URL"),
        ("ollama", "OLLAMA_BASE_URL"),
        ("openai", "OPENAI_BASE_URL"),
    ],
)
async def test_error__a_refused_connection_names_the_variable_that_set_the_url(
    transport: Transport, monkeypatch: pytest.MonkeyPatch, preset: str, variable: str
) -> None:
    """Nobody listening at a base URL from the environment: the error names that variable."""
    port = free_port()
    monkeypatch.setenv(variable, f"http://127.0.0.1:{port}/v1")
    router = ProviderRouter(Settings(provider_max_retries=0, provider_http_transport=transport))
    try:
        route = router.resolve(f"{preset}/m")
        with pytest.raises(ProviderCallError) as info:
            await collect(route.provider, ask())
    finally:
        await router.aclose()
    assert info.value.message == (
        f"Could not reach provider '{preset}' at 127.0.0.1:{port}: Connection refused "
        f"(the base URL is set by {variable})"
    )
    assert (info.value.code, info.value.retryable) == ("server_error", True)


async def test_error__a_refused_default_url_says_which_variable_changes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A preset's default URL unreachable: the error says it is the default and how to change it."""
    monkeypatch.delenv("VLLM_BASE_URL", raising=False)
    router = ProviderRouter(Settings(provider_max_retries=0))
    try:
        provider = router.resolve("vllm/m").provider
    finally:
        await router.aclose()
    assert isinstance(provider, OpenAICompatibleProvider)
    assert provider._base_url_source == "the default; set VLLM_BASE_URL to use another"


async def test_error__a_vendor_json_error_body_gives_only_its_cleaned_message(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A JSON error body: the status and its message, cut and without control characters; the
    whole body goes to the server log only."""
    message = "Bad\x1b[31m thing\r\nhappened\x00 " + "x" * 400
    body = {"error": {"message": message, "type": "invalid_request_error"}, "trace": "internal-1"}
    server.queue(Reply(400, body))
    with capture_logs() as logs:
        _, error = await collect_error(provider_at(server.base_url, client), ask())
    reason = error.message.split("(HTTP 400): ", 1)[1]
    assert reason.startswith("Bad[31m thing happened x")
    assert len(reason) == MAX_REASON
    assert not any(ord(c) < 32 or ord(c) == 127 for c in reason)
    assert "internal-1" not in error.message
    [logged] = [entry for entry in logs if entry["event"] == "provider_error_body"]
    assert (logged["log_level"], logged["provider"], logged["status"]) == ("warning", "local", 400)
    assert "internal-1" in logged["body"]
    assert message in json.loads(logged["body"])["error"]["message"]


async def test_error__another_error_body_gives_only_the_status_and_reason(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A body without the vendor's error shape (an HTML page, odd JSON) is never shown: status
    and reason phrase only; the server log has the body."""
    page = b"<html><body>nginx internal 10.0.0.7 upstream timeout</body></html>"
    server.queue(Reply(502, page), Reply(502, {"status": "down", "host": "10.0.0.7"}))
    with capture_logs() as logs:
        _, error = await collect_error(provider_at(server.base_url, client, max_retries=1), ask())
    assert error.message == "Provider 'local' returned HTTP 502: Bad Gateway"
    assert error.status == 502
    bodies = [entry["body"] for entry in logs if entry["event"] == "provider_error_body"]
    assert len(bodies) == 2
    assert page.decode() in bodies[0]
    assert "10.0.0.7" in bodies[1]


async def test_error__the_logged_error_body_hides_the_key(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server echoing the API key in its error body: the key is in neither message nor log."""
    server.queue(Reply(403, f"forbidden for {KEY}".encode()))
    with capture_logs() as logs:
        _, error = await collect_error(provider_at(server.base_url, client), ask())
    [logged] = [entry for entry in logs if entry["event"] == "provider_error_body"]
    assert KEY not in logged["body"]
    assert KEY not in error.message
    assert "forbidden for ***" in logged["body"]


# --- the aiohttp transport ----------------------------------------------------------------------


def test_aiohttp__a_socks_proxy_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp has no SOCKS: a socks5 proxy refuses to make the client, saying what to set."""
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ConfigurationError, match=r"set provider_http_transport to 'httpx'"):
        new_http_client(read_timeout=30, transport="aiohttp")


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_aiohttp__refused_clearly_on_trio(server: FakeServer, anyio_backend: str) -> None:
    """On trio the aiohttp transport fails the call at once, naming the setting; nothing is sent."""
    async with new_http_client(read_timeout=30, transport="aiohttp") as client:
        _, error = await collect_error(provider_at(server.base_url, client), ask())
    assert error.message == (
        "Cannot send a request to provider 'local': The aiohttp provider transport runs on "
        "asyncio only (set provider_http_transport to 'httpx')"
    )
    assert not error.retryable
    assert server.requests == []


async def test_model_segment__stays_percent_encoded_on_every_transport(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """Gemini's model stays one path segment on the wire, whatever the transport re-encodes."""
    server.queue(Reply(events=['data: {"candidates": [{"content": {"parts": [{"text": "ok"}]}, '
                               '"finishReason": "STOP"}]}\n\n']))  # fmt: skip
    provider = GeminiProvider(base_url=server.base_url, api_key=KEY, client=client)
    request = ModelRequest(model="../../admin/x?y=", messages=[ChatMessage("user", "hi")])
    assert await collect(provider, request) == [TextDelta("ok"), Finish("stop")]
    [seen] = server.requests
    path, _, query = seen.path.partition("?")
    assert path.split("/")[:3] == ["", "v1", "models"]
    assert unquote(path.split("/")[3]) == "../../admin/x?y=:streamGenerateContent"
    assert (len(path.split("/")), query) == (4, "alt=sse")
