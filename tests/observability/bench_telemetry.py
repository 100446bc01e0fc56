"""Micro-benchmark of the telemetry helpers per request: tracing off, sampled out, on; prints medians.

Run: .venv/bin/python tests/observability/bench_telemetry.py  (a few seconds; not collected by pytest)

"client path" is what forward/relay add to one request: the request span, the legacy span, traceparent
headers, the status count. "shadow path" is what the shadow task adds: the candidate span, the compare span,
the trace id for the exchange. "recorder" is MetricsRecorder.record/count over a no-op inner recorder.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiohttp.test_utils import make_mocked_request
from observability_support import exchange
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from comparators.model import Comparison, Observation, Verdict
from proxy.records import Counter, Exchange
from proxy.telemetry import Telemetry, current_trace_id, incoming_trace_id
from proxy.telemetry_metrics import MetricsRecorder
from proxy.upstream import Upstream

ROUTE = "GET /items/{id}"
UPSTREAM = Upstream.from_url("legacy", "http://127.0.0.1:8081")
FORWARDED = [("Accept", "application/json"), ("X-Forwarded-For", "10.0.0.1")]
ANSWER = Observation(200, (), b"{}", elapsed_ms=3.0)
RUNS, LOOPS = 9, 5000


class DropExporter(SpanExporter):
    """Accepts every batch and keeps nothing: the cost measured is ours and the SDK's, not a network's."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class NoRecorder:
    def record(self, exchange: Exchange) -> None:
        pass

    def count(self, route: str, counter: Counter, n: int = 1) -> None:
        pass


def client_path(telemetry: Telemetry) -> Callable[[], None]:
    request = make_mocked_request("GET", "/items/7", headers={"User-Agent": "bench"})

    def once() -> None:
        with telemetry.request_span(request, ROUTE) as span:
            with telemetry.upstream_span("legacy", "GET", UPSTREAM) as legacy:
                telemetry.trace_headers(FORWARDED)
                telemetry.upstream_answered(legacy, 200)
            telemetry.answered(span, ROUTE, 200)

    return once


def shadow_path(telemetry: Telemetry) -> Callable[[], None]:
    comparison = Comparison(Verdict.MATCHED)

    def once() -> None:
        with telemetry.upstream_span("candidate", "GET", UPSTREAM, mirror=True) as candidate:
            telemetry.trace_headers(FORWARDED, mirror=True)
            telemetry.observed(candidate, ANSWER)
        with telemetry.compare_span(ROUTE) as compared:
            telemetry.compared(compared, comparison)
        current_trace_id() or incoming_trace_id(FORWARDED)

    return once


def recorder(telemetry: Telemetry) -> Callable[[], None]:
    wrapped = MetricsRecorder(NoRecorder(), telemetry.metrics)
    matched = exchange("catalog", Verdict.MATCHED)

    def once() -> None:
        wrapped.record(matched)
        wrapped.count("catalog", Counter.NOT_MIRRORED)

    return once


def median_us(work: Callable[[], None]) -> float:
    """Median over RUNS of the process CPU time per call: steadier than wall time on a shared machine, and
    it includes the batch span processor's export thread."""
    samples = []
    for _ in range(RUNS):
        started = time.process_time_ns()
        for _ in range(LOOPS):
            work()
        samples.append((time.process_time_ns() - started) / LOOPS / 1000)
    return statistics.median(samples)


def main() -> None:
    modes = {
        "tracing off": Telemetry(),
        "sampled out": Telemetry.tracing_into(BatchSpanProcessor(DropExporter()), sampler=ALWAYS_OFF),
        # A queue large enough that no span is dropped: the full cost of every span is measured.
        "tracing on": Telemetry.tracing_into(BatchSpanProcessor(DropExporter(), max_queue_size=1 << 20)),
    }
    print(f"baseline: an empty call costs {median_us(lambda: None):.2f} us")
    print(f"median CPU microseconds per request ({RUNS} runs x {LOOPS} requests)")
    print(f"{'':14}{'client path':>14}{'shadow path':>14}{'recorder':>12}")
    for label, telemetry in modes.items():
        row = [median_us(make(telemetry)) for make in (client_path, shadow_path, recorder)]
        print(f"{label:14}{row[0]:14.2f}{row[1]:14.2f}{row[2]:12.2f}")
        telemetry.shutdown()


if __name__ == "__main__":
    main()
