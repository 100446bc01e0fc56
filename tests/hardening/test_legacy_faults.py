"""Legacy faults on real sockets: a 502/504 naming the cause or a truncated stream, never a hang or a crash.

Legacy serves the client, so its faults reach the client: without response headers the proxy answers 502
(504 on a timeout) with a JSON body naming the cause; once headers are out, the client sees the body cut
short on a closed connection, as legacy closed it. The mirrored exchange is counted as a legacy error by
kind, and the proxy goes on serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import aiohttp
import orjson
import pytest
from hardening_support import Received, answer_raw, make_config, raw_upstream, serving

from comparators.model import TransportError
from proxy.records import Counter

ROUTE = "GET /fault"
LEGACY_TIMEOUT = 0.5
BIG = 200_000  # above the 64 KiB a relayed body is buffered to: streamed, so cut short mid-way


async def _refuse_late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.transport.abort()  # a reset before any answer


async def _never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await asyncio.Event().wait()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"220 smtp.example.com ESMTP ready\r\n\r\n")
    await writer.drain()


async def _reset_mid_big_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % BIG)
    writer.write(b"x" * (BIG // 2))
    await writer.drain()
    writer.transport.abort()


async def _stall_mid_big_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % BIG)
    writer.write(b"x" * (BIG // 2))
    await writer.drain()
    await asyncio.Event().wait()


async def _reset_mid_small_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"a"')
    await writer.drain()
    writer.transport.abort()


async def _plain_http_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()


@asynccontextmanager
async def _fixed(url: str) -> AsyncIterator[str]:
    yield url


@asynccontextmanager
async def _raw(handler: object, scheme: str = "http") -> AsyncIterator[str]:
    async with raw_upstream(handler) as url:  # type: ignore[arg-type]
        yield url.replace("http://", f"{scheme}://")


def legacy_for(fault: str) -> AbstractAsyncContextManager[str]:
    handlers = {
        "reset_before_headers": _refuse_late,
        "never_answers": _never_answers,
        "invalid_http": _not_http,
        "reset_mid_small_body": _reset_mid_small_body,
        "reset_mid_streamed_body": _reset_mid_big_body,
        "stall_mid_streamed_body": _stall_mid_big_body,
    }
    if fault in handlers:
        return _raw(handlers[fault])
    if fault == "tls_to_plain_server":
        return _raw(_plain_http_only, "https")
    return _fixed({"refused": "http://127.0.0.1:1", "unresolvable": "http://no-such-host.invalid"}[fault])


# fault -> (status, error named in the JSON body, transport error counted for legacy)
NO_ANSWER: dict[str, tuple[int, str, TransportError]] = {
    "refused": (502, "legacy_connect", TransportError.CONNECT),
    "unresolvable": (502, "legacy_connect", TransportError.CONNECT),
    "tls_to_plain_server": (502, "legacy_connect", TransportError.CONNECT),
    "reset_before_headers": (502, "legacy_reset", TransportError.RESET),
    "invalid_http": (502, "legacy_invalid", TransportError.INVALID),
    "never_answers": (504, "legacy_timeout", TransportError.TIMEOUT),
    "reset_mid_small_body": (502, "legacy_reset", TransportError.RESET),
}
CUT_SHORT: dict[str, TransportError] = {
    "reset_mid_streamed_body": TransportError.RESET,
    "stall_mid_streamed_body": TransportError.TIMEOUT,
}


@pytest.mark.parametrize("fault", list(NO_ANSWER))
async def test_legacy_without_an_answer_is_a_502_or_504_naming_the_cause(
    fault: str, legacy: tuple[str, Received]
) -> None:
    candidate_url, _ = legacy  # a healthy candidate: nothing to compare it with, so nothing compared
    status, cause, kind = NO_ANSWER[fault]
    async with legacy_for(fault) as legacy_url:
        config = make_config(legacy_url, candidate_url, server={"legacy_timeout": LEGACY_TIMEOUT})
        async with serving(config) as proxy, aiohttp.ClientSession() as session:
            for _ in range(2):  # the second proves the proxy goes on serving after the first
                async with asyncio.timeout(10), session.get(f"{proxy.url}/fault") as response:
                    assert response.status == status
                    assert orjson.loads(await response.read())["error"] == cause
            await asyncio.wait_for(proxy.idle(), 10)
            assert proxy.upstream_errors() == {ROUTE: {"legacy": {kind.value: 2}}}
            assert proxy.recorder.get(ROUTE, Counter.LEGACY_ERRORS) == 2
            assert proxy.recorder.get(ROUTE, Counter.COMPARED) == 0
            assert proxy.in_flight() == 0


@pytest.mark.parametrize("fault", list(CUT_SHORT))
async def test_legacy_failing_mid_stream_cuts_the_client_short_on_a_closed_connection(fault: str) -> None:
    async with legacy_for(fault) as legacy_url:
        config = make_config(legacy_url, server={"legacy_timeout": LEGACY_TIMEOUT})
        async with serving(config) as proxy:
            request = b"GET /fault HTTP/1.1\r\nHost: shop.example\r\n\r\n"
            raw = await asyncio.wait_for(answer_raw(proxy.port, request, settle=5.0), 10)
            head, _, body = raw.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: %d" % BIG in head
            assert 0 < len(body) < BIG  # what legacy sent, then the connection closed: never a hang
            again = await asyncio.wait_for(answer_raw(proxy.port, request, settle=5.0), 10)
            assert again.startswith(b"HTTP/1.1 200 OK")
            assert proxy.in_flight() == 0


@pytest.mark.parametrize("fault", list(CUT_SHORT))
async def test_a_legacy_failing_mid_stream_is_counted_by_kind(
    fault: str, legacy: tuple[str, Received]
) -> None:
    candidate_url, _ = legacy
    async with legacy_for(fault) as legacy_url:
        config = make_config(legacy_url, candidate_url, server={"legacy_timeout": LEGACY_TIMEOUT})
        async with serving(config) as proxy:
            request = b"GET /fault HTTP/1.1\r\nHost: shop.example\r\n\r\n"
            await asyncio.wait_for(answer_raw(proxy.port, request, settle=5.0), 10)
            await asyncio.wait_for(proxy.idle(), 10)
            assert proxy.upstream_errors() == {ROUTE: {"legacy": {CUT_SHORT[fault].value: 1}}}
