"""A proxy reduced to the Telemetry calls proxy.forward and proxy.shadow make, between real upstreams.

The legacy call goes through an aiohttp session (as the Relay does), the mirror through the real MirrorClient
and `observe`, the shadow work through the real ShadowDispatcher, the comparison through comparators, and
the exchange to whatever Recorder the test gives.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from comparators.compare import compare
from comparators.model import Observation
from comparators.spec import CompareSpec
from proxy.headers import Header, mirror_request_headers
from proxy.mirror_client import MirrorClient, OutgoingRequest, observe
from proxy.records import Exchange, Recorder, RequestInfo
from proxy.telemetry import Telemetry, current_trace_id, incoming_trace_id
from proxy.upstream import Upstream
from proxy.workers import ShadowDispatcher

ROUTE = "GET /items/{id}"  # an automatic route's name
MARKER = "X-Shadow-Request"


@dataclass
class Received:
    """The headers each request to a test upstream carried, in order."""

    headers: list[dict[str, str]] = field(default_factory=list)

    def only(self) -> dict[str, str]:
        [headers] = self.headers
        return headers


def upstream_app(received: Received, body: bytes) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        received.headers.append({k.lower(): v for k, v in request.headers.items()})
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


@dataclass
class MiniProxy:
    """Serves from legacy, mirrors to the candidate, compares and records: each step in its span."""

    telemetry: Telemetry
    legacy: Upstream
    candidate: Upstream
    recorder: Recorder
    session: aiohttp.ClientSession = field(default_factory=aiohttp.ClientSession)
    mirror: MirrorClient = field(default_factory=MirrorClient)
    dispatcher: ShadowDispatcher = field(default_factory=lambda: ShadowDispatcher(8))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app

    async def close(self) -> None:
        await self.dispatcher.wait_idle()
        await self.session.close()
        await self.mirror.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        forwarded = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
        with self.telemetry.request_span(request, ROUTE) as span:
            info = RequestInfo(
                request.method, request.raw_path, tuple(request.headers.items()), b"", "rid-1", time.time()
            )
            tap: asyncio.Future[Observation] = asyncio.get_running_loop().create_future()
            self.dispatcher.try_spawn(self._shadow(info, forwarded, tap), ROUTE)
            legacy = await self._legacy(request, forwarded)
            tap.set_result(legacy)
            assert legacy.status is not None
            self.telemetry.answered(span, ROUTE, legacy.status)
            return web.Response(status=legacy.status, body=legacy.body)

    async def _legacy(self, request: web.Request, forwarded: list[Header]) -> Observation:
        with self.telemetry.upstream_span("legacy", request.method, self.legacy) as span:
            headers = self.telemetry.trace_headers(forwarded)
            url = self.legacy.url(request.raw_path)
            async with self.session.request(request.method, url, headers=headers) as response:
                body = await response.read()
                self.telemetry.upstream_answered(span, response.status)
                return Observation(response.status, tuple(response.headers.items()), body)

    async def _shadow(
        self, info: RequestInfo, forwarded: list[Header], tap: asyncio.Future[Observation]
    ) -> None:
        telemetry = self.telemetry
        with telemetry.upstream_span("candidate", info.method, self.candidate, mirror=True) as span:
            plain = mirror_request_headers(forwarded, self.candidate.host, MARKER)
            outgoing = OutgoingRequest(info.method, info.target, None)
            headers = telemetry.trace_headers(plain, mirror=True)
            candidate = await observe(
                self.mirror, self.candidate, outgoing, headers, time_limit=5.0, max_bytes=1 << 20
            )
            telemetry.observed(span, candidate)
        legacy = await tap
        with telemetry.compare_span(ROUTE) as span:
            comparison = compare(CompareSpec(), legacy, candidate)
            telemetry.compared(span, comparison)
        trace_id = current_trace_id() or incoming_trace_id(info.headers)
        self.recorder.record(Exchange(ROUTE, info, legacy, candidate, comparison, trace_id=trace_id))
