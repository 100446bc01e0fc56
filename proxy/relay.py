"""The client path's relay: one request to one upstream, its answer to the client byte for byte, streaming.

Whichever side serves a route (legacy, or the candidate in the candidate modes), this is the code that talks
to it: hop-by-hop headers dropped, X-Forwarded-* appended, no redirect followed, no decompression, 502/504
with a JSON body when the upstream gives no answer. A `LegacyTap` (despite its name, the tap of whichever
side serves) copies the answer for the shadow job without ever blocking the client.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import hdrs, web
from multidict import CIMultiDict

from proxy.errors import describe, transport_error, upstream_failure
from proxy.headers import Header, response_headers, upstream_request_headers
from proxy.limits import ClientBody
from proxy.routing import Route
from proxy.shadow import LegacyTap, Shadow
from proxy.telemetry import Telemetry
from proxy.upstream import Readable, Upstream, read_bounded

# Known-length bodies up to this size are read whole and leave in one write with the headers.
BUFFERED_RESPONSE_BYTES = 64 * 1024
_AIOHTTP_DEFAULTS = (hdrs.CONTENT_TYPE, hdrs.DATE, hdrs.SERVER)
# What is sent upstream: the client's body as it arrives (bounded: proxy.limits), or what was read of it.
RequestBody = bytes | AsyncIterator[bytes] | aiohttp.StreamReader | ClientBody | None


class RelayedResponse(web.StreamResponse):
    """A response carrying an upstream's headers exactly: aiohttp adds none of its defaults."""

    def __init__(self, status: int, reason: str | None, headers: CIMultiDict[str]) -> None:
        super().__init__(status=status, reason=reason, headers=headers)
        self._absent = tuple(name for name in _AIOHTTP_DEFAULTS if name not in headers)
        self._length = headers.get(hdrs.CONTENT_LENGTH) if status == 304 else None

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        headers = self.headers
        for name in self._absent:
            headers.popall(name, None)
        if self._length is not None:  # RFC 9110 §8.6 allows it on a 304; aiohttp drops it
            headers[hdrs.CONTENT_LENGTH] = self._length


class BufferedRelayedResponse(RelayedResponse):
    """A RelayedResponse whose headers leave with the body in one write (small, already-read bodies)."""

    _send_headers_immediately = False


@dataclass(slots=True)
class Outbound:
    """One request as the serving side receives it.

    Built for every request, so not frozen: a frozen dataclass's __init__ costs about five times more.
    """

    upstream: Upstream
    method: str
    target: str
    forwarded: list[Header]
    data: RequestBody
    preserve_host: bool
    timeout: aiohttp.ClientTimeout


@dataclass(frozen=True, slots=True)
class Relay:
    """Sends client requests upstream over the client-path session and relays the answers."""

    session: aiohttp.ClientSession
    telemetry: Telemetry

    async def relay(self, request: web.Request, out: Outbound, tap: LegacyTap | None) -> web.StreamResponse:
        """The whole client path for one request: send, then stream the answer (or a 502/504)."""
        side = out.upstream.name
        with self.telemetry.upstream_span(side, out.method, out.upstream) as span:
            try:
                upstream = await self.send(request, out)
            except Exception as exc:
                response = no_answer(exc, tap, side)
                self.telemetry.upstream_failed(span, str(transport_error(exc)), describe(exc))
                return response
            self.telemetry.upstream_answered(span, upstream.status)
            try:
                return await self.respond(request, upstream, tap, side)
            finally:
                upstream.release()

    async def send(self, request: web.Request, out: Outbound) -> aiohttp.ClientResponse:
        """Send the request; raises what aiohttp raises when no response headers arrive."""
        host = out.upstream.host
        if out.preserve_host:
            host = request.headers.get(hdrs.HOST) or host
        headers = upstream_request_headers(self.telemetry.trace_headers(out.forwarded), host)
        return await self.session.request(
            out.method,
            out.upstream.url(out.target),
            headers=headers,
            data=out.data,
            allow_redirects=False,
            timeout=out.timeout,
        )

    async def respond(
        self, request: web.Request, upstream: aiohttp.ClientResponse, tap: LegacyTap | None, side: str
    ) -> web.StreamResponse:
        headers = response_headers(upstream.headers.items())
        if tap is not None:
            tap.response(upstream.status, tuple(upstream.headers.items()))
        length = upstream.content_length
        if length is not None and length <= BUFFERED_RESPONSE_BYTES:
            return await _respond_buffered(request, upstream, headers, tap, side)
        response = RelayedResponse(upstream.status, upstream.reason, headers)
        await response.prepare(request)
        await _stream(request, upstream.content, response, tap)
        return response


def no_answer(exc: Exception, tap: LegacyTap | None, side: str) -> web.Response:
    """The 502/504 for an upstream that gave no response headers; anything but a transport fault re-raises."""
    error = transport_error(exc)
    if error is None:
        raise exc
    detail = describe(exc)
    if tap is not None:
        tap.fail(error, detail)
    return upstream_failure(error, detail, side)


async def send_buffered(
    request: web.Request, status: int, headers: CIMultiDict[str], body: bytes
) -> web.StreamResponse:
    """Send a whole, already-read answer in one write; a client that went away is not an error."""
    response = BufferedRelayedResponse(status, None, headers)
    try:
        await response.prepare(request)
        await response.write_eof(body)
    except ConnectionError:
        pass  # there is no one left to answer
    return response


async def buffer_body(
    request: web.Request, data: RequestBody, shadow: Shadow, route: Route
) -> tuple[bytes, RequestBody]:
    """The whole body when it fits the comparison limit; else (counted too large) what to send instead.

    `data` is the client's body as the client path reads it (None without a body); a ClientBody raises
    ClientBodyError here when the body fails (too large, stalled, malformed).
    """
    if data is None or isinstance(data, bytes | AsyncIterator):
        return b"", data
    limit = shadow.max_body
    if (request.content_length or 0) > limit:
        shadow.too_large(route)
        return b"", data
    body, complete = await read_bounded(data, limit)
    if not complete:
        shadow.too_large(route)
        return b"", chain(body, data)
    return body, None


async def _respond_buffered(
    request: web.Request,
    upstream: aiohttp.ClientResponse,
    headers: CIMultiDict[str],
    tap: LegacyTap | None,
    side: str,
) -> web.StreamResponse:
    try:
        body = await upstream.read()
    except Exception as exc:
        return no_answer(exc, tap, side)
    if tap is not None:
        tap.feed(body)
        tap.finish()
    response = BufferedRelayedResponse(upstream.status, upstream.reason, headers)
    try:
        await response.prepare(request)
        await response.write_eof(body)
    except ConnectionError:
        pass  # the client went away; there is no one left to answer
    return response


async def _stream(
    request: web.Request, reader: aiohttp.StreamReader, response: web.StreamResponse, tap: LegacyTap | None
) -> None:
    """Copy the body to the client as it arrives; on an upstream failure, cut the client's connection."""
    while True:
        try:
            chunk = await reader.readany()
        except Exception as exc:
            error = transport_error(exc)
            if error is None:
                raise
            if tap is not None:
                tap.fail(error, describe(exc))
            # Headers are out: the only honest signal left is a truncated body on a closed connection.
            request.protocol.force_close()
            return
        if not chunk:
            break
        if tap is not None:
            tap.feed(chunk)
        try:
            await response.write(chunk)
        except ConnectionError:
            return
    if tap is not None:
        tap.finish()
    with contextlib.suppress(ConnectionError):
        await response.write_eof()


async def chain(head: bytes, rest: Readable) -> AsyncIterator[bytes]:
    """The part of a request body already read, then the remainder as it arrives."""
    yield head
    while chunk := await rest.readany():
        yield chunk
