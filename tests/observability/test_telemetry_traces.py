"""Spans of one mirrored request, traceparent at the upstreams, and the trace id in the divergence log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import SpanKind
from trace_support import MARKER, ROUTE, MiniProxy, Received, upstream_app

from config.model import RedactSettings, StoreSettings
from proxy.recorder import StoreRecorder
from proxy.redact import Redactor
from proxy.store import open_store
from proxy.telemetry import Telemetry
from proxy.telemetry_metrics import MetricsRecorder
from proxy.upstream import Upstream

AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]
AiohttpServer = Callable[..., Awaitable[TestServer]]
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
CLIENT_HEADERS = {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01", "tracestate": "vendor=x"}


@dataclass
class Rig:
    """The mini proxy's client, what each upstream received, the exported spans, the divergence logs."""

    client: TestClient[Any, Any]
    proxy: MiniProxy
    legacy: Received
    candidate: Received
    spans: InMemorySpanExporter
    logs: list[MutableMapping[str, Any]]

    async def get(self, **headers: str) -> None:
        response = await self.client.get("/items/7", headers=headers)
        assert response.status == 200
        await self.proxy.dispatcher.wait_idle()

    def by_name(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self.spans.get_finished_spans()}

    def divergence(self) -> MutableMapping[str, Any]:
        [event] = [log for log in self.logs if log["event"] == "divergence"]
        return event


Start = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def start(aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer) -> AsyncIterator[Start]:
    """A rig traced into memory (or not traced); the store recorder is real (SQLite) and logs divergences."""
    closers: list[Callable[[], Awaitable[None]]] = []

    async def rig(*, tracing: bool = True, sampler: Sampler | None = None) -> Rig:
        exporter = InMemorySpanExporter()
        processor = SimpleSpanProcessor(exporter)
        telemetry = Telemetry.tracing_into(processor, sampler=sampler) if tracing else Telemetry()
        legacy, candidate = Received(), Received()
        legacy_server = await aiohttp_server(upstream_app(legacy, b'{"ok": true}'))
        candidate_server = await aiohttp_server(upstream_app(candidate, b'{"ok": false}'))
        store = StoreRecorder(
            open_store("sqlite://:memory:"),
            StoreSettings(flush_interval=3600),
            Redactor.from_settings(RedactSettings()),
            "replica-a",
        )
        await store.start()
        proxy = MiniProxy(
            telemetry,
            Upstream.from_url("legacy", str(legacy_server.make_url(""))),
            Upstream.from_url("candidate", str(candidate_server.make_url(""))),
            MetricsRecorder(store, telemetry.metrics),
        )
        closers.extend([telemetry.aclose, store.close, proxy.close])
        client = await aiohttp_client(proxy.app())
        return Rig(client, proxy, legacy, candidate, exporter, logs)

    with structlog.testing.capture_logs() as logs:
        yield rig
        for close in reversed(closers):
            await close()


def ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")


def traceparent_of(span: ReadableSpan) -> str:
    """The header a call made inside `span` must carry (flags as the SDK set them: sampled, random)."""
    assert span.context is not None
    trace_id, span_id = ids(span)
    return f"00-{trace_id}-{span_id}-{span.context.trace_flags:02x}"


async def test_one_trace_with_legacy_candidate_and_compare_children(start: Start) -> None:
    rig = await start()
    await rig.get()
    spans = rig.by_name()
    assert sorted(spans) == ["GET /items/{id}", "candidate GET", "compare", "legacy GET"]
    server, legacy, candidate, comparison = (
        spans[name] for name in ("GET /items/{id}", "legacy GET", "candidate GET", "compare")
    )
    trace_id, server_id = ids(server)
    assert server.kind is SpanKind.SERVER and server.parent is None
    for child in (legacy, candidate, comparison):
        assert child.parent is not None and format(child.parent.span_id, "016x") == server_id
        assert ids(child)[0] == trace_id
    kinds = (legacy.kind, candidate.kind, comparison.kind)
    assert kinds == (SpanKind.CLIENT, SpanKind.CLIENT, SpanKind.INTERNAL)
    assert dict(server.attributes or {}) | {"client.address": "-"} == {
        "http.request.method": "GET",
        "http.route": "/items/{id}",
        "shadow.route": ROUTE,
        "url.path": "/items/7",
        "url.scheme": "http",
        "network.protocol.version": "1.1",
        "client.address": "-",
        "user_agent.original": (server.attributes or {})["user_agent.original"],
        "http.response.status_code": 200,
    }
    assert (legacy.attributes or {})["shadow.mirror"] is False
    assert (candidate.attributes or {})["shadow.mirror"] is True
    assert (candidate.attributes or {})["http.response.status_code"] == 200
    assert (comparison.attributes or {})["shadow.verdict"] == "diverged"
    # The comparison waits for legacy's whole answer.
    assert comparison.start_time is not None and legacy.end_time is not None
    assert comparison.start_time >= legacy.end_time


async def test_traceparent_reaches_legacy_and_the_marked_candidate(start: Start) -> None:
    rig = await start()
    await rig.get()
    spans = rig.by_name()
    legacy, candidate = rig.legacy.only(), rig.candidate.only()
    assert legacy["traceparent"] == traceparent_of(spans["legacy GET"])
    assert legacy["traceparent"].endswith(("-01", "-03"))  # sampled
    assert "tracestate" not in legacy and MARKER.lower() not in legacy
    assert candidate["traceparent"] == traceparent_of(spans["candidate GET"])
    assert candidate["tracestate"] == "shadowproxy=mirror"
    assert candidate[MARKER.lower()] == "1"


async def test_a_clients_trace_is_continued(start: Start) -> None:
    rig = await start()
    await rig.get(**CLIENT_HEADERS)
    spans = rig.by_name()
    server = spans["GET /items/{id}"]
    assert server.parent is not None and format(server.parent.span_id, "016x") == CLIENT_SPAN
    assert {ids(span)[0] for span in spans.values()} == {CLIENT_TRACE}
    legacy, candidate = rig.legacy.only(), rig.candidate.only()
    assert legacy["traceparent"] == traceparent_of(spans["legacy GET"])
    assert legacy["tracestate"] == "vendor=x"
    assert candidate["tracestate"] == "shadowproxy=mirror,vendor=x"


async def test_the_divergence_log_carries_the_trace_id(start: Start) -> None:
    rig = await start()
    await rig.get()
    trace_id, _ = ids(rig.by_name()["GET /items/{id}"])
    event = rig.divergence()
    assert event["trace_id"] == trace_id
    assert (event["route"], event["request_id"], event["paths"]) == (ROUTE, "rid-1", ["$.ok (value)"])
    assert not {"request_body", "legacy_body", "candidate_body"} & event.keys()  # log_bodies is off


async def test_tracing_off_passes_the_clients_traceparent_through(start: Start) -> None:
    rig = await start(tracing=False)
    await rig.get(**CLIENT_HEADERS)
    assert rig.spans.get_finished_spans() == ()
    for received in (rig.legacy.only(), rig.candidate.only()):
        assert (received["traceparent"], received["tracestate"]) == tuple(CLIENT_HEADERS.values())
    assert rig.divergence()["trace_id"] == CLIENT_TRACE  # read from the client's header


async def test_sampled_out_requests_still_propagate_a_trace(start: Start) -> None:
    rig = await start(sampler=ALWAYS_OFF)
    await rig.get()
    assert rig.spans.get_finished_spans() == ()
    version, trace_id, _, flags = rig.legacy.only()["traceparent"].split("-")
    assert (version, len(trace_id), int(flags, 16) & 1) == ("00", 32, 0)  # not sampled
    assert rig.candidate.only()["traceparent"].split("-")[1] == trace_id
    assert rig.divergence()["trace_id"] == trace_id
