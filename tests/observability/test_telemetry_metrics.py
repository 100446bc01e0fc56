"""/metrics: Prometheus text that parses, with the values the Recorder was given, a registry per app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from observability_support import Samples, exchange, parse_prometheus, sample
from prometheus_client import REGISTRY, generate_latest

from comparators.model import Comparison, Verdict
from config.model import RedactSettings, StoreSettings
from proxy.recorder import StoreRecorder
from proxy.records import Counter
from proxy.redact import Redactor
from proxy.store import open_store
from proxy.telemetry import Telemetry, metrics_handler
from proxy.telemetry_metrics import LATENCY_BUCKETS, MetricsRecorder, ShadowMetrics
from proxy.testing import MemoryRecorder
from proxy.workers import ShadowDispatcher

AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()  # tracing off, metrics on


async def scrape(client: TestClient[Any, Any]) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse_prometheus(await response.text())


@pytest.fixture
async def admin(telemetry: Telemetry, aiohttp_client: AiohttpClient) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(telemetry))
    yield await aiohttp_client(app)
    telemetry.shutdown()


def drive(recorder: MetricsRecorder) -> None:
    """A small history on two routes: every verdict, noise, and counts the client path makes."""
    for ms in (4.0, 30.0, 300.0):
        recorder.record(exchange("catalog", Verdict.MATCHED, legacy_ms=ms, candidate_ms=2 * ms))
    recorder.record(exchange("catalog", Verdict.DIVERGED, legacy_ms=8.0, candidate_ms=9.0))
    recorder.record(exchange("catalog", Verdict.MATCHED, noise=Comparison(Verdict.DIVERGED)))
    recorder.record(exchange("search", Verdict.CANDIDATE_ERROR, legacy_ms=50.0))
    recorder.record(exchange("search", Verdict.LEGACY_ERROR, candidate_ms=70.0))
    recorder.count("catalog", Counter.DROPPED, 2)
    recorder.count("search", Counter.NOT_MIRRORED)
    recorder.count("search", Counter.TOO_LARGE)


async def test_counters_match_what_the_inner_recorder_counted(
    telemetry: Telemetry, admin: TestClient[Any, Any]
) -> None:
    memory = MemoryRecorder()
    drive(MetricsRecorder(memory, telemetry.metrics))
    samples = await scrape(admin)

    assert memory.counters, "the inner recorder was handed everything"
    for (route, counter), n in memory.counters.items():
        assert sample(samples, f"shadow_{counter.value}_total", {"route": route}) == n, (route, counter)
    assert sample(samples, "shadow_compared_total", {"route": "catalog"}) == 5
    assert sample(samples, "shadow_diverged_total", {"route": "catalog"}) == 1
    assert sample(samples, "shadow_mirrored_total", {"route": "catalog"}) == 5
    assert sample(samples, "shadow_mirrored_total", {"route": "search"}) == 2
    assert sample(samples, "shadow_noise_total", {"route": "catalog"}) == 1
    assert sample(samples, "shadow_diverged_total", {"route": "search"}) is None


async def test_latency_histograms_per_route_and_side(
    telemetry: Telemetry, admin: TestClient[Any, Any]
) -> None:
    drive(MetricsRecorder(MemoryRecorder(), telemetry.metrics))
    samples = await scrape(admin)

    def histogram(route: str, side: str, suffix: str, **extra: str) -> float | None:
        name = f"shadow_upstream_duration_seconds_{suffix}"
        return sample(samples, name, {"route": route, "side": side, **extra})

    # catalog legacy: 4, 30, 300, 8 and 10 ms; candidate: 8, 60, 600, 9 and 20 ms.
    assert histogram("catalog", "legacy", "count") == 5
    assert histogram("catalog", "legacy", "sum") == pytest.approx(0.352)
    assert histogram("catalog", "candidate", "sum") == pytest.approx(0.697)
    assert histogram("catalog", "legacy", "bucket", le="0.005") == 1
    assert histogram("catalog", "legacy", "bucket", le="0.025") == 3
    assert histogram("catalog", "legacy", "bucket", le="0.25") == 4
    assert histogram("catalog", "legacy", "bucket", le="+Inf") == 5
    # A side that failed has no latency: the candidate error's candidate, the legacy error's legacy.
    assert (histogram("search", "legacy", "count"), histogram("search", "candidate", "count")) == (1, 1)
    buckets = {k[1] for k in samples if k[0] == "shadow_upstream_duration_seconds_bucket"}
    assert len(buckets) == 4 * (len(LATENCY_BUCKETS) + 1)


async def test_requests_by_route_and_status(telemetry: Telemetry, admin: TestClient[Any, Any]) -> None:
    for status in (200, 200, 404, 502):
        telemetry.answered(None, "catalog", status)
    samples = await scrape(admin)

    def requests(status: str) -> float | None:
        labels = {"route": "catalog", "http_response_status_code": status}
        return sample(samples, "shadow_requests_total", labels)

    assert (requests("200"), requests("404"), requests("502"), requests("500")) == (2, 1, 1, None)


async def test_store_gauges_read_the_store_recorders_snapshot(
    telemetry: Telemetry, admin: TestClient[Any, Any]
) -> None:
    settings = StoreSettings(flush_interval=3600, buffer_size=7)
    store_recorder = StoreRecorder(
        open_store("sqlite://:memory:"), settings, Redactor.from_settings(RedactSettings()), "replica-a"
    )
    await store_recorder.start()
    try:
        recorder = MetricsRecorder(store_recorder, telemetry.metrics)
        recorder.record(exchange("catalog", Verdict.DIVERGED, rid="a"))
        recorder.record(exchange("search", Verdict.CANDIDATE_ERROR, rid="b"))
        before = await scrape(admin)
        assert await recorder.flush()  # delegated to the store recorder
        after = await scrape(admin)
    finally:
        await store_recorder.close()

    assert sample(before, "shadow_store_buffered_examples") == 2
    assert sample(after, "shadow_store_buffered_examples") == 0
    assert sample(before, "shadow_store_buffer_size") == 7
    assert sample(before, "shadow_store_degraded") == 0
    assert sample(after, "shadow_store_records_dropped_total") == 0
    assert recorder.snapshot() == store_recorder.snapshot()
    assert recorder.store is store_recorder.store and recorder.degraded is False


async def test_dispatcher_gauges(telemetry: Telemetry, admin: TestClient[Any, Any]) -> None:
    assert sample(await scrape(admin), "shadow_max_in_flight") is None  # nothing watched yet
    telemetry.metrics.watch_dispatcher(ShadowDispatcher(max_in_flight=8).stats)
    samples = await scrape(admin)
    assert (sample(samples, "shadow_in_flight"), sample(samples, "shadow_max_in_flight")) == (0, 8)


async def test_openmetrics_when_the_scraper_asks(admin: TestClient[Any, Any]) -> None:
    response = await admin.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert (await response.text()).endswith("# EOF\n")


def test_two_metrics_in_one_process_do_not_share_a_registry() -> None:
    first, second = ShadowMetrics(), ShadowMetrics()
    try:
        MetricsRecorder(MemoryRecorder(), first).count("catalog", Counter.DROPPED, 3)
        one = parse_prometheus(first.exposition()[0].decode())
        other = parse_prometheus(second.exposition()[0].decode())
        assert sample(one, "shadow_dropped_total", {"route": "catalog"}) == 3
        assert sample(other, "shadow_dropped_total", {"route": "catalog"}) is None
        assert b"shadow_" not in generate_latest(REGISTRY)  # the process-wide registry is left alone
    finally:
        first.shutdown()
        second.shutdown()


def test_the_wrapper_is_a_transparent_recorder() -> None:
    memory = MemoryRecorder()
    metrics = ShadowMetrics()
    recorder = MetricsRecorder(memory, metrics)
    recorder.record(exchange("catalog", Verdict.MATCHED))
    recorder.count("catalog", Counter.DROPPED)
    metrics.shutdown()
    assert recorder.exchanges == memory.exchanges and len(memory.exchanges) == 1
    assert recorder.get("catalog", Counter.DROPPED) == 1
    with pytest.raises(AttributeError):
        _ = recorder.no_such_attribute
