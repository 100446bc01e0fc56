"""OTEL_* environment: which exporters are built, errors naming the variable, real OTLP export over HTTP."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from proxy.telemetry import Telemetry
from proxy.telemetry_env import TelemetryConfigError, TelemetrySettings

AiohttpServer = Callable[..., Awaitable[TestServer]]
ENDPOINT = "http://collector:4318"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No OTEL_* variable from the machine running the tests leaks in."""
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    ("environ", "traces", "metrics"),
    [
        ({}, (), ()),
        ({"OTEL_TRACES_EXPORTER": "none"}, (), ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, ("otlp",), ()),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ENDPOINT + "/v1/traces"}, ("otlp",), ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, (), ()),
        ({"OTEL_TRACES_EXPORTER": " Console , otlp,console"}, ("console", "otlp"), ()),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, (), ()),
        ({"OTEL_METRICS_EXPORTER": "otlp,prometheus"}, (), ("otlp",)),
        ({"OTEL_METRICS_EXPORTER": "prometheus"}, (), ()),
        (
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",  # the signal's own variable wins
            },
            ("otlp",),
            (),
        ),
    ],
)
def test_settings(environ: dict[str, str], traces: tuple[str, ...], metrics: tuple[str, ...]) -> None:
    settings = TelemetrySettings.from_env(environ)
    assert (settings.traces, settings.metrics, settings.tracing) == (traces, metrics, bool(traces))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER: unsupported jaeger"),
        ({"OTEL_METRICS_EXPORTER": "statsd"}, "OTEL_METRICS_EXPORTER: unsupported statsd"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported; use http/protobuf",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: http/json is not supported",
        ),
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: grpc",
        ),
    ],
)
def test_settings_errors_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(TelemetryConfigError, match=message):
        TelemetrySettings.from_env(environ)


async def test_unconfigured_tracing_is_a_null_context() -> None:
    telemetry = Telemetry.from_env()
    try:
        assert not telemetry.tracing
        with telemetry.compare_span("catalog") as span:
            assert span is None
        assert telemetry.trace_headers(headers := [("traceparent", "x")]) is headers
    finally:
        await telemetry.aclose()


async def test_service_name_instance_and_sampler_from_the_environment(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("OTEL_TRACES_EXPORTER", "console")
    clean_environment.setenv("OTEL_TRACES_SAMPLER", "always_off")
    default = Telemetry.from_env("shadow-proxy", instance_id="replica-a")
    clean_environment.setenv("OTEL_SERVICE_NAME", "payments-shadow")
    named = Telemetry.from_env("shadow-proxy", instance_id="replica-a")
    try:
        assert default.tracer_provider is not None and named.tracer_provider is not None
        assert default.tracer_provider.resource.attributes["service.name"] == "shadow-proxy"
        assert default.tracer_provider.resource.attributes["service.instance.id"] == "replica-a"
        assert named.tracer_provider.resource.attributes["service.name"] == "payments-shadow"
        assert named.tracer_provider.sampler.get_description() == "AlwaysOffSampler"
    finally:
        await default.aclose()
        await named.aclose()


async def test_otlp_export_of_spans_and_metrics(
    clean_environment: pytest.MonkeyPatch, aiohttp_server: AiohttpServer
) -> None:
    received: dict[str, list[bytes]] = {}

    async def collect(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        received.setdefault(request.path, []).append(await request.read())
        return web.Response(body=b"", content_type="application/x-protobuf")

    collector = web.Application()
    collector.router.add_post("/v1/{signal}", collect)
    server = await aiohttp_server(collector)
    clean_environment.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", str(server.make_url("")).rstrip("/"))
    clean_environment.setenv("OTEL_METRICS_EXPORTER", "otlp")
    clean_environment.setenv("OTEL_SERVICE_NAME", "shadow-under-test")
    telemetry = Telemetry.from_env()
    assert telemetry.tracing
    with telemetry.compare_span("catalog"):
        pass
    telemetry.metrics.outcome("catalog", "dropped")
    await telemetry.aclose()  # flushes the batch span processor and the periodic metric reader

    assert sorted(received) == ["/v1/metrics", "/v1/traces"]
    exported = ExportTraceServiceRequest()
    exported.ParseFromString(b"".join(received["/v1/traces"]))
    [resource_spans] = exported.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert (service, names) == ("shadow-under-test", ["compare"])
