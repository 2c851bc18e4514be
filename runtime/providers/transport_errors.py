"""The errors of `runtime.providers.transport`, the provider path's HTTP/1.1 client.

The tree:

* TransportError: anything that kept a request from getting its whole response
  + LocalProtocolError: the request cannot be written as HTTP/1.1 (a bad URL, a header with a
    line break, text that is not latin-1)
  + ProxyError: a proxy URL that is not http://, or a proxy that refused the CONNECT tunnel
  + ConnectError: no connection (refused, unresolvable name, failed TLS handshake)
  + RemoteProtocolError: the server broke HTTP/1.1 (a malformed status line or header, a head
    over 64 KiB, a body cut short, a connection closed without an answer)
  + NetworkError: the connection failed while in use
    - ReadError
    - WriteError
  + TransportTimeout: nothing happened for too long
    - ConnectTimeout: connecting (TCP, the proxy tunnel and the TLS handshake)
    - ReadTimeout: no byte of the response for `timeout` seconds
    - WriteTimeout: the request could not be written for `timeout` seconds

Messages say what failed and where (`host:port`); they never carry a header value, so an API key
sent in a header cannot leak into logs or run errors.
"""

from __future__ import annotations


class TransportError(Exception):
    """A request did not get its whole response (the base of every transport error)."""


class LocalProtocolError(TransportError):
    """The request cannot be written as HTTP/1.1."""


class ProxyError(TransportError):
    """The configured proxy cannot be used, or it refused the tunnel."""


class ConnectError(TransportError):
    """No connection to the server (or its proxy) could be made."""


class RemoteProtocolError(TransportError):
    """The server's answer is not valid HTTP/1.1, or it ended too early."""


class NetworkError(TransportError):
    """An established connection failed."""


class ReadError(NetworkError):
    """Receiving from the server failed."""


class WriteError(NetworkError):
    """Sending to the server failed."""


class TransportTimeout(TransportError):
    """Nothing happened for longer than allowed."""


class ConnectTimeout(TransportTimeout):
    """Connecting took longer than the client's `connect_timeout`."""


class ReadTimeout(TransportTimeout):
    """The server sent nothing for the request's `timeout`."""


class WriteTimeout(TransportTimeout):
    """The request could not be sent within its `timeout`."""


def describe(exc: BaseException) -> str:
    """What `exc` says, or what caused it when it says nothing (anyio's stream errors)."""
    while not str(exc) and exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__
