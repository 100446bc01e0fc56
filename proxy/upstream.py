"""The upstreams (legacy, candidate, secondary): their addresses, and the session the client path uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

# aiohttp adds these unless told not to; a transparent proxy sends only what its client sent.
SKIPPED_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_MAX_HEADER_BYTES = 64 * 1024  # upstreams with large cookies or tokens must not become INVALID


@dataclass(frozen=True, slots=True)
class Upstream:
    """One upstream's base URL, split once so each request only concatenates strings."""

    name: str
    base: str  # scheme://authority/prefix, without a trailing slash
    host: str  # the authority, which becomes the Host header
    hostname: str
    port: int
    tls: bool
    prefix: str  # the base URL's path, prepended to every request target

    @classmethod
    def from_url(cls, name: str, url: str) -> Upstream:
        parsed = URL(url, encoded=True)
        authority, prefix = parsed.raw_authority, parsed.raw_path.rstrip("/")
        return cls(
            name=name,
            base=f"{parsed.scheme}://{authority}{prefix}",
            host=authority,
            hostname=parsed.raw_host or "",
            port=parsed.port or (443 if parsed.scheme == "https" else 80),
            tls=parsed.scheme == "https",
            prefix=prefix,
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


class Readable(Protocol):
    """A body read chunk by chunk (aiohttp's StreamReader, proxy.limits.ClientBody); b"" at its end."""

    async def readany(self) -> bytes: ...


async def read_bounded(stream: Readable, max_bytes: int) -> tuple[bytes, bool]:
    """Read a stream to its end, or until it exceeds `max_bytes`: all bytes read, and whether it ended."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.readany():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks), False
    return b"".join(chunks), True
