"""The mirror client against real servers: HTTP/1.1 framing, keep-alive reuse, limits and faults as data."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from proxy_support import AiohttpServer, RawHandler, RawServer, Seen, closed_port_url, echo_app, url_of

from comparators.model import Observation, TransportError
from proxy.mirror_client import MAX_HEAD_BYTES, MirrorClient, OutgoingRequest, observe, serialize
from proxy.upstream import Upstream

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


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


def _answering(*responses: bytes, close: bool = False) -> tuple[RawHandler, list[int]]:
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
        if not close:
            await reader.read()
        writer.close()

    return serve, connections


@pytest.mark.parametrize(
    ("response", "status", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, b"hello"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'3\r\nhel\r\n2;ext=1;q="a b"\r\nlo\r\n0\r\nX-Trailer: 1\r\n\r\n',
            200,
            b"hello",
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 201, b"ok"),
        (
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            200,
            b"x",
        ),
        (b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", 204, b""),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 304, b""),
        (b"HTTP/1.0 200 OK\r\n\r\nuntil close", 200, b"until close"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nto close", 200, b"to close"),
        (b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, b""),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nxx", 101, b""),
    ],
    ids=[
        "length",
        "chunked",
        "continue",
        "early-hints",
        "no-content",
        "not-modified",
        "to-close",
        "unknown-coding",
        "no-reason",
        "switching",
    ],
)
async def test_framings(
    raw_server: RawServer, client: MirrorClient, response: bytes, status: int, body: bytes
) -> None:
    serve, _ = _answering(response, close=True)
    observation = await _get(client, await raw_server(serve))
    assert (observation.error, observation.status, observation.body) == (None, status, body)


async def test_final_headers_only_in_order_without_trailers(
    raw_server: RawServer, client: MirrorClient
) -> None:
    serve, _ = _answering(
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Pad: a b \t\r\nSet-Cookie: b=2\r\nX-U: caf\xc3\xa9\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-Trailer: 1\r\n\r\n",
        close=True,
    )
    observation = await _get(client, await raw_server(serve))
    assert observation.headers == (
        ("Set-Cookie", "a=1"),
        ("X-Pad", "a b"),
        ("Set-Cookie", "b=2"),
        ("X-U", "caf\u00e9"),
        ("Transfer-Encoding", "chunked"),
    )


async def test_head_has_no_body_even_with_a_length(raw_server: RawServer, client: MirrorClient) -> None:
    serve, connections = _answering(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", OK)
    base = await raw_server(serve)
    head = await _get(client, base, "HEAD")
    after = await _get(client, base)
    assert (head.status, head.header("content-length"), head.body) == (200, "1234", b"")
    assert after.body == b"ok"
    assert len(connections) == 1


async def test_keep_alive_connections_are_reused(raw_server: RawServer, client: MirrorClient) -> None:
    serve, connections = _answering(OK, OK, OK)
    base = await raw_server(serve)
    bodies = [(await _get(client, base)).body for _ in range(3)]
    assert (bodies, len(connections)) == ([b"ok"] * 3, 1)


@pytest.mark.parametrize(
    ("response", "reused"),
    [
        (OK, True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", True),
        (OK + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", False),  # an answer nobody asked for
    ],
    ids=["http-1.1", "connection-close", "http-1.0", "http-1.0-keep-alive", "extra-answer"],
)
async def test_which_connections_are_kept(
    raw_server: RawServer, client: MirrorClient, response: bytes, reused: bool
) -> None:
    serve, connections = _answering(response, response)
    base = await raw_server(serve)
    bodies = [(await _get(client, base)).body for _ in range(2)]
    assert (bodies, len(connections)) == ([b"ok", b"ok"], 1 if reused else 2)


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
        writer.write(OK)
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
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n",  # only the head: decided on the length
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"3e8\r\n" + b"x" * 1000 + b"\r\n" * 2,
        b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000,
    ],
    ids=["length", "declared-length", "chunked", "to-close"],
)
async def test_bodies_over_the_limit_are_too_large(
    raw_server: RawServer, client: MirrorClient, response: bytes
) -> None:
    serve, _ = _answering(response)  # the connection stays open: only the limit can end the read
    observation = await _get(client, await raw_server(serve), limit=999)
    assert (observation.error, observation.status, observation.body) == (TransportError.TOO_LARGE, 200, b"")


async def test_an_endless_body_is_cut_at_the_limit(raw_server: RawServer, client: MirrorClient) -> None:
    stopped = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            while True:  # until the client hangs up
                writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
                await writer.drain()
        stopped.set()
        writer.close()

    observation = await _get(client, await raw_server(endless), limit=100_000)
    await stopped.wait()
    assert observation.error is TransportError.TOO_LARGE


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", TransportError.INVALID),
        (b"HTTP/2 200\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 20 OK\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", TransportError.INVALID),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            TransportError.INVALID,
        ),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\n: x\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", TransportError.INVALID),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", TransportError.RESET),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", TransportError.RESET),
        (b"HTTP/1.1 200 OK\r\nContent", TransportError.RESET),
        (b"", TransportError.RESET),
    ],
    ids=[
        "not-http",
        "http-2",
        "two-digit-status",
        "length-list",
        "conflicting-lengths",
        "length-and-chunked",
        "obs-fold",
        "bad-header",
        "empty-name",
        "oversized-head",
        "bad-chunk",
        "short-body",
        "short-chunk",
        "short-head",
        "nothing",
    ],
)
async def test_faults_become_observations(
    raw_server: RawServer, client: MirrorClient, response: bytes, error: TransportError
) -> None:
    serve, _ = _answering(response, close=True)
    observation = await _get(client, await raw_server(serve))
    assert observation.error is error


async def test_a_large_head_under_the_limit_is_read(raw_server: RawServer, client: MirrorClient) -> None:
    serve, _ = _answering(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 60_000 + b"\r\nContent-Length: 2\r\n\r\nok")
    observation = await _get(client, await raw_server(serve))
    assert (observation.error, len(observation.header("x-big") or ""), observation.body) == (
        None,
        60_000,
        b"ok",
    )


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


def test_works_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> list[bytes]:
        serve, _ = _answering(
            OK, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        )
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        client = MirrorClient()
        try:
            base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            return [(await _get(client, base)).body for _ in range(2)]
        finally:
            await client.close()
            server.close()
            await server.wait_closed()

    assert uvloop.run(scenario()) == [b"ok", b"ok"]
