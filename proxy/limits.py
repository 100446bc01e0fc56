"""The proxy's own limits on what clients send: request line, headers, body, slow heads, requests in flight.

aiohttp's server enforces the size limits while parsing (its `max_line_size`, `max_field_size` and
`max_headers`, set here from `[server]`) but answers every parse failure with a plain-text 400 and logs a
traceback. ProxyRunner serves the proxy app with HardenedRequestHandler, which answers instead:

    request target over max_request_line             414 request_line_too_long
    a header field over max_header_size              431 header_too_large
    more than max_headers header fields              431 too_many_headers
    anything else the parser refuses (smuggling      400 bad_request (the parser's reason, none of the
    attempts, obs-fold, NUL/CTL in headers, ...)         client's bytes echoed back)

each with a small JSON body and `Connection: close`, logged as one `bad_request` line without a traceback.
A request the parser refused is never forwarded anywhere.

`header_timeout` is aiohttp's keep-alive timeout: counted from the connection's opening (or the end of the
previous response), it closes a connection that has not delivered a complete request head in time, whether
it sits idle or trickles its headers (slowloris).

A request body is read through ClientBody, which bounds it while it streams: a chunked body declares no
length, so it is counted and stopped past `max_request_body` (413); a body that sends nothing for
`body_timeout` seconds is given up (408); a body whose chunked framing breaks mid-way is failed at once
(400). In each case the upstream being sent the body sees it stop on a closed connection, never a complete
request, and the client's connection is closed after the answer.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from config.model import ServerSettings
from proxy.errors import refusal

log = structlog.get_logger("proxy.limits")
_TOO_MANY_HEADERS = "Too many headers received"


def handler_args(server: ServerSettings) -> dict[str, Any]:
    """aiohttp's request handler arguments for these settings (web.Application(handler_args=...)).

    aiohttp reports an over-long request line and an over-long header field with the same exception, told
    apart only by the limit it names; when both limits are equal the line's is raised by one byte so the
    answer (414 or 431) stays exact.
    """
    line = server.max_request_line
    if line == server.max_header_size:
        line += 1
    return {
        "max_line_size": line,
        "max_field_size": server.max_header_size,
        "max_headers": server.max_headers,
        "keepalive_timeout": server.header_timeout,
    }


def parse_failure(exc: BaseException, line_limit: int) -> tuple[int, str, str]:
    """The status, cause and detail answering a request the HTTP parser refused."""
    if isinstance(exc, LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else None
        if limit == line_limit:
            return 414, "request_line_too_long", f"request line over {limit} bytes"
        return 431, "header_too_large", f"header field over {limit} bytes"
    message = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
    reason = str(message).strip().splitlines()[0].rstrip(":") if str(message).strip() else type(exc).__name__
    if reason == _TOO_MANY_HEADERS:
        return 431, "too_many_headers", reason
    return 400, "bad_request", reason[:200]


class HardenedRequestHandler(web_protocol.RequestHandler):
    """aiohttp's request handler, answering parse failures as parse_failure() says (see the module doc)."""

    __slots__ = ("_line_limit",)

    def __init__(self, manager: web.Server, *, line_limit: int, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._line_limit = line_limit

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._fail_body_on_parse_error()

    def _fail_body_on_parse_error(self) -> None:
        """A request whose body the parser refused (a bad chunk): fail its body now.

        aiohttp queues its 400 behind the request being served and leaves that request's body waiting for
        bytes that will never come; the body is failed instead, so the proxy answers 400 at once. Read
        through getattr: private attributes of aiohttp; without them the body_timeout still bounds the wait.
        """
        request = getattr(self, "_current_request", None)
        queued = getattr(self, "_messages", None)
        if request is None or not queued:
            return
        refused = getattr(queued[-1][0], "exc", None)  # aiohttp's _ErrInfo: what the parser refused
        if isinstance(refused, HttpProcessingError) and not request.content.is_eof():
            request.content.set_exception(refused)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if exc is None or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        status, cause, detail = parse_failure(exc, self._line_limit)
        log.info("bad_request", status=status, cause=cause, detail=detail, remote=request.remote)
        response = refusal(status, cause, detail)
        response.force_close()
        return response


class _HardenedServer(web.Server):
    """aiohttp's Server creating HardenedRequestHandlers (it adds no state: see ProxyRunner)."""

    line_limit = 0

    def __call__(self) -> web_protocol.RequestHandler:
        return HardenedRequestHandler(self, line_limit=self.line_limit, loop=self._loop, **self._kwargs)


class ProxyRunner(web.AppRunner):
    """An AppRunner whose connections are served by HardenedRequestHandler."""

    def __init__(self, app: web.Application, server: ServerSettings, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._line_limit = handler_args(server)["max_line_size"]

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        # aiohttp builds the Server inside Application._make_handler; swapping its class (same layout, one
        # overridden method) is the narrowest way to choose the protocol class without re-implementing it.
        made.__class__ = _HardenedServer
        made.line_limit = self._line_limit  # type: ignore[attr-defined]
        return made


@dataclass(slots=True)
class InFlight:
    """Client requests being served now; refused beyond `limit` (0: no bound). Mutable on purpose."""

    limit: int
    active: int = 0
    refused: int = 0

    def enter(self) -> bool:
        if self.limit and self.active >= self.limit:
            self.refused += 1
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        self.active -= 1


def overloaded(limit: int) -> web.Response:
    response = refusal(503, "proxy_overloaded", f"more than {limit} requests in flight")
    response.headers["Retry-After"] = "1"
    return response


def too_large(limit: int) -> web.Response:
    return _closing(refusal(413, BodyFailure.TOO_LARGE.value, f"body over {limit} bytes"))


def _closing(response: web.Response) -> web.Response:
    response.force_close()  # the rest of the body is unread: this connection cannot carry another request
    return response


class BodyFailure(enum.StrEnum):
    """Why the client's body could not be read whole; the value is the `error` of the proxy's answer."""

    TOO_LARGE = "request_too_large"  # 413: past max_request_body (a chunked body declares no length)
    TIMEOUT = "request_body_timeout"  # 408: no byte for body_timeout seconds
    MALFORMED = "bad_request"  # 400: the body's framing is broken (a bad chunk)


_STATUS = {BodyFailure.TOO_LARGE: 413, BodyFailure.TIMEOUT: 408, BodyFailure.MALFORMED: 400}


class ClientBodyError(Exception):
    """The client's body failed (see BodyFailure); raised to whoever reads it."""

    def __init__(self, failure: BodyFailure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail


class ClientBody:
    """The client's request body as the proxy reads it: bounded in size (when its length is not declared)
    and in the time between two reads; a failure is raised as ClientBodyError and kept in `failure`.

    The upstream being sent this body sees it stop and its connection close: never a complete request.
    """

    __slots__ = ("_limit", "_size", "_stream", "_timeout", "error")

    def __init__(self, stream: aiohttp.StreamReader, limit: int | None, timeout: float) -> None:
        self._stream = stream
        self._limit = limit
        self._timeout = timeout
        self._size = 0
        self.error: ClientBodyError | None = None

    async def readany(self) -> bytes:
        if self.error is not None:
            raise self.error
        try:
            async with asyncio.timeout(self._timeout):
                chunk = await self._stream.readany()
        except TimeoutError:
            raise self._fail(BodyFailure.TIMEOUT, f"no body byte for {self._timeout} s") from None
        except HttpProcessingError as exc:
            # The parser dropped this body and queued nothing more for it: mark it ended, so aiohttp does not
            # linger reading (and logging) an error it already answered.
            self._stream.feed_eof()
            raise self._fail(BodyFailure.MALFORMED, parse_failure(exc, 0)[2]) from None
        self._size += len(chunk)
        if self._limit is not None and self._size > self._limit:
            raise self._fail(BodyFailure.TOO_LARGE, f"body over {self._limit} bytes")
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.readany():
            yield chunk

    def answer(self) -> web.Response:
        """The proxy's answer to a body that failed (call only when `error` is set)."""
        assert self.error is not None
        failure = self.error.failure
        return _closing(refusal(_STATUS[failure], failure.value, self.error.detail))

    def _fail(self, failure: BodyFailure, detail: str) -> ClientBodyError:
        self.error = ClientBodyError(failure, detail)
        return self.error
