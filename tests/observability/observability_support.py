"""Shared helpers of the observability tests: exchanges from comparators.model values, Prometheus parsing."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from comparators.model import Comparison, Difference, DiffKind, Observation, TransportError, Verdict
from proxy.records import Exchange, RequestInfo

T0 = 1_700_000_000.0
JSON = (("Content-Type", "application/json"),)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def answer(ms: float, body: bytes = b'{"ok": true}', status: int = 200) -> Observation:
    return Observation(status, JSON, body, elapsed_ms=ms)


def failure(ms: float = 5.0) -> Observation:
    return Observation.transport_error(TransportError.TIMEOUT, "no answer", ms)


def exchange(
    route: str,
    verdict: Verdict,
    *,
    legacy_ms: float = 10.0,
    candidate_ms: float = 20.0,
    noise: Comparison | None = None,
    trace_id: str = "",
    rid: str = "r1",
) -> Exchange:
    """An exchange whose comparison has `verdict`; the failing side of an error verdict has no answer."""
    differences = (Difference("$.ok", DiffKind.VALUE, True, False),) if verdict is Verdict.DIVERGED else ()
    legacy = failure(legacy_ms) if verdict is Verdict.LEGACY_ERROR else answer(legacy_ms)
    candidate = failure(candidate_ms) if verdict is Verdict.CANDIDATE_ERROR else answer(candidate_ms)
    if verdict is Verdict.CANDIDATE_ERROR:
        differences = (Difference("error", DiffKind.ERROR, None, "timeout"),)
    request = RequestInfo("GET", "/items/1", (("Host", "proxy"),), b"", rid, T0)
    return Exchange(
        route,
        request,
        legacy,
        candidate,
        Comparison(verdict, differences),
        secondary=answer(legacy_ms) if noise is not None else None,
        noise=noise,
        trace_id=trace_id,
    )


def parse_prometheus(text: str) -> Samples:
    """Every sample of a Prometheus text exposition by (sample name, labels); fails on invalid text."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: Samples, name: str, labels: Mapping[str, str] | None = None) -> float | None:
    return samples.get((name, frozenset((labels or {}).items())))
