"""The [server] limits on real sockets: slow heads and bodies, bodies over the limit, requests in flight.

Each limit answers with its documented status and never forwards a whole request it refused; none of them
leaves a connection or a request waiting without bound.
"""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer
from hardening_support import (
    Received,
    answer_raw,
    complete_responses,
    make_config,
    recording_app,
    serving,
    statuses,
)

from proxy.app import FORWARDER

H = b"Host: shop.example\r\n"
LIMIT = 1500
CHUNK = b"200\r\n" + b"x" * 0x200 + b"\r\n"


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    """Read until one whole final response (or the end of the connection)."""
    out = b""
    while complete_responses(out) < 1:
        chunk = await reader.read(65536)
        if not chunk:
            break
        out += chunk
    return out


def error_of(raw: bytes) -> str:
    error: str = orjson.loads(raw.partition(b"\r\n\r\n")[2])["error"]
    return error


async def test_a_head_trickled_slowly_is_cut_off_by_header_timeout(legacy: tuple[str, Received]) -> None:
    legacy_url, received = legacy
    async with serving(make_config(legacy_url, server={"header_timeout": 0.5})) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"GET /slow HTTP/1.1\r\n" + H)
        lines = 0
        while lines < 200 and not await _closed_within(reader, 0.05):
            writer.write(b"X-Slow-%d: 1\r\n" % lines)
            lines += 1
        writer.close()
    assert lines < 200  # 200 header lines at 0.05 s each take 10 s: the proxy hung up long before
    assert received.requests == []


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        assert await asyncio.wait_for(reader.read(1), seconds) == b"", "no answer is due"
    except TimeoutError:
        return False
    return True


async def test_an_idle_connection_is_closed_after_header_timeout(legacy: tuple[str, Received]) -> None:
    legacy_url, _ = legacy
    async with serving(make_config(legacy_url, server={"header_timeout": 0.3})) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"GET /one HTTP/1.1\r\n" + H + b"\r\n")
        assert statuses(await read_answer(reader)) == [200]
        assert await asyncio.wait_for(reader.read(), 10) == b""  # kept alive, then idle: closed
        writer.close()


async def test_a_chunked_body_streamed_past_the_limit_is_413_and_never_whole_upstream(
    legacy: tuple[str, Received],
) -> None:
    legacy_url, received = legacy
    async with serving(make_config(legacy_url, server={"max_request_body": LIMIT})) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"POST /upload HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(4):  # 2 KiB in four chunks: the limit is crossed while legacy is being sent it
            writer.write(CHUNK)
            await writer.drain()
            await asyncio.sleep(0.05)
        raw = await asyncio.wait_for(read_answer(reader), 10)
        writer.close()
        assert (statuses(raw), error_of(raw)) == ([413], "request_too_large")
        assert received.requests == []


async def test_a_mirrored_chunked_body_past_the_limit_reaches_neither_side(
    legacy: tuple[str, Received], aiohttp_server: object
) -> None:
    legacy_url, received = legacy
    seen = Received()
    candidate: TestServer = await aiohttp_server(recording_app(seen))  # type: ignore[operator]
    config = make_config(legacy_url, str(candidate.make_url("")), server={"max_request_body": LIMIT})
    async with serving(config) as proxy:
        request = b"GET /search HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + CHUNK * 4
        raw = await asyncio.wait_for(answer_raw(proxy.port, request, responses=1), 10)
        assert (statuses(raw), error_of(raw)) == ([413], "request_too_large")
        await proxy.idle()
    assert received.requests == [] and seen.requests == []


async def test_a_chunked_body_within_the_limit_is_forwarded_whole(legacy: tuple[str, Received]) -> None:
    legacy_url, received = legacy
    async with serving(make_config(legacy_url, server={"max_request_body": LIMIT})) as proxy:
        request = (
            b"POST /upload HTTP/1.1\r\n"
            + H
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + CHUNK * 2
            + b"0\r\n\r\n"
        )
        raw = await asyncio.wait_for(answer_raw(proxy.port, request, responses=1), 10)
        assert statuses(raw) == [200]
    assert [r["body"] for r in received.requests] == [b"x" * 0x400]


async def test_a_chunk_broken_mid_body_is_400_at_once_and_never_whole_upstream(
    legacy: tuple[str, Received],
) -> None:
    legacy_url, received = legacy
    async with serving(make_config(legacy_url, server={"body_timeout": 30.0})) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"POST /upload HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)  # legacy is being sent the body by now
        writer.write(b"zz\r\nnot a chunk\r\n0\r\n\r\n")
        raw = await asyncio.wait_for(read_answer(reader), 10)  # well before the 30 s body timeout
        writer.close()
        assert (statuses(raw), error_of(raw)) == ([400], "bad_request")
        assert received.requests == []


async def test_a_body_that_stops_arriving_is_408_after_body_timeout(legacy: tuple[str, Received]) -> None:
    legacy_url, received = legacy
    async with serving(make_config(legacy_url, server={"body_timeout": 0.3})) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"POST /upload HTTP/1.1\r\n" + H + b"Content-Length: 100\r\n\r\nonly part of it")
        raw = await asyncio.wait_for(read_answer(reader), 10)
        writer.close()
        assert (statuses(raw), error_of(raw)) == ([408], "request_body_timeout")
        assert received.requests == []


async def test_expect_100_continue_is_answered_then_the_body_forwarded(legacy: tuple[str, Received]) -> None:
    legacy_url, received = legacy
    async with serving(make_config(legacy_url)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"PUT /doc HTTP/1.1\r\n" + H + b"Content-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello world")
        raw = await asyncio.wait_for(read_answer(reader), 10)
        writer.close()
        assert statuses(raw) == [200]
    assert [(r["method"], r["body"]) for r in received.requests] == [("PUT", b"hello world")]


async def test_requests_beyond_max_in_flight_are_503_and_counted(aiohttp_server: object) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    waiting = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal waiting
        waiting += 1
        if waiting == 2:
            entered.set()
        await release.wait()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", slow)
    legacy: TestServer = await aiohttp_server(app)  # type: ignore[operator]
    config = make_config(str(legacy.make_url("")), server={"max_in_flight": 2})
    async with serving(config) as proxy, aiohttp.ClientSession() as session:
        held = [asyncio.create_task(session.get(f"{proxy.url}/held/{n}")) for n in range(2)]
        await asyncio.wait_for(entered.wait(), 10)
        async with session.get(f"{proxy.url}/one-too-many") as refused:
            assert refused.status == 503 and refused.headers["Retry-After"] == "1"
            assert (await refused.json())["error"] == "proxy_overloaded"
        release.set()
        assert [r.status for r in await asyncio.gather(*held)] == [200, 200]
        async with session.get(f"{proxy.url}/again") as again:
            assert again.status == 200
        gate = proxy.app[FORWARDER].gate
        assert (gate.active, gate.refused) == (0, 1)
