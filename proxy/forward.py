"""The client path: pick the route and its live mode, then relay to the side that serves, byte for byte.

`shadow` (legacy serves, the candidate is mirrored) is handled here, on the hot path: one plan read, one dict
read for the mode. The other modes (legacy, candidate_primary, candidate) are in proxy.serving. The shadow
path is only touched through non-blocking calls (`Shadow.admits/start`, the taps), so the client's response
never waits on the mirrored side, the comparison or the recorder.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from aiohttp import hdrs, web
from yarl import URL

from config.model import Mode
from proxy.errors import refusal
from proxy.headers import Header, forwarded_request_headers
from proxy.limits import ClientBody, ClientBodyError, InFlight, overloaded, too_large
from proxy.modes import ModeTable
from proxy.plan import LivePlan, Plan
from proxy.records import RequestInfo
from proxy.relay import Outbound, Relay, RequestBody, buffer_body
from proxy.routing import Route
from proxy.serving import ModeServer
from proxy.shadow import LegacyTap, Shadow
from proxy.telemetry import Telemetry

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    """Routes each request by its route's live mode; `shadow` here, the others through a ModeServer."""

    live: LivePlan
    relay: Relay
    modes: ModeTable
    others: ModeServer
    telemetry: Telemetry
    gate: InFlight = field(default_factory=lambda: InFlight(0))  # client requests in flight, bounded
    _serial: Iterator[int] = field(default_factory=itertools.count)
    _id_prefix: str = field(default_factory=lambda: secrets.token_hex(6))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        gate = self.gate
        if not gate.enter():
            return overloaded(gate.limit)
        try:
            return await self._handle(request)
        finally:
            gate.leave()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        plan = self.live.plan  # this request keeps this plan to the end, whatever a reload does
        target = request.raw_path
        if not target.startswith("/"):
            target = URL(target, encoded=True).raw_path_qs  # absolute-form naming this proxy
        method = request.method
        length = request.content_length
        limit = plan.config.server.max_request_body
        if length is not None and length > limit:
            return too_large(limit)
        body: ClientBody | None = None
        if request.body_exists:  # bounded: a chunked body's size, any body's pauses (proxy.limits)
            body = ClientBody(request.content, None if length else limit, plan.config.server.body_timeout)
        forwarded = forwarded_request_headers(request)
        route = plan.router.match(method, target.partition("?")[0])
        telemetry = self.telemetry
        with telemetry.request_span(request, route.name, route.rule.path if route.rule else "") as span:
            try:
                response = await self._routed(request, plan, route, target, forwarded, body)
            except ClientBodyError:
                assert body is not None
                response = body.answer()
            if body is not None and body.error is not None and not response.prepared:
                response = body.answer()  # the upstream saw the body stop short, never a whole request
            telemetry.answered(span, route.name, response.status)
            return response

    async def _routed(
        self,
        request: web.Request,
        plan: Plan,
        route: Route,
        target: str,
        forwarded: list[Header],
        data: RequestBody,
    ) -> web.StreamResponse:
        method = request.method
        mode = self.modes.current.get(route.name, route.mode)
        if mode is not Mode.SHADOW and plan.candidate is not None:
            return await self.others.serve(
                request, plan, route, mode, target, forwarded, data, self.request_info
            )
        tap: LegacyTap | None = None
        shadow = plan.shadow
        if shadow is not None and shadow.admits(route, method):
            data, tap = await self._mirror(request, data, shadow, route, target, forwarded)
        out = Outbound(plan.legacy, method, target, forwarded, data, plan.preserve_host, plan.timeout)
        try:
            return await self.relay.relay(request, out, tap)
        finally:
            if tap is not None:
                tap.abandon()  # a no-op unless legacy's answer was cut short or never came

    def request_info(self, request: web.Request, target: str, body: bytes) -> RequestInfo:
        return RequestInfo(
            method=request.method,
            target=target,
            headers=tuple(request.headers.items()),
            body=body,
            request_id=request.headers.get("X-Request-Id") or f"{self._id_prefix}-{next(self._serial):x}",
            received_at=time.time(),
        )

    async def _mirror(
        self,
        request: web.Request,
        data: RequestBody,
        shadow: Shadow,
        route: Route,
        target: str,
        forwarded: list[Header],
    ) -> tuple[RequestBody, LegacyTap | None]:
        """Buffer the body (bounded) and start the mirror; what to send legacy and the tap, if mirrored."""
        body, rest = await buffer_body(request, data, shadow, route)
        if rest is not None:
            return rest, None
        info = self.request_info(request, target, body)
        tap = shadow.start(route, info, forwarded, request.headers.get(hdrs.HOST))
        return (body if request.body_exists else None), tap
