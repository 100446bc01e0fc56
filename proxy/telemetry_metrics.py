"""The proxy's OpenTelemetry metrics as Prometheus text: instruments, a counting Recorder, the handler.

Counts on the client path (requests, and the `count` calls the client path makes: not_mirrored, dropped,
too_large) are plain dict increments; OpenTelemetry reads them through observable counters only when
/metrics is scraped, so the client path never takes the SDK's locks. Latency histograms are recorded from
`record`, which runs in the shadow task, after the client was answered.

Each ShadowMetrics owns its MeterProvider and a private prometheus_client CollectorRegistry (the
`registry=` argument of PrometheusMetricReader, opentelemetry-exporter-prometheus >= 0.64b0), so several
proxies in one process (tests) never share or collide on the global registry. Exported names:

    shadow_requests_total{route,http_response_status_code}    client requests answered, by status
    shadow_mirrored_total{route}                               exchanges recorded (both sides observed)
    shadow_<counter>_total{route}                              one per proxy.records.Counter (compared,
                                                               matched, diverged, dropped, ...), and noise
    shadow_upstream_duration_seconds{route,side}               legacy and candidate latency, histogram
    shadow_upstream_errors_total{route,side,error}             transport faults of mirrored exchanges, by
                                                               side (legacy, candidate, secondary) and kind
                                                               (connect, timeout, reset, invalid)
    shadow_store_buffered_examples, shadow_store_buffer_size, shadow_store_pending_rows,
    shadow_store_degraded, shadow_store_records_dropped_total   read from the recorder's snapshot()
    shadow_in_flight, shadow_max_in_flight                     the shadow dispatcher, when watched
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import structlog
from aiohttp import web
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from comparators.model import Verdict
from proxy.records import VERDICT_COUNTERS, Counter, Exchange, Recorder

log = structlog.get_logger("proxy.telemetry")

# Seconds; the HTTP semantic conventions' advisory buckets, plus 30 s for slow candidates under test.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0)
EXEMPLAR_FILTER = "OTEL_METRICS_EXEMPLAR_FILTER"
MIRRORED = "mirrored"
NOISE = "noise"
OUTCOMES = (MIRRORED, NOISE, *(counter.value for counter in Counter))
_OUTCOME_HELP = {
    MIRRORED: "mirrored requests whose two answers were observed and recorded",
    NOISE: "exchanges where legacy and the secondary legacy disagreed",
}
Snapshot = Callable[[], Mapping[str, Any]]
Stats = Callable[[], Mapping[str, int]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ShadowMetrics:
    """The proxy's instruments and its Prometheus registry; all methods are called on the event loop."""

    def __init__(self, resource: Resource | None = None, readers: Iterable[MetricReader] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        pull = PrometheusMetricReader(registry=self.registry, scope_info_enabled=False)
        self.provider = MeterProvider(
            metric_readers=[pull, *readers],
            resource=resource or Resource.create(),
            # Exemplars halve a histogram record's cost and Prometheus text cannot carry them: off unless
            # OTEL_METRICS_EXEMPLAR_FILTER asks for them.
            exemplar_filter=None if EXEMPLAR_FILTER in os.environ else AlwaysOffExemplarFilter(),
            shutdown_on_exit=False,  # the owning app shuts it down; no atexit hook per app in tests
        )
        self._requests: dict[tuple[str, int], int] = {}
        self._outcomes: dict[str, dict[str, int]] = {name: {} for name in OUTCOMES}
        self._errors: dict[tuple[str, str, str], int] = {}
        self._snapshot: Snapshot | None = None
        self._dispatcher: Stats | None = None
        meter = self.provider.get_meter("shadow-proxy")
        meter.create_observable_counter(
            "shadow.requests", [self._observe_requests], "{request}", "client requests answered, by status"
        )
        for name in OUTCOMES:
            meter.create_observable_counter(
                f"shadow.{name}", [self._outcome_reader(name)], "{request}", _OUTCOME_HELP.get(name, name)
            )
        meter.create_observable_counter(
            "shadow.upstream.errors",
            [self._observe_errors],
            "{request}",
            "transport faults of mirrored exchanges, by side and kind",
        )
        self._latency = meter.create_histogram(
            "shadow.upstream.duration",
            "s",
            "time for each side to answer a mirrored request completely",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self._store_gauges(meter)

    def request(self, route: str, status: int) -> None:
        """One client request answered (client path: a dict increment)."""
        key = (route, status)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1

    def outcome(self, route: str, name: str, n: int = 1) -> None:
        """Add to one outcome counter (`name` is one of OUTCOMES); a dict increment."""
        routes = self._outcomes[name]
        routes[route] = routes.get(route, 0) + n

    def exchange(self, exchange: Exchange) -> None:
        """Everything one recorded exchange implies: its verdict's counters, noise, both sides' latency."""
        route = exchange.route
        self.outcome(route, MIRRORED)
        for counter in VERDICT_COUNTERS[exchange.comparison.verdict]:
            self.outcome(route, counter.value)
        noise = exchange.noise
        if noise is not None and noise.verdict is Verdict.DIVERGED:
            self.outcome(route, NOISE)
        for side, observation in (("legacy", exchange.legacy), ("candidate", exchange.candidate)):
            if not observation.failed:
                self._latency.record(observation.elapsed_ms / 1000.0, {"route": route, "side": side})
            else:
                self._error(route, side, observation.error)
        if exchange.secondary is not None and exchange.secondary.failed:
            self._error(route, "secondary", exchange.secondary.error)

    def upstream_errors(self) -> dict[str, dict[str, dict[str, int]]]:
        """Transport faults counted so far: route -> side -> kind -> count (for the admin /stats)."""
        errors: dict[str, dict[str, dict[str, int]]] = {}
        for (route, side, kind), n in sorted(self._errors.items()):
            errors.setdefault(route, {}).setdefault(side, {})[kind] = n
        return errors

    def _error(self, route: str, side: str, error: object) -> None:
        key = (route, side, str(error))
        self._errors[key] = self._errors.get(key, 0) + 1

    def watch_recorder(self, snapshot: Snapshot) -> None:
        """Read the store gauges from this `snapshot()` at each scrape (the last one watched wins)."""
        self._snapshot = snapshot

    def watch_dispatcher(self, stats: Stats) -> None:
        """Read shadow_in_flight / shadow_max_in_flight from this `stats()` (ShadowDispatcher.stats)."""
        self._dispatcher = stats

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The current metrics in the format the Accept header asks for, and its content type."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def shutdown(self) -> None:
        self.provider.shutdown()

    def _observe_requests(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(n, {"route": route, "http.response.status_code": status})
            for (route, status), n in tuple(self._requests.items())
        ]

    def _observe_errors(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(n, {"route": route, "side": side, "error": kind})
            for (route, side, kind), n in tuple(self._errors.items())
        ]

    def _outcome_reader(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        routes = self._outcomes[name]

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(n, {"route": route}) for route, n in tuple(routes.items())]

        return observe

    def _store_gauges(self, meter: Any) -> None:
        gauges = (
            ("buffered_examples", "examples waiting to be written to the store", "{example}"),
            ("buffer_size", "bound of the example buffer (beyond it examples are dropped)", "{example}"),
            ("pending_rows", "counter rows waiting to be written to the store", "{row}"),
        )
        for key, description, unit in gauges:
            meter.create_observable_gauge(f"shadow.store.{key}", [self._store_reader(key)], unit, description)
        meter.create_observable_gauge(
            "shadow.store.degraded", [self._observe_degraded], "", "1 while the store cannot be written"
        )
        meter.create_observable_counter(
            "shadow.store.records_dropped",
            [self._store_reader("records_dropped")],
            "{example}",
            "examples dropped because the store buffer was full",
        )
        meter.create_observable_gauge("shadow.in_flight", [self._dispatcher_reader("in_flight")], "{task}")
        meter.create_observable_gauge(
            "shadow.max_in_flight", [self._dispatcher_reader("max_in_flight")], "{task}"
        )

    def _store(self) -> Mapping[str, Any]:
        if self._snapshot is None:
            return {}
        store = self._snapshot().get("store")
        return store if isinstance(store, Mapping) else {}

    def _store_reader(self, key: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            value = self._store().get(key)
            return [Observation(value)] if isinstance(value, int | float) else []

        return observe

    def _observe_degraded(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._snapshot is None:
            return []
        return [Observation(1 if self._snapshot().get("degraded") else 0)]

    def _dispatcher_reader(self, key: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [] if self._dispatcher is None else [Observation(self._dispatcher().get(key, 0))]

        return observe


class MetricsRecorder:
    """A Recorder that counts into ShadowMetrics, then hands on to `inner`; any other attribute is inner's.

    So `snapshot()`, `degraded`, `store`, `buffered` (and a MemoryRecorder's `exchanges`) read through it,
    and wrapping needs no change to the recorders themselves.
    """

    def __init__(self, inner: Recorder, metrics: ShadowMetrics) -> None:
        self.inner = inner
        self._metrics = metrics
        snapshot = getattr(inner, "snapshot", None)
        if callable(snapshot):
            metrics.watch_recorder(snapshot)

    def record(self, exchange: Exchange) -> None:
        try:
            self._metrics.exchange(exchange)
        except Exception:  # a Recorder never raises into the shadow path
            log.exception("metrics_record_failed", route=getattr(exchange, "route", None))
        self.inner.record(exchange)

    def count(self, route: str, counter: Counter, n: int = 1) -> None:
        self._metrics.outcome(route, counter.value, n)
        self.inner.count(route, counter, n)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (copy, unpickling): do not recurse
            raise AttributeError(name)
        return getattr(self.inner, name)


def prometheus_handler(metrics: ShadowMetrics) -> Handler:
    """An aiohttp handler serving `metrics` as Prometheus text (OpenMetrics when the scraper asks for it)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body, content_type = metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle
