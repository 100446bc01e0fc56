"""Telemetry wired into the proxy: a trace per request, traceparent upstream, /metrics, log_bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
import structlog
from aiohttp.test_utils import TestClient, TestServer
from observability_support import JSON, exchange, parse_prometheus, sample
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from trace_support import Received, upstream_app

from comparators.model import Observation, Verdict
from config.model import Config, RedactSettings, ShadowSettings, StoreSettings
from proxy.admin import build_admin_app
from proxy.app import DISPATCHER, build_app
from proxy.recorder import StoreRecorder
from proxy.records import Counter
from proxy.redact import Redactor
from proxy.store import open_store
from proxy.telemetry import Telemetry
from proxy.testing import MemoryRecorder

AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]
AiohttpServer = Callable[..., Awaitable[TestServer]]
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_PARENT = f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01"
ROUTE = "GET /items/{id}"


@dataclass
class Running:
    proxy: TestClient[Any, Any]
    admin: TestClient[Any, Any]
    recorder: MemoryRecorder
    legacy: Received
    candidate: Received

    async def get(self, path: str, **headers: str) -> int:
        response = await self.proxy.get(path, headers=headers)
        await response.read()
        await self.proxy.app[DISPATCHER].wait_idle()
        return response.status


async def run(telemetry: Telemetry, aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient) -> Running:
    legacy, candidate = Received(), Received()
    legacy_url = str((await aiohttp_server(upstream_app(legacy, b'{"ok": true}'))).make_url(""))
    candidate_url = str((await aiohttp_server(upstream_app(candidate, b'{"ok": false}'))).make_url(""))
    config = Config(legacy=legacy_url, candidate=candidate_url, shadow=ShadowSettings(drain_timeout=2.0))
    recorder = MemoryRecorder()
    app = build_app(config, recorder_factory=recorder.factory, telemetry=telemetry)
    proxy = await aiohttp_client(app)
    admin = await aiohttp_client(build_admin_app(app, token=None))
    return Running(proxy, admin, recorder, legacy, candidate)


async def test_one_trace_per_request_through_the_proxy(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient
) -> None:
    exporter = InMemorySpanExporter()
    running = await run(Telemetry.tracing_into(SimpleSpanProcessor(exporter)), aiohttp_server, aiohttp_client)
    assert await running.get("/items/7", traceparent=CLIENT_PARENT) == 200

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert sorted(spans) == [ROUTE, "candidate GET", "compare", "legacy GET"]
    server = spans[ROUTE]
    assert server.kind is SpanKind.SERVER and server.context is not None
    assert {format(span.context.trace_id, "032x") for span in spans.values() if span.context} == {
        CLIENT_TRACE
    }
    for name in ("legacy GET", "candidate GET", "compare"):
        parent = spans[name].parent
        assert parent is not None and parent.span_id == server.context.span_id, name
    assert (server.attributes or {})["http.response.status_code"] == 200
    legacy_span = spans["legacy GET"].context
    assert legacy_span is not None
    assert running.legacy.only()["traceparent"].split("-")[2] == format(legacy_span.span_id, "016x")
    assert running.candidate.only()["tracestate"] == "shadowproxy=mirror"
    [exchange] = running.recorder.exchanges
    assert exchange.trace_id == CLIENT_TRACE


async def test_tracing_off_keeps_the_clients_traceparent(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient
) -> None:
    running = await run(Telemetry(), aiohttp_server, aiohttp_client)
    assert await running.get("/items/7", traceparent=CLIENT_PARENT) == 200
    assert running.legacy.only()["traceparent"] == CLIENT_PARENT
    assert running.candidate.only()["traceparent"] == CLIENT_PARENT
    [exchange] = running.recorder.exchanges
    assert exchange.trace_id == CLIENT_TRACE


async def test_admin_metrics_count_what_the_proxy_did(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient
) -> None:
    running = await run(Telemetry(), aiohttp_server, aiohttp_client)
    for n in range(3):
        assert await running.get(f"/items/{n}") == 200
    assert (await running.proxy.post("/items", data=b"{}")).status == 200

    response = await running.admin.get("/metrics")
    samples = parse_prometheus(await response.text())
    requests = {"route": ROUTE, "http_response_status_code": "200"}
    assert sample(samples, "shadow_requests_total", requests) == 3
    assert sample(samples, "shadow_diverged_total", {"route": ROUTE}) == 3
    assert sample(samples, "shadow_mirrored_total", {"route": ROUTE}) == 3
    assert sample(samples, "shadow_not_mirrored_total", {"route": "POST /items"}) == 1
    assert running.recorder.get(ROUTE, Counter.DIVERGED) == 3
    latency = {"route": ROUTE, "side": "candidate"}
    assert sample(samples, "shadow_upstream_duration_seconds_count", latency) == 3
    assert sample(samples, "shadow_max_in_flight") == ShadowSettings().max_in_flight


async def test_log_bodies_puts_redacted_bodies_in_the_divergence_event() -> None:
    secret = b'{"password": "hunter2", "ok": true}'
    base = exchange("catalog", Verdict.DIVERGED)
    diverged = replace(base, legacy=Observation(200, JSON, secret, elapsed_ms=3.0))
    events: dict[bool, MutableMapping[str, Any]] = {}
    for log_bodies in (False, True):
        recorder = StoreRecorder(
            open_store("sqlite://:memory:"),
            StoreSettings(flush_interval=3600),
            Redactor.from_settings(RedactSettings(body_paths=("$.password",))),
            "replica-a",
            log_bodies=log_bodies,
        )
        await recorder.start()
        with structlog.testing.capture_logs() as logs:
            recorder.record(diverged)
        await recorder.close()
        [events[log_bodies]] = [event for event in logs if event["event"] == "divergence"]
    assert not {"request_body", "legacy_body", "candidate_body"} & events[False].keys()
    logged = events[True]
    assert logged["legacy_body"].startswith('{"password":"[redacted:')  # the store's redaction
    assert "hunter2" not in orjson.dumps(dict(logged)).decode()
    assert orjson.loads(logged["candidate_body"]) == {"ok": True}
