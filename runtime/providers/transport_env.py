"""What the transport takes from the environment: proxies, and whom TLS trusts by default.

Proxies (read once, when the client is made): `HTTPS_PROXY` for https targets, `HTTP_PROXY` for
http ones, `ALL_PROXY` for either when the specific one is unset; lowercase names win over
uppercase ones, as in urllib. `NO_PROXY` is a comma list of hosts and domains (`example.com`
also covers its subdomains; a leading `.` or `*.` is allowed) or `*` for all; loopback hosts
are never proxied. Only `http://` proxy URLs are supported (a bare `host:port` is taken as
one); another scheme is a `ProxyError` when a request would use it. Credentials in the URL are
sent as `Proxy-Authorization: Basic`.

TLS: `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else certifi's bundle when certifi is installed,
else the system's store.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from runtime.providers.transport_errors import ProxyError


@dataclass(frozen=True, slots=True)
class Proxy:
    """An http:// proxy: where it listens and the `Proxy-Authorization` to send it, if any."""

    host: str
    port: int
    authorization: str | None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _proxy(variable: str, url: str) -> Proxy | str:
    """The proxy `url` names, or why a request through it must fail."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme.lower() != "http":
        return f"{variable} names a {parts.scheme}:// proxy; only http:// proxies are supported"
    try:
        port = parts.port or 80
    except ValueError:
        port = 0
    if not parts.hostname or not port:
        return f"{variable} is not a valid proxy URL (http://host:port)"
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + b64encode(credentials.encode()).decode("ascii")
    return Proxy(parts.hostname, port, authorization)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypass_entry(entry: str) -> str:
    """A NO_PROXY entry as the host or domain it names ("" for `*`), without any port."""
    entry = entry.strip().lower()
    if entry.startswith("["):  # [IPv6] or [IPv6]:port
        return entry[1:].partition("]")[0]
    if entry.count(":") == 1:
        entry = entry.partition(":")[0]
    return entry.removeprefix("*").removeprefix(".")


class ProxySettings:
    """Which proxy, if any, serves each target host."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """From `environ` (the process environment by default); `{}` for no proxies at all."""
        env = os.environ if environ is None else environ

        def lookup(name: str) -> tuple[str, str] | None:
            for variable in (name.lower(), name):
                if env.get(variable, "").strip():
                    return variable, env[variable].strip()
            return None

        self._proxies: dict[str, Proxy | str] = {}
        for scheme in ("http", "https"):
            found = lookup(f"{scheme.upper()}_PROXY") or lookup("ALL_PROXY")
            if found is not None:
                self._proxies[scheme] = _proxy(*found)
        no_proxy = (lookup("NO_PROXY") or ("", ""))[1]
        self._bypass = {_bypass_entry(entry) for entry in no_proxy.split(",") if entry.strip()}

    def proxy_for(self, scheme: str, host: str) -> Proxy | None:
        """The proxy for `scheme://host`; a `ProxyError` if the configured one is unusable."""
        proxy = self._proxies.get(scheme)
        if proxy is None or _loopback(host) or self._bypassed(host):
            return None
        if isinstance(proxy, str):
            raise ProxyError(proxy)
        return proxy

    def _bypassed(self, host: str) -> bool:
        if "" in self._bypass:  # "*"
            return True
        return any(host == entry or host.endswith(f".{entry}") for entry in self._bypass)


def default_ssl_context(trust_env: bool) -> ssl.SSLContext:
    """A verifying client context trusting SSL_CERT_FILE/DIR, else certifi, else the system."""
    cafile = os.environ.get("SSL_CERT_FILE") if trust_env else None
    capath = os.environ.get("SSL_CERT_DIR") if trust_env else None
    if not cafile and not capath:
        cafile = _certifi_bundle()
    context = ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _certifi_bundle() -> str | None:
    try:
        import certifi  # noqa: PLC0415 - optional: the system store serves without it
    except ImportError:
        return None
    return certifi.where()
