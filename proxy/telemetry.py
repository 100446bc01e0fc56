"""The proxy's telemetry: one object owning the OpenTelemetry providers, and the span helpers the paths call.

One client request is one trace:

    GET <route>      SERVER    the client's request; child of the client's own traceparent when it sent one
    ├── legacy GET   CLIENT    the serving call; legacy receives this span's traceparent
    ├── candidate GET CLIENT   the mirror (shadow.mirror=true); its tracestate also says shadowproxy=mirror
    └── compare      INTERNAL  the comparison, in the shadow task, usually after the client was answered

The mirror and the comparison are children of the request span, not linked roots of traces of their own:
the shadow task inherits the request's context when it is spawned, the trace a divergence log points to
then shows the request, both answers and the comparison together, and one sampling decision covers the
whole story. OpenTelemetry allows a child to end after its parent; the request span's duration stays the
client's latency. (In candidate_primary the roles swap: the candidate call serves, legacy is the mirror.)

When tracing is off (no traces exporter in the environment) every span helper returns one shared null
context and `trace_headers` returns its argument unchanged: no spans, no context switches, and a client's
own traceparent passes through to the upstreams untouched. Metrics (proxy.telemetry_metrics) are always on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterable, MutableMapping
from contextlib import AbstractContextManager
from typing import Final

from aiohttp import web
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.semconv.attributes import (
    client_attributes,
    error_attributes,
    http_attributes,
    network_attributes,
    server_attributes,
    url_attributes,
    user_agent_attributes,
)
from opentelemetry.trace import Span, SpanContext, SpanKind, StatusCode, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from comparators.model import Comparison, Observation
from proxy.headers import Header
from proxy.telemetry_env import TelemetrySettings, metric_readers, resource, span_processors
from proxy.telemetry_metrics import Handler, ShadowMetrics, prometheus_handler
from proxy.upstream import Upstream

INSTRUMENTATION = "shadow-proxy"
MIRROR_STATE = ("shadowproxy", "mirror")  # the tracestate entry that marks a mirrored request
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_NO_SPAN: Final[AbstractContextManager[None]] = contextlib.nullcontext()
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
MaybeSpan = AbstractContextManager[Span | None]


class Telemetry:
    """Owns the tracer and meter providers (shut down with the app) and makes the proxy's spans."""

    def __init__(
        self, metrics: ShadowMetrics | None = None, tracer_provider: TracerProvider | None = None
    ) -> None:
        self.metrics = metrics if metrics is not None else ShadowMetrics()
        self.tracer_provider = tracer_provider
        self._tracer = tracer_provider.get_tracer(INSTRUMENTATION) if tracer_provider is not None else None

    @classmethod
    def from_env(cls, service_name: str = INSTRUMENTATION, *, instance_id: str = "") -> Telemetry:
        """As the OTEL_* environment says (proxy.telemetry_env); raises TelemetryConfigError if it cannot."""
        settings = TelemetrySettings.from_env()
        process = resource(service_name, instance_id)
        metrics = ShadowMetrics(process, metric_readers(settings))
        if not settings.tracing:
            return cls(metrics)
        provider = TracerProvider(resource=process)  # the sampler comes from OTEL_TRACES_SAMPLER(_ARG)
        for processor in span_processors(settings):
            provider.add_span_processor(processor)
        return cls(metrics, provider)

    @classmethod
    def tracing_into(cls, processor: SpanProcessor, *, sampler: Sampler | None = None) -> Telemetry:
        """Tracing into one span processor, e.g. SimpleSpanProcessor(InMemorySpanExporter()) in tests."""
        provider = TracerProvider(sampler=sampler, resource=resource(INSTRUMENTATION))
        provider.add_span_processor(processor)
        return cls(ShadowMetrics(), provider)

    @property
    def tracing(self) -> bool:
        return self._tracer is not None

    def request_span(self, request: web.BaseRequest, route: str, template: str = "") -> MaybeSpan:
        """The client request's SERVER span, current inside the block (mirrors spawned there inherit it).

        `route` is the route's name; `template` its configured path (`/items/{id}`), the span's http.route.
        Automatic routes are named "<METHOD> <template>" already.
        """
        tracer = self._tracer
        if tracer is None:
            return _NO_SPAN
        method = request.method
        automatic = route.startswith(method + " ")
        return tracer.start_as_current_span(
            route if automatic else f"{method} {route}",
            context=_PROPAGATOR.extract(request.headers),
            kind=SpanKind.SERVER,
            attributes=_request_attributes(
                request, route, template or (route[len(method) + 1 :] if automatic else route)
            ),
        )

    def answered(self, span: Span | None, route: str, status: int) -> None:
        """The client got `status`: counted by route and status, and set on the request span."""
        self.metrics.request(route, status)
        if span is not None:
            span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status)
            if status >= 500:
                span.set_attribute(error_attributes.ERROR_TYPE, str(status))
                span.set_status(StatusCode.ERROR)

    def upstream_span(self, side: str, method: str, upstream: Upstream, *, mirror: bool = False) -> MaybeSpan:
        """A CLIENT span for one call to `side` (legacy, candidate, secondary); current inside the block."""
        tracer = self._tracer
        if tracer is None:
            return _NO_SPAN
        attributes: dict[str, str | int | bool] = {
            http_attributes.HTTP_REQUEST_METHOD: method,
            server_attributes.SERVER_ADDRESS: upstream.hostname,
            server_attributes.SERVER_PORT: upstream.port,
            "shadow.side": side,
            "shadow.mirror": mirror,
        }
        return tracer.start_as_current_span(f"{side} {method}", kind=SpanKind.CLIENT, attributes=attributes)

    def upstream_answered(self, span: Span | None, status: int) -> None:
        if span is not None:
            span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status)
            if status >= 400:  # client spans: 4xx is an error too (HTTP semantic conventions)
                span.set_attribute(error_attributes.ERROR_TYPE, str(status))
                span.set_status(StatusCode.ERROR)

    def upstream_failed(self, span: Span | None, error: str, detail: str = "") -> None:
        """No (complete) answer: `error` is a TransportError value (connect, timeout, reset, ...)."""
        if span is not None:
            span.set_attribute(error_attributes.ERROR_TYPE, error)
            span.set_status(StatusCode.ERROR, detail or error)

    def observed(self, span: Span | None, observation: Observation) -> None:
        """A mirror's outcome: its status, or the transport error that replaced it."""
        if span is None:
            return
        if observation.status is not None:
            self.upstream_answered(span, observation.status)
        if observation.error is not None:
            self.upstream_failed(span, observation.error.value, observation.error_detail)

    def compare_span(self, route: str) -> MaybeSpan:
        tracer = self._tracer
        if tracer is None:
            return _NO_SPAN
        return tracer.start_as_current_span("compare", attributes={"shadow.route": route})

    def compared(self, span: Span | None, comparison: Comparison) -> None:
        if span is not None:
            span.set_attribute("shadow.verdict", comparison.verdict.value)
            span.set_attribute("shadow.differences", len(comparison.differences))
            span.set_attribute("shadow.ignored", len(comparison.ignored))

    def trace_headers(self, headers: list[Header], *, mirror: bool = False) -> list[Header]:
        """`headers` with the current span's traceparent (and tracestate) instead of any received ones."""
        if self._tracer is None:
            return headers
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return headers
        kept = [header for header in headers if header[0].lower() not in TRACE_HEADERS]
        kept.append(("traceparent", traceparent(context)))
        state = _marked(context.trace_state) if mirror else context.trace_state
        if state:
            kept.append(("tracestate", state.to_header()))
        return kept

    def inject_traceparent(self, headers: MutableMapping[str, str], *, mirror: bool = False) -> None:
        """Set the current span's traceparent (and tracestate) on a mapping of headers, replacing any."""
        for name, value in self.trace_headers([], mirror=mirror):
            headers[name] = value

    def shutdown(self) -> None:
        """Flush and stop the providers (blocking: spans still queued are exported now)."""
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        self.metrics.shutdown()

    async def aclose(self) -> None:
        """shutdown() off the event loop: an OTLP endpoint that does not answer must not stall it."""
        await asyncio.to_thread(self.shutdown)


TELEMETRY = web.AppKey("telemetry", Telemetry)


async def telemetry_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: register it first, so the app's Telemetry is shut down after everything else."""
    yield
    await app[TELEMETRY].aclose()


def metrics_handler(telemetry: Telemetry) -> Handler:
    """The admin server's GET /metrics: this telemetry's metrics as Prometheus text."""
    return prometheus_handler(telemetry.metrics)


def current_trace_id() -> str:
    """The current span's trace id (32 hex digits), or "" outside any span or with tracing off."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


def incoming_trace_id(headers: Iterable[Header]) -> str:
    """The trace id of a received W3C traceparent header, or "" when there is none or it is invalid."""
    for name, value in headers:
        if name.lower() == "traceparent":
            match = _TRACEPARENT.match(value.strip())
            valid = match is not None and match[1] != "ff" and match[2] != "0" * 32 and match[3] != "0" * 16
            return match[2] if valid and match is not None else ""
    return ""


def traceparent(context: SpanContext) -> str:
    """The W3C traceparent header value of a span context."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def _marked(state: TraceState) -> TraceState:
    key, value = MIRROR_STATE
    return state.update(key, value) if key in state else state.add(key, value)


def _request_attributes(request: web.BaseRequest, route: str, template: str) -> dict[str, str | int]:
    # No url.query: query parameters may hold the secrets the store redacts.
    version = request.version
    attributes: dict[str, str | int] = {
        http_attributes.HTTP_REQUEST_METHOD: request.method,
        http_attributes.HTTP_ROUTE: template,
        "shadow.route": route,
        url_attributes.URL_PATH: request.path,
        url_attributes.URL_SCHEME: request.scheme,
        network_attributes.NETWORK_PROTOCOL_VERSION: f"{version.major}.{version.minor}",
    }
    if request.remote:
        attributes[client_attributes.CLIENT_ADDRESS] = request.remote
    agent = request.headers.get("User-Agent")
    if agent:
        attributes[user_agent_attributes.USER_AGENT_ORIGINAL] = agent
    return attributes
