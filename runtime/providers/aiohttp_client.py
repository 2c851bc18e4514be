"""The opt-in aiohttp transport under the shared httpx client (`provider_http_transport="aiohttp"`).

httpx stays the client the adapters speak to (requests, responses, timeouts, decoding, proxies
from the environment); only the HTTP/1.1 connections underneath are aiohttp's (`httpx-aiohttp`,
the `aiohttp` extra), whose C parser and pool cost about half the CPU of httpcore per streamed
call (see `benchmarks/providers.py`). asyncio only; http:// and https:// proxies only (a socks5
proxy is refused when the client is made).

aiohttp's errors reach the adapters as the httpx errors they mean, so the messages a tenant
sees are the same on both transports: `httpx-aiohttp` maps every connection error (a refused
connection, a server that hung up) to `ConnectTimeout`, which this module corrects. aiohttp
never resends a POST on its own (it retries only idempotent methods).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import sniffio
from httpx_aiohttp import AiohttpTransport, HttpxAiohttpClient

from store.errors import ConfigurationError


def _meant(exc: httpx.TransportError) -> httpx.TransportError:
    """The httpx error the aiohttp error under `exc` means (`exc` itself if it is right)."""
    cause = exc.__cause__
    kind: type[httpx.TransportError]
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(cause, aiohttp.ServerTimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(cause, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        kind = httpx.ProxyError
    elif isinstance(cause, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        kind = httpx.RemoteProtocolError
    elif isinstance(cause, aiohttp.ClientOSError):
        kind = httpx.ReadError
    else:
        return exc
    if type(exc) is kind:
        return exc
    meant = kind(str(exc))
    meant.__cause__ = cause
    return meant


class _Body(httpx.AsyncByteStream):
    """A response body whose errors are `_meant`."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self._stream:
                yield piece
        except httpx.TransportError as exc:
            raise _meant(exc) from exc.__cause__

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Transport(AiohttpTransport):
    def get_client(self) -> aiohttp.ClientSession:
        """The session (made on first use, on the running loop): the client's limits and TLS,
        and no cookies kept (as on the httpx transport)."""
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=self.limits.max_connections or 0,  # 0: no limit
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if sniffio.current_async_library() != "asyncio":
            raise httpx.UnsupportedProtocol(
                "The aiohttp provider transport runs on asyncio only "
                "(set provider_http_transport to 'httpx')"
            )
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _meant(exc) from exc.__cause__
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream)
        return response


Cert = str | tuple[str, str] | tuple[str, str, str]


class AiohttpClient(HttpxAiohttpClient):
    """An `httpx.AsyncClient` on aiohttp connections (taking `httpx.AsyncClient`'s arguments)."""

    def _init_transport(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: Cert | None = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(),
        transport: httpx.AsyncBaseTransport | None = None,
        **kwargs: Any,
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        return _Transport(
            verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits
        )

    def _init_proxy_transport(
        self,
        proxy: httpx.Proxy,
        verify: ssl.SSLContext | str | bool = True,
        cert: Cert | None = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(),
        **kwargs: Any,
    ) -> httpx.AsyncBaseTransport:
        if proxy.url.scheme not in {"http", "https"}:
            raise ConfigurationError(
                f"A {proxy.url.scheme}:// proxy is set (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY), but "
                "the aiohttp provider transport takes http:// and https:// proxies only: set "
                "provider_http_transport to 'httpx' for SOCKS."
            )
        return _Transport(
            verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2,
            limits=limits, proxy=proxy,
        )  # fmt: skip
