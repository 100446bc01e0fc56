"""Candidate faults on real sockets: the client gets exactly what legacy alone gives, each fault is counted.

Every fault is a real server (or no server at all): refused, silent, stalled after its headers, reset
mid-body, not HTTP, an endless body, a 5xx, a name that does not resolve, TLS to a plain server, TLS with a
certificate nobody trusts.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from hardening_support import Received, fetch, make_config, raw_upstream, serving

from comparators.model import DiffKind, TransportError
from proxy.records import Counter

ROUTE = "GET /fault"
REQUESTS = 3
TIMEOUT = 0.5  # [shadow] timeout: the silent and stalled candidates are given up on after it
MAX_COMPARE = 64 * 1024


async def _never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await asyncio.Event().wait()


async def _headers_then_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
    await writer.drain()
    await asyncio.Event().wait()


async def _reset_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"si')
    await writer.drain()
    writer.transport.abort()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\nthis is not an HTTP answer\r\n\r\n")
    await writer.drain()


async def _endless_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
    while True:
        writer.write(chunk)
        await writer.drain()


async def _server_error(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"error": "boom"}'
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()


async def _plain_http_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)  # a TLS ClientHello arrives; answer as a plain HTTP server would
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()


@asynccontextmanager
async def _nothing_listening() -> AsyncIterator[str]:
    yield "http://127.0.0.1:1"  # port 1 on loopback is never bound here


@asynccontextmanager
async def _unresolvable() -> AsyncIterator[str]:
    yield "http://no-such-host.invalid"  # RFC 6761: .invalid never resolves


@asynccontextmanager
async def _raw(handler: object, scheme: str = "http") -> AsyncIterator[str]:
    async with raw_upstream(handler) as url:  # type: ignore[arg-type]
        yield url.replace("http://", f"{scheme}://")


@asynccontextmanager
async def _untrusted_tls(cert: Path, key: Path) -> AsyncIterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await answer(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client refused the certificate, as it must
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


def candidate_for(fault: str, tls: tuple[Path, Path] | None) -> AbstractAsyncContextManager[str]:
    handlers = {
        "never_answers": _never_answers,
        "headers_then_stall": _headers_then_stall,
        "reset_mid_body": _reset_mid_body,
        "invalid_http": _not_http,
        "endless_body": _endless_body,
        "server_error": _server_error,
    }
    if fault in handlers:
        return _raw(handlers[fault])
    if fault == "refused":
        return _nothing_listening()
    if fault == "unresolvable":
        return _unresolvable()
    if fault == "tls_to_plain_server":
        return _raw(_plain_http_only, "https")
    assert fault == "tls_untrusted_certificate" and tls is not None
    return _untrusted_tls(*tls)


# fault -> the transport error kind counted for the candidate (None: the candidate answered something)
FAULTS: dict[str, TransportError | None] = {
    "refused": TransportError.CONNECT,
    "never_answers": TransportError.TIMEOUT,
    "headers_then_stall": TransportError.TIMEOUT,
    "reset_mid_body": TransportError.RESET,
    "invalid_http": TransportError.INVALID,
    "endless_body": None,
    "server_error": None,
    "unresolvable": TransportError.CONNECT,
    "tls_to_plain_server": TransportError.CONNECT,
    "tls_untrusted_certificate": TransportError.CONNECT,
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_faulty_candidate_changes_nothing_for_the_client_and_is_counted_by_kind(
    fault: str, legacy: tuple[str, Received], request: pytest.FixtureRequest
) -> None:
    legacy_url, received = legacy
    tls = request.getfixturevalue("self_signed") if fault == "tls_untrusted_certificate" else None
    async with candidate_for(fault, tls) as candidate:
        config = make_config(
            legacy_url, candidate, shadow={"timeout": TIMEOUT, "max_compare_bytes": MAX_COMPARE}
        )
        async with serving(config) as proxy, aiohttp.ClientSession() as session:
            for n in range(REQUESTS):
                direct = await fetch(session, f"{legacy_url}/fault?n={n}")
                through = await asyncio.wait_for(fetch(session, f"{proxy.url}/fault?n={n}"), 10)
                assert through == direct
            await asyncio.wait_for(proxy.idle(), 10)
            recorder = proxy.recorder
            kind = FAULTS[fault]
            if kind is not None:
                assert proxy.upstream_errors() == {ROUTE: {"candidate": {kind.value: REQUESTS}}}
                assert recorder.get(ROUTE, Counter.CANDIDATE_ERRORS) == REQUESTS
                assert {e.candidate.error for e in recorder.exchanges} == {kind}
            elif fault == "endless_body":
                assert recorder.get(ROUTE, Counter.TOO_LARGE) == REQUESTS
            else:
                assert recorder.get(ROUTE, Counter.DIVERGED) == REQUESTS
                differences = {d.key() for e in recorder.exchanges for d in e.comparison.differences}
                assert ("status", DiffKind.STATUS.value) in differences
            assert recorder.get(ROUTE, Counter.SHADOW_FAILURES) == 0
    assert len(received.requests) == 2 * REQUESTS  # direct and through the proxy, nothing more
