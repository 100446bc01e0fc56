"""Pure pieces of the client path, table-driven: hop-by-hop removal, upstream URLs, error mapping."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from comparators.model import TransportError
from proxy.errors import transport_error
from proxy.headers import connection_tokens, end_to_end, upstream_request_headers
from proxy.upstream import Upstream


@pytest.mark.parametrize(
    ("headers", "kept"),
    [
        ([("A", "1"), ("a", "2")], [("A", "1"), ("a", "2")]),
        ([("Connection", "close"), ("X", "1")], [("X", "1")]),
        ([("Connection", "X-Hop, Y-Hop"), ("X-Hop", "1"), ("y-hop", "2"), ("Z", "3")], [("Z", "3")]),
        ([("Connection", "x-hop"), ("Connection", "keep-alive"), ("X-Hop", "1")], []),
        (
            [(h, "v") for h in ("Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade")]
            + [("Trailer", "v"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
            [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
        ),
    ],
)
def test_end_to_end_drops_hop_by_hop_headers(
    headers: list[tuple[str, str]], kept: list[tuple[str, str]]
) -> None:
    assert end_to_end(headers) == kept


def test_connection_tokens_are_lowercased_and_trimmed() -> None:
    assert connection_tokens([" Keep-Alive ,X-Foo", ",, upgrade"]) == {"keep-alive", "x-foo", "upgrade"}


def test_upstream_headers_put_host_first_and_add_the_marker_once() -> None:
    headers = upstream_request_headers([("X-Shadow-Request", "0"), ("A", "1")], "c:80", "X-Shadow-Request")
    assert list(headers.items()) == [("Host", "c:80"), ("X-Shadow-Request", "1"), ("A", "1")]


@pytest.mark.parametrize(
    ("url", "base", "host"),
    [
        ("http://legacy:8080", "http://legacy:8080", "legacy:8080"),
        ("http://legacy:8080/api/", "http://legacy:8080/api", "legacy:8080"),
        ("https://api.example.com", "https://api.example.com", "api.example.com"),
    ],
)
def test_upstream_base_and_host(url: str, base: str, host: str) -> None:
    upstream = Upstream.from_url("legacy", url)
    assert (upstream.base, upstream.host) == (base, host)
    assert str(upstream.url("/a/../b?x=%2F&x=2")) == base + "/a/../b?x=%2F&x=2"


KEY = ConnectionKey("h", 80, False, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (aiohttp.ClientConnectorError(KEY, OSError(111, "refused")), TransportError.CONNECT),
        (TimeoutError(), TransportError.TIMEOUT),
        (aiohttp.ServerTimeoutError("read"), TransportError.TIMEOUT),
        (aiohttp.ConnectionTimeoutError("connect"), TransportError.TIMEOUT),
        (aiohttp.ServerDisconnectedError(), TransportError.RESET),
        (aiohttp.ClientPayloadError("cut"), TransportError.RESET),
        (aiohttp.ClientOSError(104, "reset"), TransportError.RESET),
        (ConnectionResetError(), TransportError.RESET),
        (
            aiohttp.ClientResponseError(None, (), status=400, message="Bad status line"),
            TransportError.INVALID,
        ),  # type: ignore[arg-type]
        (aiohttp.InvalidURL("x"), TransportError.INVALID),
        (RuntimeError("a bug"), None),
        (KeyError("a bug"), None),
    ],
)
def test_transport_errors(exc: BaseException, error: TransportError | None) -> None:
    assert transport_error(exc) is error
