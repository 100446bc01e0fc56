"""Which telemetry the standard OTEL_* environment asks for, read once at start into frozen settings.

Honoured here: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_PROTOCOL
(and its _TRACES_/_METRICS_ forms), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The SDK itself reads the
rest when the objects built here are created: OTEL_TRACES_SAMPLER(_ARG), OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT,
_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE, OTEL_BSP_*, OTEL_METRIC_EXPORT_INTERVAL, OTEL_SPAN_*_LIMIT.

One deliberate departure from the specification's defaults: with neither OTEL_TRACES_EXPORTER nor an OTLP
endpoint set, tracing is off (the spec would export OTLP to localhost:4318), so a proxy nobody configured for
tracing pays nothing for it. Likewise metrics are only pushed when OTEL_METRICS_EXPORTER says `otlp`; the
Prometheus text at the admin server's /metrics is always served.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

TRACES_EXPORTERS = ("otlp", "console", "none")
METRICS_EXPORTERS = ("otlp", "prometheus", "none")  # prometheus: the pull endpoint, always on anyway
OTLP_PROTOCOL = "http/protobuf"  # the only OTLP transport shipped (opentelemetry-exporter-otlp-proto-http)
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class TelemetryConfigError(ValueError):
    """An OTEL_* variable asks for something this build cannot do; the message names the variable."""


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """The exporters to build; an empty `traces` means tracing is off (a no-op tracer)."""

    traces: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()

    @property
    def tracing(self) -> bool:
        return bool(self.traces)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelemetrySettings:
        """Read the variables named in the module docstring; TelemetryConfigError names a bad one."""
        env = os.environ if environ is None else environ
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls()
        implied = ("otlp",) if any(env.get(name, "").strip() for name in _ENDPOINTS) else ()
        traces = _exporters(env, "OTEL_TRACES_EXPORTER", TRACES_EXPORTERS, implied)
        pushed = _exporters(env, "OTEL_METRICS_EXPORTER", METRICS_EXPORTERS, ())
        metrics = tuple(exporter for exporter in pushed if exporter == "otlp")
        if "otlp" in traces:
            _require_http(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        if "otlp" in metrics:
            _require_http(env, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        return cls(traces, metrics)


def _exporters(
    env: Mapping[str, str], name: str, accepted: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    unknown = [exporter for exporter in chosen if exporter not in accepted]
    if unknown:
        expected = ", ".join(accepted)
        raise TelemetryConfigError(f"{name}: unsupported {', '.join(unknown)}; expected one of {expected}")
    return tuple(exporter for exporter in chosen if exporter != "none")


def _require_http(env: Mapping[str, str], specific: str) -> None:
    for name in (specific, "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(name, "").strip()
        if protocol:
            if protocol != OTLP_PROTOCOL:
                raise TelemetryConfigError(f"{name}: {protocol} is not supported; use {OTLP_PROTOCOL}")
            return


def resource(service_name: str, instance_id: str = "") -> Resource:
    """The process's resource: OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over our defaults."""
    detected = Resource.create()
    defaults: dict[str, str] = {}
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        defaults[SERVICE_NAME] = service_name
    if instance_id and "service.instance.id=" not in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        defaults[SERVICE_INSTANCE_ID] = instance_id
    return detected.merge(Resource(defaults))


def span_processors(settings: TelemetrySettings) -> list[SpanProcessor]:
    """One batching processor per trace exporter: spans leave from the SDK's thread, never the event loop."""
    return [BatchSpanProcessor(_span_exporter(name)) for name in settings.traces]


def _span_exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter(out=sys.stderr)  # stdout carries the JSON logs
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout, compression: OTEL_EXPORTER_OTLP_*


def metric_readers(settings: TelemetrySettings) -> list[MetricReader]:
    """Push readers besides the Prometheus pull reader (only OTLP, when asked for)."""
    if "otlp" not in settings.metrics:
        return []
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return [PeriodicExportingMetricReader(OTLPMetricExporter())]
