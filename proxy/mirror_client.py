"""A lean HTTP/1.1 client for mirrored requests: whole, bounded bodies over pooled keep-alive connections.

The shadow path needs much less than aiohttp's client offers (no streaming, redirects, cookies or
decompression), and on the hot path aiohttp's per-request cost doubled the price of a mirror. Failures are
raised as the UpstreamError family of proxy.errors, which `observe` turns into Observations.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass

from comparators.model import Observation, TransportError
from proxy.errors import (
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamResetError,
    describe,
    transport_error,
)
from proxy.upstream import Upstream

Header = tuple[str, str]
MAX_HEAD_BYTES = 64 * 1024
MAX_IDLE_PER_UPSTREAM = 256
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_STATUS_LINE = re.compile(r"HTTP/1\.[01] ([0-9]{3})(?: .*)?", re.ASCII | re.DOTALL)
_HEX = re.compile(rb"[0-9A-Fa-f]+")


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """What is sent to a shadow upstream: the client's request, already buffered."""

    method: str
    target: str
    body: bytes | None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: tuple[Header, ...]
    body: bytes
    complete: bool  # False: the body outgrew the limit and was not read


async def observe(
    client: MirrorClient,
    upstream: Upstream,
    request: OutgoingRequest,
    headers: Iterable[Header],
    *,
    time_limit: float,
    max_bytes: int,
) -> Observation:
    """Send one request and read the whole answer within `time_limit` seconds; failures become data."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(time_limit):
            answer = await client.fetch(upstream, request, headers, max_bytes)
    except Exception as exc:
        error = transport_error(exc)
        if error is None:
            raise
        return Observation.transport_error(error, describe(exc), _elapsed_ms(started))
    if answer.complete:
        return Observation(answer.status, answer.headers, answer.body, elapsed_ms=_elapsed_ms(started))
    detail = f"body larger than {max_bytes} bytes"
    return Observation(
        answer.status, answer.headers, b"", TransportError.TOO_LARGE, detail, _elapsed_ms(started)
    )


class _Connection:
    __slots__ = ("reader", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.reused = reader, writer, False

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class _Stale(Exception):
    """A reused connection was closed by the upstream before it answered anything."""


class MirrorClient:
    """Sends requests and reads whole answers; idle connections are kept per upstream for reuse."""

    def __init__(self, max_idle: int = MAX_IDLE_PER_UPSTREAM) -> None:
        self._max_idle = max_idle
        self._idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def fetch(
        self, upstream: Upstream, request: OutgoingRequest, headers: Iterable[Header], max_bytes: int
    ) -> Answer:
        payload = serialize(request, upstream.prefix, headers)
        connection = self._take_idle(upstream)
        if connection is not None:
            try:
                return await self._exchange(upstream, connection, payload, request.method, max_bytes)
            except _Stale:
                if request.method not in _SAFE_METHODS:  # it may have been processed: never resend a write
                    raise UpstreamResetError("kept-alive connection closed before any answer") from None
        try:
            return await self._exchange(
                upstream, await self._open(upstream), payload, request.method, max_bytes
            )
        except _Stale:
            raise UpstreamResetError("connection closed before any answer") from None

    async def close(self) -> None:
        """Close every idle connection (those in use are closed by their own requests)."""
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    async def _exchange(
        self, upstream: Upstream, connection: _Connection, payload: bytes, method: str, max_bytes: int
    ) -> Answer:
        try:
            connection.writer.write(payload)
            if len(payload) > MAX_HEAD_BYTES:
                await connection.writer.drain()
            status, headers, reusable = await _read_head(connection)
            body, complete, reusable = await _read_body(
                connection.reader, method, status, headers, reusable, max_bytes
            )
        except BaseException:
            connection.close()
            raise
        if reusable and complete:
            self._give_back(upstream, connection)
        else:
            connection.close()
        return Answer(status, headers, body, complete)

    async def _open(self, upstream: Upstream) -> _Connection:
        tls = self._tls_context() if upstream.tls else None
        try:
            reader, writer = await asyncio.open_connection(
                upstream.hostname, upstream.port, ssl=tls, limit=MAX_HEAD_BYTES
            )
        except OSError as exc:
            raise UpstreamConnectError(describe(exc)) from exc
        return _Connection(reader, writer)

    def _take_idle(self, upstream: Upstream) -> _Connection | None:
        idle = self._idle.get((upstream.hostname, upstream.port, upstream.tls))
        while idle:
            connection = idle.pop()
            if connection.usable():
                connection.reused = True
                return connection
            connection.close()
        return None

    def _give_back(self, upstream: Upstream, connection: _Connection) -> None:
        idle = self._idle.setdefault((upstream.hostname, upstream.port, upstream.tls), [])
        if len(idle) < self._max_idle:
            idle.append(connection)
        else:
            connection.close()

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def serialize(request: OutgoingRequest, prefix: str, headers: Iterable[Header]) -> bytes:
    """The request's bytes: request line, headers as given, a Content-Length when needed, the body."""
    lines = [f"{request.method} {prefix}{request.target} HTTP/1.1\r\n"]
    has_length = False
    for name, value in headers:
        has_length = has_length or name.lower() == "content-length"
        lines.append(f"{name}: {value}\r\n")
    body = request.body or b""
    if not has_length and (body or request.method not in _NO_BODY_METHODS):
        lines.append(f"Content-Length: {len(body)}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape") + body


async def _read_head(connection: _Connection) -> tuple[int, tuple[Header, ...], bool]:
    """The final response head (interim 1xx answers skipped): status, headers, and keep-alive."""
    while True:
        try:
            head = await connection.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and connection.reused:
                raise _Stale() from None
            raise UpstreamResetError(f"connection closed after {len(exc.partial)} bytes of head") from None
        except asyncio.LimitOverrunError:
            raise UpstreamProtocolError(f"response head over {MAX_HEAD_BYTES} bytes") from None
        except OSError as exc:
            raise UpstreamResetError(describe(exc)) from exc
        status, headers, keep_alive = parse_head(head)
        if not 100 <= status < 200 or status == 101:
            return status, headers, keep_alive


def parse_head(head: bytes) -> tuple[int, tuple[Header, ...], bool]:
    """Parse a response head ending in CRLF CRLF; raise UpstreamProtocolError if it is not HTTP/1.x."""
    lines = head[:-4].decode("utf-8", "surrogateescape").split("\r\n")
    status_line = _STATUS_LINE.fullmatch(lines[0])
    if status_line is None:
        raise UpstreamProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: list[Header] = []
    connection = ""
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or " " in name or "\t" in name:
            raise UpstreamProtocolError(f"malformed header line: {line[:80]!r}")
        value = value.strip(" \t")
        headers.append((name, value))
        if name.lower() == "connection":
            connection += "," + value.lower()
    tokens = {token.strip() for token in connection.split(",")}
    keep_alive = "keep-alive" in tokens if lines[0].startswith("HTTP/1.0") else "close" not in tokens
    return int(status_line.group(1)), tuple(headers), keep_alive


async def _read_body(
    reader: asyncio.StreamReader,
    method: str,
    status: int,
    headers: tuple[Header, ...],
    keep_alive: bool,
    max_bytes: int,
) -> tuple[bytes, bool, bool]:
    """The body framed as RFC 9112 §6.3 says: bytes, whether complete, whether the connection is reusable."""
    if method == "HEAD" or status in (204, 304) or status < 200:
        return b"", True, keep_alive and status != 101
    encoding = ",".join(v for k, v in headers if k.lower() == "transfer-encoding").lower()
    lengths = {v for k, v in headers if k.lower() == "content-length"}
    try:
        if encoding and encoding.rsplit(",", 1)[-1].strip() == "chunked":
            body, complete = await _read_chunked(reader, max_bytes)
        elif lengths and not encoding:
            body, complete = await _read_exactly(reader, lengths, max_bytes)
        else:  # no framing (or an unknown coding): the body ends when the connection does
            body, complete = await _read_to_close(reader, max_bytes)
            keep_alive = False
    except asyncio.IncompleteReadError as exc:
        raise UpstreamResetError(f"connection closed {len(exc.partial)} bytes into a body part") from None
    except asyncio.LimitOverrunError:
        raise UpstreamProtocolError("chunk line too long") from None
    except OSError as exc:
        raise UpstreamResetError(describe(exc)) from exc
    return body, complete, keep_alive


async def _read_exactly(
    reader: asyncio.StreamReader, lengths: set[str], max_bytes: int
) -> tuple[bytes, bool]:
    if len(lengths) != 1 or not (text := next(iter(lengths))).isascii() or not text.isdigit():
        raise UpstreamProtocolError(f"invalid Content-Length: {sorted(lengths)!r}")
    size = int(text)
    if size > max_bytes:
        return b"", False
    return await reader.readexactly(size), True


async def _read_chunked(reader: asyncio.StreamReader, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_token = (await reader.readuntil(b"\r\n"))[:-2].split(b";", 1)[0].strip()
        if _HEX.fullmatch(size_token) is None:
            raise UpstreamProtocolError(f"invalid chunk size: {size_token[:20]!r}")
        size = int(size_token, 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields: not part of what is compared
            return b"".join(chunks), True
        total += size
        if total > max_bytes:
            return b"", False
        chunks.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise UpstreamProtocolError("chunk not followed by CRLF")


async def _read_to_close(reader: asyncio.StreamReader, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    total = 0
    while chunk := await reader.read(65536):
        total += len(chunk)
        if total > max_bytes:
            return b"", False
        chunks.append(chunk)
    return b"".join(chunks), True


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
