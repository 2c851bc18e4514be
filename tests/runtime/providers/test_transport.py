"""The provider path's HTTP/1.1 client against real loopback servers that send exact bytes.

Each server (`raw_server.RawServer`) runs a per-connection script in a thread, so every framing,
keep-alive and failure case is what a real peer would do on the wire. Stalls wait on events,
never on sleeps. Every test runs on asyncio and on trio.
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

import anyio
import pytest

from runtime.providers.transport import (
    ConnectError,
    HTTPClient,
    ProxyError,
    ReadTimeout,
    RemoteProtocolError,
    Response,
)
from runtime.providers.transport_env import ProxySettings
from tests.runtime.providers.raw_server import OK, Peer, ProxyServer, RawServer, answering

KEY = "sk-secret-0123456789"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxies_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set the proxy variables they need; none leaks in from the environment."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    async with HTTPClient(trust_env=False) as http:
        yield http


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for `tls.test` and 127.0.0.1, and its key, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("making a test certificate needs the openssl CLI (no cryptography/trustme)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=tls.test",
            "-addext", "subjectAltName=DNS:tls.test,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def serving(*replies: bytes, tls: ssl.SSLContext | None = None) -> RawServer:
    """A server answering requests with `replies` in turn, then `OK` (see `answering`)."""
    return RawServer(answering(*replies), tls=tls)


@pytest.fixture
def servers() -> Iterator[list[RawServer]]:
    """Servers a test starts (append them): closed after it."""
    started: list[RawServer] = []
    yield started
    for server in started:
        server.close()


async def get(client: HTTPClient, url: str, method: str = "GET") -> tuple[Response, bytes]:
    async with client.stream(method, url, timeout=10) as response:
        return response, await response.aread()


# --- framing ---------------------------------------------------------------------------------


async def test_stream__reads_a_content_length_body(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """A Content-Length body is read exactly, with the status and headers."""
    server = serving(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Id: 7\r\n\r\nhello")
    servers.append(server)
    response, body = await get(client, server.url())
    assert (response.status_code, response.is_success, body) == (201, True, b"hello")
    assert response.content == b"hello"
    assert response.headers["x-id"] == "7"


async def test_stream__decodes_chunks_ignoring_extensions_and_skipping_trailers(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Chunk extensions are ignored and trailers skipped: the next request reuses the connection."""
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;name=value\r\nWiki\r\n5 ; x="y"\r\npedia\r\nA\r\n in chunks\r\n'
        b"0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n"
    )
    server = serving(chunked, chunked)
    servers.append(server)
    for _ in range(2):
        _, body = await get(client, server.url())
        assert body == b"Wikipedia in chunks"
    assert server.accepted == 1


async def test_stream__reads_a_body_without_length_until_the_server_closes(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """No Content-Length and no chunking: the body runs to the close, and the connection ends."""

    def answer(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ")
        peer.send(b"the end")

    server = RawServer(answer)
    servers.append(server)
    assert (await get(client, server.url()))[1] == b"until the end"
    assert (await get(client, server.url()))[1] == b"until the end"
    assert server.accepted == 2


async def test_stream__skips_interim_1xx_responses(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """100 Continue and 103 Early Hints before the final response are skipped."""
    server = serving(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK
    )
    servers.append(server)
    response, body = await get(client, server.url())
    assert (response.status_code, body) == (200, b"ok")
    assert "link" not in response.headers


async def test_stream__head_and_204_answers_have_no_body(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """A HEAD's Content-Length and a 204 announce no body; the connection serves on."""
    server = serving(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n"
    )
    servers.append(server)
    assert (await get(client, server.url(), "HEAD"))[1] == b""
    response, body = await get(client, server.url())
    assert (response.status_code, body) == (204, b"")
    assert (await get(client, server.url()))[1] == b"ok"
    assert server.accepted == 1


async def test_stream__lines_split_on_lf_crlf_and_cr_across_pieces(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """aiter_lines splits on LF, CRLF (even cut between two reads) and CR; bad UTF-8 is replaced."""
    server = serving(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nd\xc3\xa9j\xc3\r\n"  # "déjà" cut inside its last character
        b"7\r\n\xa0\na\r\nb\r\r\n"  # this chunk ends with "\r": half of a CRLF
        b"B\r\n\nc\rd\xff\n\nlast\r\n"  # a last line without its line end
        b"0\r\n\r\n"
    )
    servers.append(server)
    async with client.stream("GET", server.url(), timeout=10) as response:
        lines = [line async for line in response.aiter_lines()]
    assert lines == ["déjà", "a", "b", "c", "d\ufffd", "", "last"]


async def test_stream__headers_are_case_insensitive_and_repeats_are_joined(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Header names match in any case; a repeated header reads as its values joined by ", "."""
    server = serving(
        b"HTTP/1.1 200 OK\r\nX-Thing: a\r\nContent-Length: 0\r\nx-thing: b\r\n"
        b"Retry-After:  3 \r\n\r\n"
    )
    servers.append(server)
    response, _ = await get(client, server.url())
    assert response.headers["X-THING"] == response.headers["x-thing"] == "a, b"
    assert response.headers.get("retry-after") == "3"
    assert "RETRY-AFTER" in response.headers
    assert set(response.headers) == {"x-thing", "content-length", "retry-after"}


async def test_stream__writes_the_expected_request_bytes(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Request line, host, user-agent, content-length and -type, then the caller's headers."""
    server = serving()
    servers.append(server)
    body = {"model": "m", "text": "é"}
    async with client.stream(
        "POST",
        server.url("/v1/chat?alt=sse"),
        headers={"Authorization": f"Bearer {KEY}", "User-Agent": "mine"},
        json=body,
        timeout=10,
    ) as response:
        await response.aread()
    encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert server.requests == [
        b"POST /v1/chat?alt=sse HTTP/1.1\r\n"
        + f"host: 127.0.0.1:{server.port}\r\n".encode()
        + f"content-length: {len(encoded)}\r\n".encode()
        + b"content-type: application/json\r\n"
        + f"Authorization: Bearer {KEY}\r\nUser-Agent: mine\r\n\r\n".encode()
        + encoded
    ]


# --- keep-alive ------------------------------------------------------------------------------


async def test_stream__reuses_a_keepalive_connection(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Sequential requests to one origin share one connection."""
    server = serving()
    servers.append(server)
    for _ in range(5):
        assert (await get(client, server.url()))[1] == b"ok"
    assert server.accepted == 1
    assert len(server.requests) == 5


async def test_stream__connection_close_is_not_reused(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """A response saying `Connection: close` ends its connection, as does an HTTP/1.0 one."""
    server = serving(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )
    servers.append(server)
    for _ in range(3):
        assert (await get(client, server.url()))[1] == b"ok"
    assert server.accepted == 3


async def test_stream__http10_keepalive_is_reused(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """An HTTP/1.0 response with `Connection: keep-alive` keeps its connection."""
    reply = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"
    server = serving(reply, reply)
    servers.append(server)
    for _ in range(2):
        assert (await get(client, server.url()))[1] == b"ok"
    assert server.accepted == 1


async def test_stream__a_pooled_connection_the_server_closed_is_retried_fresh(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """The server closed the idle connection: the request is sent again on a new one."""

    def answer_once(peer: Peer) -> None:
        peer.read_request()
        peer.send(OK)  # keep-alive, yet the server closes right after

    server = RawServer(answer_once)
    servers.append(server)
    assert (await get(client, server.url()))[1] == b"ok"
    assert (await get(client, server.url()))[1] == b"ok"
    assert server.accepted == 2


async def test_stream__a_reused_connection_failing_after_answer_bytes_is_not_retried(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Once any byte of the answer arrived, a broken response is an error, never resent."""

    def answer(peer: Peer) -> None:
        peer.read_request()
        peer.send(OK)
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-")

    server = RawServer(answer)
    servers.append(server)
    await get(client, server.url())
    with pytest.raises(RemoteProtocolError, match="middle of the response head"):
        await get(client, server.url())
    assert (server.accepted, len(server.requests)) == (1, 2)


async def test_stream__leaving_before_the_end_closes_the_connection(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """A response left unread is not pooled: the next request opens a new connection."""
    server = serving()
    servers.append(server)
    async with client.stream("GET", server.url(), timeout=10) as response:
        assert response.status_code == 200
    assert (await get(client, server.url()))[1] == b"ok"
    assert server.accepted == 2


async def test_stream__cancellation_mid_body_closes_the_connection(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Cancelled while the body streams: that connection closes, the next request opens one."""
    release = threading.Event()
    closed = threading.Event()

    def answer(peer: Peer) -> None:
        if peer.index:
            answering()(peer)
            return
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n")
        release.wait(10)
        if peer.read_request() is None:  # the client closed its end
            closed.set()

    server = RawServer(answer)
    servers.append(server)
    pieces = []
    with anyio.CancelScope() as scope:
        async with client.stream("GET", server.url(), timeout=10) as response:
            async for piece in response.aiter_bytes():
                pieces.append(piece)
                scope.cancel()
    release.set()
    assert pieces == [b"one"]
    assert (await get(client, server.url()))[1] == b"ok"
    assert server.accepted == 2
    assert closed.wait(10)


async def test_stream__idle_connections_expire(servers: list[RawServer]) -> None:
    """A connection idle for `keepalive_expiry` (0 here) is not reused."""
    server = serving()
    servers.append(server)
    async with HTTPClient(keepalive_expiry=0, trust_env=False) as client:
        for _ in range(2):
            await get(client, server.url())
    assert server.accepted == 2


# --- failures --------------------------------------------------------------------------------


async def test_stream__a_close_mid_chunk_is_a_protocol_error(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """The server closing inside a chunk: RemoteProtocolError, not a short body."""

    def answer(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")

    server = RawServer(answer)
    servers.append(server)
    with pytest.raises(RemoteProtocolError, match=f"127.0.0.1:{server.port} closed .* chunk"):
        await get(client, server.url())


async def test_stream__eof_before_the_content_length_is_an_error(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Fewer bytes than Content-Length before the close: RemoteProtocolError."""

    def answer(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")

    server = RawServer(answer)
    servers.append(server)
    with pytest.raises(RemoteProtocolError, match="7 bytes before the end"):
        await get(client, server.url())


@pytest.mark.parametrize(
    "status_line", [b"HTTP/1.1 abc OK", b"ICY 200 OK", b"HTTP/2 200", b"HTTP/1.1 2000 OK"]
)
async def test_stream__a_malformed_status_line_is_a_protocol_error(
    client: HTTPClient, servers: list[RawServer], status_line: bytes
) -> None:
    """A status line that is not `HTTP/1.x NNN reason`: RemoteProtocolError."""
    server = serving(status_line + b"\r\nContent-Length: 0\r\n\r\n")
    servers.append(server)
    with pytest.raises(RemoteProtocolError, match="malformed status line"):
        await get(client, server.url())


async def test_stream__a_head_over_64_kib_is_a_protocol_error(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Response headers past 64 KiB: RemoteProtocolError, whether or not the head ends."""
    big = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"x" * 100) for i in range(700))
    server = serving(b"HTTP/1.1 200 OK\r\n" + big + b"\r\n", b"HTTP/1.1 200 OK\r\n" + big)
    servers.append(server)
    for _ in range(2):
        with pytest.raises(RemoteProtocolError, match="over 64 KiB"):
            await get(client, server.url())


async def test_stream__a_refused_connection_is_a_connect_error(client: HTTPClient) -> None:
    """Nobody listening: ConnectError naming host and port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError, match=f"127.0.0.1:{port}: Connection refused"):
        await get(client, f"http://127.0.0.1:{port}/")


async def test_stream__a_stalled_body_is_a_read_timeout(
    client: HTTPClient, servers: list[RawServer]
) -> None:
    """Headers, then nothing for `timeout` seconds: ReadTimeout, whose message has no header."""
    release = threading.Event()

    def answer(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
        release.wait(10)

    server = RawServer(answer)
    servers.append(server)
    try:
        async with client.stream(
            "GET", server.url(), headers={"x-api-key": KEY}, timeout=0.2
        ) as response:
            with pytest.raises(ReadTimeout) as info:
                await response.aread()
    finally:
        release.set()
    assert f"127.0.0.1:{server.port}" in str(info.value)
    assert KEY not in str(info.value)


# --- TLS and proxies -------------------------------------------------------------------------


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def test_stream__https_with_a_trusted_self_signed_certificate(
    certificate: tuple[Path, Path], servers: list[RawServer]
) -> None:
    """https to a loopback TLS server whose certificate the given context trusts; kept alive."""
    server = serving(tls=server_tls(certificate))
    servers.append(server)
    async with HTTPClient(ssl_context=trusting(certificate), trust_env=False) as client:
        for _ in range(2):
            assert (await get(client, server.url(scheme="https")))[1] == b"ok"
    assert server.accepted == 1


async def test_stream__ssl_cert_file_sets_the_default_trust(
    certificate: tuple[Path, Path], servers: list[RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `ssl_context`, SSL_CERT_FILE names the certificates https trusts."""
    server = serving(tls=server_tls(certificate))
    servers.append(server)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with HTTPClient() as client:
        assert (await get(client, server.url(scheme="https")))[1] == b"ok"


async def test_stream__an_untrusted_certificate_is_a_connect_error(
    certificate: tuple[Path, Path], servers: list[RawServer], client: HTTPClient
) -> None:
    """The default context does not trust a self-signed certificate: ConnectError."""
    server = serving(tls=server_tls(certificate))
    servers.append(server)
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await get(client, server.url(scheme="https"))


async def test_stream__https_through_a_connect_proxy(
    certificate: tuple[Path, Path], servers: list[RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY: a CONNECT tunnel (with the proxy's credentials) to host:port, then TLS."""
    origin = serving(tls=server_tls(certificate))
    proxy = ProxyServer()
    servers.extend([origin, proxy])
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:p%40ss@127.0.0.1:{proxy.port}")
    async with HTTPClient(ssl_context=trusting(certificate)) as client:
        url = f"https://tls.test:{origin.port}/v1/messages"
        response, body = await get(client, url)
    assert (response.status_code, body) == (200, b"ok")
    [connect] = proxy.requests
    assert connect.startswith(f"CONNECT tls.test:{origin.port} HTTP/1.1\r\n".encode())
    assert b"proxy-authorization: Basic dXNlcjpwQHNz\r\n" in connect  # user:p@ss
    [request] = origin.requests
    assert request.startswith(b"GET /v1/messages HTTP/1.1\r\n")
    assert b"proxy-authorization" not in request.lower()


async def test_stream__http_through_a_proxy_uses_the_absolute_form(
    servers: list[RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY: the request goes to the proxy with the whole URL as its target."""
    proxy = ProxyServer()
    servers.append(proxy)
    monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{proxy.port}")
    async with HTTPClient() as client:
        response, body = await get(client, "http://api.test:8080/v1/chat?x=1")
    assert (response.status_code, body) == (200, b"ok")
    [request] = proxy.requests
    assert request.startswith(b"GET http://api.test:8080/v1/chat?x=1 HTTP/1.1\r\n")
    assert b"host: api.test:8080\r\n" in request


async def test_stream__loopback_hosts_are_never_proxied(
    servers: list[RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HTTP_PROXY and ALL_PROXY set, 127.0.0.1 is still reached directly."""
    server = serving()
    proxy = ProxyServer()
    servers.extend([server, proxy])
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("ALL_PROXY", proxy.url())
    async with HTTPClient() as client:
        assert (await get(client, server.url()))[1] == b"ok"
    assert (server.accepted, proxy.accepted) == (1, 0)


def test_proxy_settings__no_proxy_hosts_and_domains_bypass_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NO_PROXY names hosts and domains (with subdomains, `.`/`*.` prefixes, ports) or `*`."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "example.com, .corp.test,*.svc.test, api.test:443")
    settings = ProxySettings()
    for host in ("example.com", "a.example.com", "x.corp.test", "db.svc.test", "api.test"):
        assert settings.proxy_for("https", host) is None, host
    for host in ("notexample.com", "openai.com", "test"):
        proxy = settings.proxy_for("https", host)
        assert proxy is not None
        assert (proxy.host, proxy.port, proxy.authorization) == ("proxy.internal", 3128, None)
    assert settings.proxy_for("http", "openai.com") is None  # HTTPS_PROXY is for https only
    monkeypatch.setenv("no_proxy", "*")  # lowercase wins, and `*` is everything
    assert ProxySettings().proxy_for("https", "openai.com") is None


async def test_stream__a_non_http_proxy_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A socks5:// proxy URL fails the request that would use it with a ProxyError."""
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    async with HTTPClient() as client:
        with pytest.raises(ProxyError, match=r"ALL_PROXY names a socks5:// proxy; only http://"):
            await get(client, "https://api.test/")
