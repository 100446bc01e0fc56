"""The upstreams (legacy, candidate, secondary): their addresses, HTTP sessions, and one bounded fetch."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from comparators.model import Observation, TransportError
from proxy.errors import describe, transport_error

# aiohttp adds these unless told not to; a transparent proxy sends only what its client sent.
SKIPPED_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_MAX_HEADER_BYTES = 64 * 1024  # upstreams with large cookies or tokens must not become INVALID


@dataclass(frozen=True, slots=True)
class Upstream:
    """One upstream's base URL, split once so each request only concatenates strings."""

    name: str
    base: str  # scheme://authority/prefix, without a trailing slash
    host: str  # the authority, which becomes the Host header

    @classmethod
    def from_url(cls, name: str, url: str) -> Upstream:
        parsed = URL(url, encoded=True)
        authority = parsed.raw_authority
        return cls(
            name=name, base=f"{parsed.scheme}://{authority}{parsed.raw_path.rstrip('/')}", host=authority
        )

    def url(self, target: str) -> URL:
        """The URL for a raw request target, taken byte for byte (no requoting, no normalization)."""
        return URL(self.base + target, encoded=True)


def open_session(*, connect_timeout: float | None, read_timeout: float | None) -> aiohttp.ClientSession:
    """A session that changes nothing: no cookies kept, no decompression, no default headers, no env proxy."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=60),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=SKIPPED_AUTO_HEADERS,
        timeout=aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout),
        trust_env=False,
        max_line_size=_MAX_HEADER_BYTES,
        max_field_size=_MAX_HEADER_BYTES,
    )


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """What is sent to a shadow upstream: the client's request, already buffered."""

    method: str
    target: str
    body: bytes | None


async def observe(
    session: aiohttp.ClientSession,
    upstream: Upstream,
    request: OutgoingRequest,
    headers: CIMultiDict[str],
    *,
    time_limit: float,
    max_bytes: int,
) -> Observation:
    """Send one request and read the whole answer within `time_limit` seconds; failures become data."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(time_limit):
            return await _fetch(session, upstream, request, headers, max_bytes, started)
    except Exception as exc:
        error = transport_error(exc)
        if error is None:
            raise
        return Observation.transport_error(error, describe(exc), _elapsed_ms(started))


async def _fetch(
    session: aiohttp.ClientSession,
    upstream: Upstream,
    request: OutgoingRequest,
    headers: CIMultiDict[str],
    max_bytes: int,
    started: float,
) -> Observation:
    async with session.request(
        request.method,
        upstream.url(request.target),
        headers=headers,
        data=request.body,
        allow_redirects=False,
    ) as response:
        body, complete = await read_bounded(response.content, max_bytes)
        return Observation(
            status=response.status,
            headers=tuple(response.headers.items()),
            body=body if complete else b"",
            error=None if complete else TransportError.TOO_LARGE,
            error_detail="" if complete else f"body larger than {max_bytes} bytes",
            elapsed_ms=_elapsed_ms(started),
        )


async def read_bounded(stream: aiohttp.StreamReader, max_bytes: int) -> tuple[bytes, bool]:
    """Read a stream to its end, or until it exceeds `max_bytes`: all bytes read, and whether it ended."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.readany():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks), False
    return b"".join(chunks), True


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
