"""The client path: relay each request to legacy and legacy's answer to the client, byte for byte, streaming.

The shadow path is only touched through non-blocking calls (`Shadow.admits/start`, `LegacyTap`), so the
client's response never waits on the candidate, the comparison or the recorder.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import hdrs, web
from multidict import CIMultiDict
from yarl import URL

from config.model import ServerSettings
from proxy.errors import describe, refusal, transport_error, upstream_failure
from proxy.headers import Header, forwarded_request_headers, response_headers, upstream_request_headers
from proxy.records import RequestInfo
from proxy.routing import Route, Router
from proxy.shadow import LegacyTap, Shadow
from proxy.upstream import Upstream, read_bounded

# Known-length bodies up to this size are read whole and leave in one write with the headers.
BUFFERED_RESPONSE_BYTES = 64 * 1024
_AIOHTTP_DEFAULTS = (hdrs.CONTENT_TYPE, hdrs.DATE, hdrs.SERVER)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RequestBody = bytes | AsyncIterator[bytes] | aiohttp.StreamReader | None  # what is sent to legacy


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


@web.middleware
async def refuse_foreign_targets(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Not an open proxy: refuse CONNECT, `*`, and absolute-form targets naming any host but this proxy."""
    target = request.raw_path
    if target.startswith("/"):
        return await handler(request)
    if request.method == hdrs.METH_CONNECT:
        return refusal(405, "connect_refused", "this is a reverse proxy; CONNECT is not supported")
    if not _names_this_proxy(request, target):
        return refusal(400, "foreign_target_refused", "this is a reverse proxy, not an open one")
    return await handler(request)


def _names_this_proxy(request: web.Request, target: str) -> bool:
    url = URL(target, encoded=True)
    if not url.absolute or url.scheme not in ("http", "https"):
        return False
    sockname: tuple[str, int] | None = request.get_extra_info("sockname")
    return sockname is not None and url.host == sockname[0] and url.port == sockname[1]


@dataclass(frozen=True, slots=True)
class Forwarder:
    """Relays requests to legacy, and hands mirrored ones to the shadow path."""

    legacy: Upstream
    session: aiohttp.ClientSession
    router: Router
    shadow: Shadow | None
    settings: ServerSettings
    _serial: Iterator[int] = field(default_factory=itertools.count)
    _id_prefix: str = field(default_factory=lambda: secrets.token_hex(6))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = request.raw_path
        if not target.startswith("/"):
            target = URL(target, encoded=True).raw_path_qs  # absolute-form naming this proxy
        method = request.method
        length = request.content_length
        if length is not None and length > self.settings.max_request_body:
            return refusal(413, "request_too_large", f"body over {self.settings.max_request_body} bytes")
        forwarded = forwarded_request_headers(request)
        route = self.router.match(method, target.partition("?")[0])
        tap: LegacyTap | None = None
        data: RequestBody = request.content if request.body_exists else None
        if self.shadow is not None and self.shadow.admits(route, method):
            data, tap = await self._mirror(request, route, method, target, forwarded)
        try:
            return await self._relay(request, method, target, forwarded, data, tap)
        finally:
            if tap is not None:
                tap.abandon()  # a no-op unless legacy's answer was cut short or never came

    async def _mirror(
        self, request: web.Request, route: Route, method: str, target: str, forwarded: list[Header]
    ) -> tuple[RequestBody, LegacyTap | None]:
        """Buffer the body (bounded) and start the mirror; what to send legacy and the tap, if mirrored."""
        assert self.shadow is not None
        body = b""
        if request.body_exists:
            limit = self.shadow.max_body
            if (request.content_length or 0) > limit:
                self.shadow.too_large(route)
                return request.content, None
            body, complete = await read_bounded(request.content, limit)
            if not complete:
                self.shadow.too_large(route)
                return _chain(body, request.content), None
        info = RequestInfo(
            method=method,
            target=target,
            headers=tuple(request.headers.items()),
            body=body,
            request_id=request.headers.get("X-Request-Id") or f"{self._id_prefix}-{next(self._serial):x}",
            received_at=time.time(),
        )
        tap = self.shadow.start(route, info, forwarded, request.headers.get(hdrs.HOST))
        return (body if request.body_exists else None), tap

    async def _relay(
        self,
        request: web.Request,
        method: str,
        target: str,
        forwarded: list[Header],
        data: RequestBody,
        tap: LegacyTap | None,
    ) -> web.StreamResponse:
        host = self.legacy.host
        if self.settings.preserve_host:
            host = request.headers.get(hdrs.HOST) or host
        headers = upstream_request_headers(forwarded, host)
        try:
            upstream = await self.session.request(
                method, self.legacy.url(target), headers=headers, data=data, allow_redirects=False
            )
        except Exception as exc:
            return self._no_answer(exc, tap)
        try:
            return await self._respond(request, upstream, tap)
        finally:
            upstream.release()

    def _no_answer(self, exc: Exception, tap: LegacyTap | None) -> web.Response:
        error = transport_error(exc)
        if error is None:
            raise exc
        detail = describe(exc)
        if tap is not None:
            tap.fail(error, detail)
        return upstream_failure(error, detail)

    async def _respond(
        self, request: web.Request, upstream: aiohttp.ClientResponse, tap: LegacyTap | None
    ) -> web.StreamResponse:
        headers = response_headers(upstream.headers.items())
        if tap is not None:
            tap.response(upstream.status, tuple(upstream.headers.items()))
        length = upstream.content_length
        if length is not None and length <= BUFFERED_RESPONSE_BYTES:
            return await self._respond_buffered(request, upstream, headers, tap)
        response = RelayedResponse(upstream.status, upstream.reason, headers)
        await response.prepare(request)
        await _stream(request, upstream.content, response, tap)
        return response

    async def _respond_buffered(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        headers: CIMultiDict[str],
        tap: LegacyTap | None,
    ) -> web.StreamResponse:
        try:
            body = await upstream.read()
        except Exception as exc:
            return self._no_answer(exc, tap)
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
    """Copy legacy's body to the client as it arrives; on a legacy failure, cut the client's connection."""
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


async def _chain(head: bytes, rest: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The part of a request body already read, then the remainder as it arrives."""
    yield head
    async for chunk in rest.iter_any():
        yield chunk
