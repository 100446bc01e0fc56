"""The client path of the modes other than `shadow`: legacy alone, candidate alone, and candidate_primary.

Every mode sends through the same Relay, so the core's guarantees (byte-faithful streaming, hop-by-hop
headers, X-Forwarded-*, no redirect followed, 502/504) hold for whichever side serves.

candidate_primary: the candidate serves; legacy is called at the same moment by the shadow path (it is the
reference of the comparison, and the fallback). With `fallback = "legacy"`:

- the candidate's answer is streamed to the client as soon as its headers arrive with a status below 500,
  so a healthy candidate costs no added latency and no buffering (legacy's answer is never waited for);
- on a candidate transport error, timeout or 5xx, the client waits for legacy's answer (which has been
  running concurrently since the start, bounded by `[shadow] timeout`) and gets it instead, counted as a
  fallback. The added latency is then max(0, legacy's time - the candidate's time to fail);
- legacy's answer can only be served when it was read whole: a body over `max_compare_bytes`, a legacy
  failure, or a request legacy was not sent (a write on a route without `mirror_writes`, or the shadow path
  saturated) leaves the candidate's failure as the answer;
- a candidate that fails after its headers were sent (mid-body) cannot be replaced: the client sees the
  truncated body on a closed connection, as with legacy in `shadow`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp
from aiohttp import hdrs, web

from comparators.model import Observation
from config.model import Fallback, Mode
from proxy.errors import describe, transport_error, upstream_failure
from proxy.headers import Header, response_headers
from proxy.idmap import IdMap
from proxy.plan import Plan
from proxy.records import RequestInfo
from proxy.relay import Outbound, Relay, RequestBody, buffer_body, send_buffered
from proxy.routing import Route
from proxy.shadow import CandidateTap, Shadow
from proxy.tally import ServeTally
from proxy.upstream import read_bounded

RequestInfoOf = Callable[[web.Request, str, bytes], RequestInfo]
CANDIDATE = "candidate"


@dataclass(frozen=True, slots=True)
class ModeServer:
    """Serves legacy, candidate and candidate_primary requests (see the module docstring)."""

    relay: Relay
    ids: IdMap
    tally: ServeTally

    async def serve(
        self,
        request: web.Request,
        plan: Plan,
        route: Route,
        mode: Mode,
        target: str,
        forwarded: list[Header],
        data: RequestBody,
        info_of: RequestInfoOf,
    ) -> web.StreamResponse:
        """`data` is the client's body as the client path reads it (None without one)."""
        shadow = plan.shadow
        assert shadow is not None and plan.candidate is not None  # candidate modes need a candidate
        if mode is Mode.LEGACY:
            shadow.not_mirrored(route)
            legacy = Outbound(
                plan.legacy, request.method, target, forwarded, data, plan.preserve_host, plan.timeout
            )
            return await self.relay.relay(request, legacy, None)
        candidate_target = self._candidate_target(route, target)
        out = Outbound(
            plan.candidate,
            request.method,
            candidate_target,
            forwarded,
            data,
            plan.preserve_host,
            plan.timeout,
        )
        if mode is Mode.CANDIDATE:
            shadow.not_mirrored(route)
            return await self._served(route, await self.relay.relay(request, out, None))
        return await self._candidate_primary(request, shadow, route, target, out, info_of)

    def _candidate_target(self, route: Route, target: str) -> str:
        if route.rule is None or not route.rule.rewrite_ids:
            return target
        return self.ids.to_candidate(route.rule.id_kind, target)

    async def _served(self, route: Route, response: web.StreamResponse) -> web.StreamResponse:
        self.tally.served(route.name, failed=response.status >= 500)
        return response

    async def _candidate_primary(
        self,
        request: web.Request,
        shadow: Shadow,
        route: Route,
        target: str,
        out: Outbound,
        info_of: RequestInfoOf,
    ) -> web.StreamResponse:
        tap: CandidateTap | None = None
        if shadow.admits_reference(route, request.method):
            body, rest = await buffer_body(request, out.data, shadow, route)
            if rest is None:
                info = info_of(request, target, body)
                tap = shadow.start_reference(route, info, out.forwarded, request.headers.get(hdrs.HOST))
                out = replace(out, data=body if request.body_exists else None)
            else:
                out = replace(out, data=rest)
        try:
            if tap is None or route.rule is None or route.rule.fallback is not Fallback.LEGACY:
                return await self._served(route, await self.relay.relay(request, out, tap))
            return await self._with_fallback(request, route, out, tap, shadow.max_body)
        finally:
            if tap is not None:
                tap.abandon()

    async def _with_fallback(
        self, request: web.Request, route: Route, out: Outbound, tap: CandidateTap, limit: int
    ) -> web.StreamResponse:
        telemetry = self.relay.telemetry
        with telemetry.upstream_span(CANDIDATE, out.method, out.upstream) as span:
            response = await self._candidate_or_legacy(request, route, out, tap, limit)
            telemetry.upstream_answered(span, response.status)
            return response

    async def _candidate_or_legacy(
        self, request: web.Request, route: Route, out: Outbound, tap: CandidateTap, limit: int
    ) -> web.StreamResponse:
        try:
            upstream = await self.relay.send(request, out)
        except Exception as exc:
            error = transport_error(exc)
            if error is None:
                raise
            detail = describe(exc)
            tap.fail(error, detail)
            return await self._fall_back(request, route, tap) or self._failed(
                route, upstream_failure(error, detail, CANDIDATE)
            )
        try:
            if upstream.status >= 500:
                tap.response(upstream.status, tuple(upstream.headers.items()))
                legacy = await tap.legacy_answer()
                if _servable(legacy):
                    await _capture_body(tap, upstream, limit)  # the candidate's 5xx, for the comparison
                    return await self._answer_with_legacy(request, route, legacy)
            return await self._served(route, await self.relay.respond(request, upstream, tap, CANDIDATE))
        finally:
            upstream.release()

    async def _fall_back(
        self, request: web.Request, route: Route, tap: CandidateTap
    ) -> web.StreamResponse | None:
        legacy = await tap.legacy_answer()
        if not _servable(legacy):
            return None
        return await self._answer_with_legacy(request, route, legacy)

    async def _answer_with_legacy(
        self, request: web.Request, route: Route, legacy: Observation | None
    ) -> web.StreamResponse:
        assert legacy is not None and legacy.status is not None
        self.tally.served(route.name, failed=True, fell_back=True)
        return await send_buffered(request, legacy.status, response_headers(legacy.headers), legacy.body)

    def _failed(self, route: Route, response: web.Response) -> web.Response:
        self.tally.served(route.name, failed=True)
        return response


def _servable(legacy: Observation | None) -> bool:
    """Legacy's answer can replace the candidate's: it is a whole response (no error, not too large)."""
    return legacy is not None and legacy.error is None and legacy.status is not None


async def _capture_body(tap: CandidateTap, upstream: aiohttp.ClientResponse, limit: int) -> None:
    try:
        body, complete = await read_bounded(upstream.content, limit)
    except Exception as exc:
        error = transport_error(exc)
        if error is None:
            raise
        tap.fail(error, describe(exc))
        return
    tap.feed(body)
    if complete:
        tap.finish()
