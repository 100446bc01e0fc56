"""A lean HTTP/1.1 client for mirrored requests: whole, bounded bodies over pooled keep-alive connections.

The shadow path needs much less than aiohttp's client offers (no streaming, redirects, cookies or
decompression), and on the hot path aiohttp's per-request cost doubled the price of a mirror. Responses are
parsed by llhttp through httptools (as uvicorn does); this module only sends requests, bounds what it reads
and decides when a connection may be reused. Failures are raised as the UpstreamError family of
proxy.errors, which `observe` turns into Observations.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import httptools

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
_PARSER_ERRORS = (httptools.HttpParserError, httptools.HttpParserUpgrade)


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
        except _Stale as exc:
            raise UpstreamResetError(f"connection closed before any answer ({exc})") from None

    async def close(self) -> None:
        """Close every idle connection (those in use are closed by their own requests)."""
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    async def _exchange(
        self, upstream: Upstream, connection: _Connection, payload: bytes, method: str, max_bytes: int
    ) -> Answer:
        reading = _Reading(method, max_bytes)
        try:
            answer = await connection.exchange(payload, reading)
        except BaseException:
            connection.abort()
            raise
        if answer.complete and reading.reusable and connection.usable():
            self._give_back(upstream, connection)
        else:
            connection.close()
        return answer

    async def _open(self, upstream: Upstream) -> _Connection:
        tls = self._tls_context() if upstream.tls else None
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection, upstream.hostname, upstream.port, ssl=tls
            )
        except OSError as exc:
            raise UpstreamConnectError(describe(exc)) from exc
        return connection

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


class _Stale(Exception):
    """The connection ended before the upstream answered anything (on a kept one: closed while idle)."""


class _Stop(Exception):
    """Raised from a parser callback to stop parsing: the answer is already decided."""


class _Connection(asyncio.Protocol):
    """One pooled connection: the bytes it receives go to the exchange in progress, if any."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._reading: _Reading | None = None
        self._answered: asyncio.Future[Answer] | None = None
        self._ended = False
        self.reused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports do not derive from asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)

    async def exchange(self, payload: bytes, reading: _Reading) -> Answer:
        """Send `payload` and wait until `reading` has decided the answer (or an error)."""
        if self._transport is None or not self.usable():  # no connection_lost() would ever answer
            raise _Stale("closed")
        self._reading, self._answered = reading, asyncio.get_running_loop().create_future()
        self._transport.write(payload)
        try:
            return await self._answered
        finally:
            self._reading = self._answered = None

    def data_received(self, data: bytes) -> None:
        reading = self._reading
        if reading is None:  # bytes nobody asked for: what follows on this connection cannot be trusted
            self._ended = True
            self.abort()
            return
        reading.feed(data)
        if reading.outcome is not None:
            self._settle(reading)

    def eof_received(self) -> bool:
        self.connection_lost(None)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended = True
        reading = self._reading
        if reading is not None and reading.outcome is None:
            reading.end(exc)
            self._settle(reading)

    def usable(self) -> bool:
        return not self._ended and self._transport is not None and not self._transport.is_closing()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _settle(self, reading: _Reading) -> None:
        answered, self._reading = self._answered, None
        if answered is None or answered.done():
            return
        if isinstance(reading.outcome, Answer):
            answered.set_result(reading.outcome)
        elif reading.outcome is not None:
            answered.set_exception(reading.outcome)


class _Reading:
    """One response being read (sans I/O): llhttp's callbacks collect the final answer within the limits."""

    __slots__ = (
        "_chunks",
        "_fields",
        "_final_head",
        "_max_bytes",
        "_no_body",
        "_parser",
        "_received",
        "_size",
        "_until_close",
        "headers",
        "outcome",
        "reusable",
        "status",
    )

    def __init__(self, method: str, max_bytes: int) -> None:
        # The parser refers back to this object; dropped once the outcome is known, so that no cycle is
        # left for the garbage collector (measured: a third of the cost of a read in a large heap).
        self._parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self._no_body = method == "HEAD"  # llhttp cannot know the request was HEAD: stop at the head
        self._max_bytes = max_bytes
        self._fields: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._size = self._received = 0
        self._final_head = self._until_close = False
        self.status = 0
        self.headers: tuple[Header, ...] = ()
        self.reusable = False
        self.outcome: Answer | Exception | None = None

    def feed(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:
            return
        self._received += len(data)
        try:
            parser.feed_data(data)
        except _PARSER_ERRORS as exc:
            if self.outcome is None:
                self.outcome = UpstreamProtocolError(f"invalid response: {describe(exc)}")
        if self.outcome is None and not self._final_head and self._received > MAX_HEAD_BYTES:
            self.outcome = UpstreamProtocolError(f"response head over {MAX_HEAD_BYTES} bytes")
        if self.outcome is not None:
            self._parser = None

    def end(self, error: Exception | None) -> None:
        """The connection ended (`error` None: a clean close) before the answer was decided."""
        self._parser = None
        if self._received == 0:
            self.outcome = _Stale(describe(error) if error else "closed")
        elif error is None and self._final_head and self._until_close:
            self.reusable = False
            self.outcome = Answer(self.status, self.headers, b"".join(self._chunks), True)
        else:
            part = "body" if self._final_head else "head"
            cause = f": {describe(error)}" if error else ""
            self.outcome = UpstreamResetError(
                f"connection closed {self._received} bytes into a {part}{cause}"
            )

    def on_message_begin(self) -> None:
        if self.outcome is not None:  # a second answer to one request
            self.reusable = False
            raise _Stop
        self._fields = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None  # callbacks only run inside feed()
        status = parser.get_status_code()
        if status < 200 and status != 101:
            return  # an interim answer: the final one follows
        self._final_head = True
        self.status, self.reusable = status, parser.should_keep_alive() and status != 101
        self.headers, length, coding, size = _decode(self._fields)
        if size > MAX_HEAD_BYTES:  # a head that arrived whole, in one read, escapes the check in feed()
            self.outcome = UpstreamProtocolError(f"response head over {MAX_HEAD_BYTES} bytes")
            raise _Stop
        if self._no_body:
            self.outcome = Answer(status, self.headers, b"", True)
            raise _Stop
        if length is not None and int(length) > self._max_bytes:
            self.outcome = Answer(status, self.headers, b"", False)
            raise _Stop
        self._until_close = length is None and coding.rsplit(",", 1)[-1].strip().lower() != "chunked"

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_bytes:
            self.outcome = Answer(self.status, self.headers, b"", False)
            raise _Stop
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        if self._final_head:
            self.outcome = Answer(self.status, self.headers, b"".join(self._chunks), True)


def _decode(fields: list[tuple[bytes, bytes]]) -> tuple[tuple[Header, ...], str | None, str, int]:
    """Header fields as text, the Content-Length (llhttp checked it), the transfer codings, the size."""
    headers: list[Header] = []
    length: str | None = None
    coding = ""
    size = 0
    for raw_name, raw_value in fields:
        size += len(raw_name) + len(raw_value) + 4
        name = raw_name.decode("utf-8", "surrogateescape")
        value = raw_value.decode("utf-8", "surrogateescape").rstrip(" \t")  # llhttp strips leading only
        headers.append((name, value))
        lowered = name.lower()
        if lowered == "content-length":
            length = value
        elif lowered == "transfer-encoding":
            coding = f"{coding},{value}" if coding else value
    return tuple(headers), length, coding, size


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
