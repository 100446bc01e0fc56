"""The shadow path: mirror a request to the side that does not serve, compare legacy with candidate, record.

In `shadow` mode legacy serves and the candidate (and secondary) are mirrored; in `candidate_primary` the
candidate serves and legacy (and secondary) are mirrored. The comparison is legacy vs candidate either way.
Nothing here may reach the client path: the client path only calls `Shadow.admits`, `Shadow.start` and the
returned tap's non-blocking methods. Everything else runs in tasks owned by the ShadowDispatcher.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import structlog

from comparators.model import Comparison, Observation, TransportError, Verdict
from config.model import SAFE_METHODS, Fallback, ShadowSettings
from proxy.headers import Header, carries_credentials, mirror_request_headers, without_credentials
from proxy.idmap import IdMap
from proxy.mirror_client import MirrorClient, OutgoingRequest, observe
from proxy.records import Counter, Exchange, Recorder, RequestInfo
from proxy.routing import Route
from proxy.tally import ServeTally
from proxy.telemetry import Telemetry, current_trace_id, incoming_trace_id
from proxy.upstream import Upstream
from proxy.workers import CompareRunner, ShadowDispatcher

log = structlog.get_logger(__name__)


class LegacyTap:
    """Collects the serving side's answer for the shadow job while it streams to the client; never blocks.

    Named for the common case (legacy serves, in `shadow` mode); CandidateTap is the candidate_primary one.
    """

    __slots__ = ("_chunks", "_future", "_headers", "_limit", "_size", "_started", "_status")

    def __init__(self, limit: int) -> None:
        self._future: asyncio.Future[Observation | None] = asyncio.get_running_loop().create_future()
        self._limit = limit
        self._chunks: list[bytes] | None = []
        self._size = 0
        self._status = 0
        self._headers: tuple[Header, ...] = ()
        self._started = time.perf_counter()

    def response(self, status: int, headers: tuple[Header, ...]) -> None:
        self._status, self._headers = status, headers

    def feed(self, chunk: bytes) -> None:
        """Keep a copy of a body chunk, until the body outgrows the comparison limit."""
        if self._chunks is None:
            return
        self._size += len(chunk)
        if self._size > self._limit:
            self._chunks = None
            self._resolve(self._observation(b"", TransportError.TOO_LARGE, f"over {self._limit} bytes"))
        else:
            self._chunks.append(chunk)

    def finish(self) -> None:
        if self._chunks is not None:
            self._resolve(self._observation(b"".join(self._chunks)))

    def fail(self, error: TransportError, detail: str) -> None:
        self._resolve(self._observation(b"", error, detail))

    def abandon(self) -> None:
        """The client went away before legacy's answer was complete: there is nothing to compare."""
        self._resolve(None)

    async def observation(self) -> Observation | None:
        return await self._future

    def _observation(self, body: bytes, error: TransportError | None = None, detail: str = "") -> Observation:
        elapsed = (time.perf_counter() - self._started) * 1000.0
        if error is not None and error is not TransportError.TOO_LARGE:
            return Observation.transport_error(error, detail, elapsed)
        return Observation(self._status, self._headers, body, error, detail, elapsed)

    def _resolve(self, observation: Observation | None) -> None:
        if not self._future.done():
            self._future.set_result(observation)


class CandidateTap(LegacyTap):
    """The tap of a candidate that serves (candidate_primary); it also hands legacy's answer to a fallback."""

    __slots__ = ("_reference",)

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._reference: asyncio.Future[Observation | None] = asyncio.get_running_loop().create_future()

    def reference(self, observation: Observation | None) -> None:
        """Legacy's whole answer (None: there will be none); set once by the shadow job."""
        if not self._reference.done():
            self._reference.set_result(observation)

    async def legacy_answer(self) -> Observation | None:
        return await self._reference


@dataclass(frozen=True, slots=True)
class ShadowTargets:
    """Where mirrors go and how: the upstreams, the client that reaches them, and the bounds."""

    candidate: Upstream
    secondary: Upstream | None
    client: MirrorClient
    settings: ShadowSettings
    preserve_host: bool
    legacy: Upstream | None = None  # mirrored when the candidate serves (candidate_primary)
    ids: IdMap | None = None  # learns ids from mirrored writes, rewrites ids in mirrored paths
    tally: ServeTally | None = None  # comparisons made while the candidate serves, for rollback
    credential_params: frozenset[str] = frozenset()  # query parameters holding credentials (lowercase)


class Shadow:
    """Decides what is mirrored, starts mirrors, and turns their outcomes into recorded exchanges."""

    def __init__(
        self,
        targets: ShadowTargets,
        recorder: Recorder,
        dispatcher: ShadowDispatcher,
        runner: CompareRunner,
        telemetry: Telemetry,
    ) -> None:
        self._targets = targets
        self._telemetry = telemetry
        self._settings = targets.settings
        self._recorder = recorder
        self._dispatcher = dispatcher
        self._runner = runner
        self.max_body = targets.settings.max_compare_bytes
        self._strip_credentials = targets.settings.strip_credentials_for_candidate

    def admits(self, route: Route, method: str) -> bool:
        """Whether this request should be mirrored at all (method and sampling); counts it when not."""
        if route.mirrors(method) and (route.sample_rate >= 1.0 or random.random() < route.sample_rate):
            return True
        self._recorder.count(route.name, Counter.NOT_MIRRORED)
        return False

    def admits_reference(self, route: Route, method: str) -> bool:
        """Whether legacy is called next to a serving candidate; always when it is the fallback."""
        if route.mirrors(method) and (
            route.sample_rate >= 1.0
            or (route.rule is not None and route.rule.fallback is Fallback.LEGACY)
            or random.random() < route.sample_rate
        ):
            return True
        self._recorder.count(route.name, Counter.NOT_MIRRORED)
        return False

    def not_mirrored(self, route: Route) -> None:
        """A request that one side answers alone (legacy or candidate mode)."""
        self._recorder.count(route.name, Counter.NOT_MIRRORED)

    def too_large(self, route: Route) -> None:
        self._recorder.count(route.name, Counter.TOO_LARGE)

    def start(
        self, route: Route, info: RequestInfo, forwarded: list[Header], client_host: str | None
    ) -> LegacyTap | None:
        """Start mirroring now, concurrently with legacy; None when over max_in_flight (counted dropped).

        Under strip_credentials_for_candidate a request carrying a credential is not mirrored (counted
        not_mirrored): without its credential the candidate would answer something else (a 401, an
        anonymous view) and the comparison would report a difference the proxy itself caused.
        """
        if self._strip_credentials and carries_credentials(
            info.headers, info.target, self._targets.credential_params
        ):
            self._recorder.count(route.name, Counter.NOT_MIRRORED)
            return None
        tap = LegacyTap(self.max_body)
        work = self._mirror(route, info, forwarded, client_host, tap)
        if self._dispatcher.try_spawn(work, route.name):
            return tap
        self._recorder.count(route.name, Counter.DROPPED)
        return None

    def start_reference(
        self, route: Route, info: RequestInfo, forwarded: list[Header], client_host: str | None
    ) -> CandidateTap | None:
        """candidate_primary: call legacy now, concurrently with the serving candidate; None when dropped."""
        tap = CandidateTap(self.max_body)
        work = self._mirror(route, info, forwarded, client_host, tap)
        if self._dispatcher.try_spawn(work, route.name):
            return tap
        self._recorder.count(route.name, Counter.DROPPED)
        return None

    async def _mirror(
        self,
        route: Route,
        info: RequestInfo,
        forwarded: list[Header],
        client_host: str | None,
        tap: LegacyTap,
    ) -> None:
        try:
            await self._compare_and_record(route, info, forwarded, client_host, tap)
        except asyncio.CancelledError:
            self._recorder.count(route.name, Counter.DROPPED)
            raise
        except Exception:
            log.exception("shadow_failure", route=route.name, request_id=info.request_id)
            self._recorder.count(route.name, Counter.SHADOW_FAILURES)
        finally:
            if isinstance(tap, CandidateTap):
                tap.reference(None)  # a no-op once legacy's answer was handed over

    async def _compare_and_record(
        self,
        route: Route,
        info: RequestInfo,
        forwarded: list[Header],
        client_host: str | None,
        tap: LegacyTap,
    ) -> None:
        legacy: Observation | None
        candidate: Observation | None
        if isinstance(tap, CandidateTap):
            legacy, secondary = await self._observe_legacy(route, info, forwarded, client_host)
            tap.reference(legacy)
            candidate = await tap.observation()
        else:
            outgoing = self._outgoing(info, self._candidate_target(route, info.target))
            candidate, secondary = await self._observe_all(outgoing, forwarded, client_host)
            legacy = await tap.observation()
        if legacy is None or candidate is None:
            self._recorder.count(route.name, Counter.DROPPED)
            return
        if _too_large(legacy) or _too_large(candidate):
            self._recorder.count(route.name, Counter.TOO_LARGE)
            return
        if route.rule is not None and route.rule.id_paths is not None and info.method not in SAFE_METHODS:
            self._learn_ids(route, legacy, candidate, info.received_at)
        with self._telemetry.compare_span(route.name) as span:
            comparison = await self._runner.compare(route.compare, legacy, candidate)
            noise: Comparison | None = None
            if secondary is not None and not _too_large(secondary):
                noise = await self._runner.compare(route.compare, legacy, secondary)
            self._telemetry.compared(span, comparison)
        trace_id = current_trace_id() or incoming_trace_id(info.headers)
        exchange = Exchange(route.name, info, legacy, candidate, comparison, secondary, noise, trace_id)
        self._recorder.record(exchange)
        if isinstance(tap, CandidateTap):
            self._candidate_served(route, info, comparison)

    def _outgoing(self, info: RequestInfo, target: str) -> OutgoingRequest:
        return OutgoingRequest(info.method, target, info.body if info.body else None)

    def _candidate_target(self, route: Route, target: str) -> str:
        ids = self._targets.ids
        if ids is None or route.rule is None or not route.rule.rewrite_ids:
            return target
        return ids.to_candidate(route.rule.id_kind, target)

    def _learn_ids(self, route: Route, legacy: Observation, candidate: Observation, at: float) -> None:
        if self._targets.ids is not None and route.rule is not None:
            self._targets.ids.learn(route.rule, legacy, candidate, at)

    def _candidate_served(self, route: Route, info: RequestInfo, comparison: Comparison) -> None:
        diverged = comparison.verdict is Verdict.DIVERGED
        if self._targets.tally is not None:
            self._targets.tally.compared(route.name, diverged=diverged)
        if diverged:  # the client saw the candidate's answer: every divergence is worth a warning
            paths = [f"{path} ({kind})" for path, kind in comparison.signature()]
            log.warning(
                "candidate_primary_divergence", route=route.name, request_id=info.request_id, paths=paths
            )

    async def _observe_legacy(
        self, route: Route, info: RequestInfo, forwarded: list[Header], client_host: str | None
    ) -> tuple[Observation, Observation | None]:
        """Legacy (and the secondary) answering next to a serving candidate: ids back to legacy's."""
        targets = self._targets
        target = info.target
        if targets.ids is not None and route.rule is not None and route.rule.rewrite_ids:
            target = targets.ids.to_legacy(route.rule.id_kind, target)
        assert targets.legacy is not None
        outgoing = self._outgoing(info, target)
        legacy = self._observe(targets.legacy, outgoing, forwarded, client_host)
        baseline = self._baseline_target(info.method)
        if baseline is None:
            return await legacy, None
        secondary = self._observe(baseline, outgoing, forwarded, client_host)
        both = await asyncio.gather(legacy, secondary)
        return both[0], both[1]

    def _baseline_target(self, method: str) -> Upstream | None:
        """Where legacy's own answer is asked a second time, to learn its noise: the secondary, or (without
        one) legacy itself for a `resample_legacy` share of safe requests; never for a write."""
        targets = self._targets
        if targets.secondary is not None:
            return targets.secondary
        share = self._settings.resample_legacy
        if share > 0 and method in SAFE_METHODS and targets.legacy is not None and random.random() < share:
            return targets.legacy
        return None

    async def _observe_all(
        self, outgoing: OutgoingRequest, forwarded: list[Header], client_host: str | None
    ) -> tuple[Observation, Observation | None]:
        targets = self._targets
        sent = without_credentials(forwarded) if self._strip_credentials else forwarded
        candidate = self._observe(targets.candidate, outgoing, sent, client_host)
        baseline = self._baseline_target(outgoing.method)
        if baseline is None:
            return await candidate, None
        secondary = self._observe(baseline, outgoing, forwarded, client_host)
        both = await asyncio.gather(candidate, secondary)
        return both[0], both[1]

    async def _observe(
        self, upstream: Upstream, outgoing: OutgoingRequest, forwarded: list[Header], client_host: str | None
    ) -> Observation:
        host = client_host if self._targets.preserve_host and client_host else upstream.host
        headers = mirror_request_headers(forwarded, host, self._settings.marker_header)
        telemetry = self._telemetry
        with telemetry.upstream_span(upstream.name, outgoing.method, upstream, mirror=True) as span:
            observation = await observe(
                self._targets.client,
                upstream,
                outgoing,
                telemetry.trace_headers(headers, mirror=True),
                time_limit=self._settings.timeout,
                max_bytes=self.max_body,
            )
            telemetry.observed(span, observation)
        return observation


def _too_large(observation: Observation) -> bool:
    return observation.error is TransportError.TOO_LARGE
