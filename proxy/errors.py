"""The one place where upstream exceptions become data, and where the proxy's own error answers are built.

The tree, from what enters to what leaves:

    exception raised while talking to an upstream (aiohttp for legacy, MirrorClient for the shadow side)
    └── transport_error(exc) -> TransportError | None      (data: an Observation, never re-raised)
        ├── CONNECT   UpstreamConnectError, ClientConnectorError (refused, DNS, TLS), fingerprint
        ├── TIMEOUT   TimeoutError and aiohttp's ServerTimeoutError family
        ├── INVALID   UpstreamProtocolError, ClientResponseError (the answer is not HTTP), InvalidURL
        ├── RESET     UpstreamResetError, ServerDisconnectedError, ClientPayloadError, ConnectionError
        └── None      anything else: a bug, which the shadow path counts as a shadow failure

    UpstreamError                 raised by proxy.mirror_client only, translated right here
    ├── UpstreamConnectError      no connection could be opened
    ├── UpstreamResetError        the connection ended before the answer was complete
    └── UpstreamProtocolError     the answer is not HTTP/1.x

    answers the proxy gives on its own (small JSON bodies naming the cause)
    ├── upstream_failure(error)  502 (connect, reset, invalid) or 504 (timeout) when the serving side
    │                            (legacy, or the candidate in the candidate modes) gave no headers
    └── refusal(status, cause)   400 / 405 / 413: not an open proxy, CONNECT, body over the limit
"""

from __future__ import annotations

import aiohttp
import orjson
from aiohttp import web

from comparators.model import TransportError


class UpstreamError(Exception):
    """A transport failure seen by the mirror client."""


class UpstreamConnectError(UpstreamError):
    """No connection to the upstream could be opened."""


class UpstreamResetError(UpstreamError):
    """The connection ended before the answer was complete."""


class UpstreamProtocolError(UpstreamError):
    """The upstream answered something that is not HTTP/1.x."""


_CONNECT_ERRORS = (UpstreamConnectError, aiohttp.ClientConnectorError, aiohttp.ServerFingerprintMismatch)
_RESET_ERRORS = (
    UpstreamResetError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientConnectionError,
    ConnectionError,
)
_INVALID_ERRORS = (UpstreamProtocolError, aiohttp.ClientResponseError, aiohttp.InvalidURL)


def transport_error(exc: BaseException) -> TransportError | None:
    """Classify an exception raised while talking to an upstream; None when it is not a transport fault."""
    # Order matters: ClientConnectorError is a ClientOSError, and aiohttp's timeouts are ClientErrors.
    if isinstance(exc, _CONNECT_ERRORS):
        return TransportError.CONNECT
    if isinstance(exc, TimeoutError):
        return TransportError.TIMEOUT
    if isinstance(exc, _INVALID_ERRORS):
        return TransportError.INVALID
    if isinstance(exc, _RESET_ERRORS):
        return TransportError.RESET
    return None


def describe(exc: BaseException) -> str:
    """A short, single-line description of an exception for logs and observations."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_GATEWAY_STATUS = {TransportError.TIMEOUT: 504}


def upstream_failure(error: TransportError, detail: str, side: str = "legacy") -> web.Response:
    """The answer when the serving side produced no response headers: 504 on timeout, 502 otherwise."""
    status = _GATEWAY_STATUS.get(error, 502)
    return _json(status, {"error": f"{side}_{error.value}", "detail": detail})


def refusal(status: int, cause: str, detail: str) -> web.Response:
    """The answer to a request this proxy will not forward (it is a reverse proxy, not an open one)."""
    return _json(status, {"error": cause, "detail": detail})


def _json(status: int, payload: dict[str, str]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type="application/json")
