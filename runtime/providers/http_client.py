"""The one `httpx.AsyncClient` a process's HTTP adapters share (`new_http_client`): its
timeouts, pool, proxies, TLS settings and a cookie jar that keeps nothing."""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any, Literal

import httpx

from store.errors import ConfigurationError

CONNECT_TIMEOUT = 10.0  # seconds: TCP, the proxy's handshake and TLS
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (servers often drop them after ~5 s)
MIN_CONNECTIONS = 100  # per client, at least; more when the worker runs more runs at once
USER_AGENT = "assistants-runtime"
# Servers on this machine (Ollama, llama.cpp...) as `localhost`, 127.0.0.1 or ::1 are reached
# directly, whatever proxy the environment names; NO_PROXY adds other hosts.
_DIRECT = ("all://localhost", "all://*.localhost", "all://127.0.0.1", "all://[::1]")


class _NoCookies(CookieJar):
    """The shared client's cookie jar, which keeps nothing: a cookie one provider call receives
    is never sent with another (calls of every tenant share the client)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


def new_http_client(
    *,
    read_timeout: float,
    max_connections: int = MIN_CONNECTIONS,
    transport: Literal["httpx", "aiohttp"] = "httpx",
) -> httpx.AsyncClient:
    """The `httpx.AsyncClient` every adapter of a process shares (its owner closes it).

    Connecting (TCP, proxy, TLS) may take `CONNECT_TIMEOUT`; each read, write and the wait for a
    pooled connection `read_timeout` (an adapter passes its own per request). Up to
    `max_connections` connections, all of them kept alive while idle for `KEEPALIVE_EXPIRY`.
    Proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` incl. socks5 with the `socks` extra,
    `NO_PROXY`) and `SSL_CERT_FILE`/`SSL_CERT_DIR` come from the environment; loopback hosts are
    never proxied. gzip and deflate answers are decoded. Cookies are neither kept nor sent. No
    request is ever sent twice: the transport has no connect retries and redirects are not
    followed, so the retry policy of `with_retries` is the only one.

    `transport="aiohttp"` puts aiohttp's connections under the same client (asyncio only, the
    `aiohttp` extra; see `runtime.providers.aiohttp_client`). A proxy variable naming another
    scheme, or a socks5 proxy without the `socks` extra, is a `ConfigurationError`.
    """
    kind: type[httpx.AsyncClient] = httpx.AsyncClient
    if transport == "aiohttp":
        try:
            from runtime.providers.aiohttp_client import AiohttpClient  # noqa: PLC0415
        except ImportError as exc:
            raise ConfigurationError(
                "provider_http_transport is 'aiohttp' but httpx-aiohttp is not installed: "
                "install assistants-runtime[aiohttp]."
            ) from exc
        kind = AiohttpClient
    try:
        return kind(
            timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            trust_env=True,
            mounts=dict.fromkeys(_DIRECT),
            cookies=_NoCookies(),
            headers={"user-agent": USER_AGENT},
            follow_redirects=False,
        )
    except ImportError as exc:  # socksio is missing
        raise ConfigurationError(
            "A socks5:// proxy is set (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY) but SOCKS support "
            "is not installed: install assistants-runtime[socks]."
        ) from exc
    except ValueError as exc:
        raise ConfigurationError(
            f"The proxy settings (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) cannot be used: {exc}. "
            "Use http://, https://, socks5:// or socks5h:// proxy URLs."
        ) from exc
