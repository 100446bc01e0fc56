"""The mirror client against real servers: HTTP/1.1 framing, keep-alive reuse, limits and faults as data."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from proxy_support import AiohttpServer, RawServer, Seen, closed_port_url, echo_app, url_of

from comparators.model import Observation, TransportError
from proxy.errors import UpstreamProtocolError
from proxy.mirror_client import MirrorClient, OutgoingRequest, observe, parse_head, serialize
from proxy.upstream import Upstream


@pytest.fixture
async def client() -> AsyncIterator[MirrorClient]:
    mirror = MirrorClient()
    yield mirror
    await mirror.close()


async def _get(
    client: MirrorClient, base: str, method: str = "GET", body: bytes | None = None, limit: int = 1000
) -> Observation:
    upstream = Upstream.from_url("candidate", base)
    request = OutgoingRequest(method, "/x?a=1&a=2", body)
    headers = [("Host", upstream.host), ("X-Shadow-Request", "1")]
    return await observe(client, upstream, request, headers, time_limit=5.0, max_bytes=limit)


def _answering(*responses: bytes, close: bool = False):  # type: ignore[no-untyped-def]
    """A raw server answering each request on a connection with the next canned response."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        for response in responses:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(response)
            await writer.drain()
        if close:
            writer.close()
        else:
            await reader.read()
            writer.close()

    return serve, connections


@pytest.mark.parametrize(
    ("response", "status", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, b"hello"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\nX-T: 1\r\n\r\n",
            200,
            b"hello",
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 201, b"ok"),
        (b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", 204, b""),
        (b"HTTP/1.0 200 OK\r\n\r\nuntil close", 200, b"until close"),
        (b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, b""),
    ],
    ids=["length", "chunked", "interim", "no-content", "to-close", "no-reason"],
)
async def test_framings(
    raw_server: RawServer, client: MirrorClient, response: bytes, status: int, body: bytes
) -> None:
    serve, _ = _answering(response, close=True)
    observation = await _get(client, await raw_server(serve))
    assert (observation.error, observation.status, observation.body) == (None, status, body)


async def test_head_has_no_body_even_with_a_length(raw_server: RawServer, client: MirrorClient) -> None:
    serve, connections = _answering(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
    )
    base = await raw_server(serve)
    head = await _get(client, base, "HEAD")
    after = await _get(client, base)
    assert (head.status, head.header("content-length"), head.body) == (200, "1234", b"")
    assert after.body == b"x"
    assert len(connections) == 1


async def test_keep_alive_connections_are_reused(raw_server: RawServer, client: MirrorClient) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    serve, connections = _answering(ok, ok, ok)
    base = await raw_server(serve)
    bodies = [(await _get(client, base)).body for _ in range(3)]
    assert (bodies, len(connections)) == ([b"ok"] * 3, 1)


async def test_only_the_given_headers_are_sent(aiohttp_server: AiohttpServer, client: MirrorClient) -> None:
    seen = Seen()
    server = await aiohttp_server(echo_app(seen, "candidate"))
    observation = await _get(client, url_of(server), "POST", b'{"a": 1}')
    assert observation.status == 200
    (request,) = seen.requests
    assert (request["method"], request["target"], request["body_size"]) == ("POST", "/x?a=1&a=2", 8)
    assert [k for k, _ in request["headers"]] == ["Host", "X-Shadow-Request", "Content-Length"]


async def test_a_stale_kept_alive_connection_is_retried_for_reads_only(
    raw_server: RawServer, client: MirrorClient
) -> None:
    served: list[str] = []

    async def once_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        served.append(head.split(b" ", 1)[0].decode())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError):  # a next request is read, then dropped
            dropped = await reader.readuntil(b"\r\n\r\n")
            served.append("dropped " + dropped.split(b" ", 1)[0].decode())
        writer.transport.abort()

    base = await raw_server(once_per_connection)
    assert (await _get(client, base)).body == b"ok"
    assert (await _get(client, base)).body == b"ok"  # first try on the kept connection fails: retried
    assert (await _get(client, base, "POST", b"{}")).error is TransportError.RESET  # never resent
    assert served == ["GET", "dropped GET", "GET", "dropped POST"]


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"3e8\r\n" + b"x" * 1000 + b"\r\n" * 2,
        b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000,
    ],
    ids=["length", "chunked", "to-close"],
)
async def test_bodies_over_the_limit_are_too_large(
    raw_server: RawServer, client: MirrorClient, response: bytes
) -> None:
    serve, _ = _answering(response, close=True)
    observation = await _get(client, await raw_server(serve), limit=999)
    assert (observation.error, observation.status, observation.body) == (TransportError.TOO_LARGE, 200, b"")


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", TransportError.RESET),
        (b"HTTP/1.1 200 OK\r\nContent", TransportError.RESET),
        (b"", TransportError.RESET),
    ],
    ids=["not-http", "two-lengths", "bad-header", "bad-chunk", "short-body", "short-head", "nothing"],
)
async def test_faults_become_observations(
    raw_server: RawServer, client: MirrorClient, response: bytes, error: TransportError
) -> None:
    serve, _ = _answering(response, close=True)
    observation = await _get(client, await raw_server(serve))
    assert observation.error is error


async def test_refused_and_timeout(aiohttp_server: AiohttpServer, client: MirrorClient) -> None:
    assert (await _get(client, closed_port_url())).error is TransportError.CONNECT
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/x", hang)
    server = await aiohttp_server(app)
    upstream = Upstream.from_url("candidate", url_of(server))
    request = OutgoingRequest("GET", "/x", None)
    try:
        observation = await observe(client, upstream, request, [("Host", "c")], time_limit=0.1, max_bytes=10)
    finally:
        release.set()
    assert observation.error is TransportError.TIMEOUT


@pytest.mark.parametrize(
    ("method", "body", "headers", "expected"),
    [
        ("GET", None, [("Host", "c")], b"GET /p/x HTTP/1.1\r\nHost: c\r\n\r\n"),
        ("POST", b"{}", [("Host", "c")], b"POST /p/x HTTP/1.1\r\nHost: c\r\nContent-Length: 2\r\n\r\n{}"),
        ("POST", None, [], b"POST /p/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
        ("PUT", b"ab", [("content-length", "2")], b"PUT /p/x HTTP/1.1\r\ncontent-length: 2\r\n\r\nab"),
        ("GET", None, [("X-U", "caf\u00e9")], "GET /p/x HTTP/1.1\r\nX-U: caf\u00e9\r\n\r\n".encode()),
    ],
)
def test_serialize(method: str, body: bytes | None, headers: list[tuple[str, str]], expected: bytes) -> None:
    assert serialize(OutgoingRequest(method, "/x", body), "/p", headers) == expected


@pytest.mark.parametrize(
    ("head", "status", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\n\r\n", 200, True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 200, False),
        (b"HTTP/1.0 200 OK\r\n\r\n", 200, False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", 200, True),
        (b"HTTP/1.1 404 Not Found\r\nX: a b \r\n\r\n", 404, True),
    ],
)
def test_parse_head(head: bytes, status: int, keep_alive: bool) -> None:
    parsed_status, headers, parsed_keep_alive = parse_head(head)
    assert (parsed_status, parsed_keep_alive) == (status, keep_alive)
    assert all(value == value.strip() for _, value in headers)


@pytest.mark.parametrize(
    "head", [b"HTTP/2 200\r\n\r\n", b"HTTP/1.1 20 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\n: x\r\n\r\n"]
)
def test_parse_head_rejects_what_is_not_http_1(head: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        parse_head(head)
