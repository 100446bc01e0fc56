"""The report's documented JSON form (times are ISO-8601 UTC, rates are fractions, durations seconds).

JSON interface (fields are only ever added)::

    {"generated_at": ISO-8601, "store": URL, "schema_version": int,
     "instances": [{"instance_id", "first_seen", "last_seen"}],
     "routes": [{"route": "GET /get", "compared": 10, "matched": 7, "diverged": 3, "candidate_errors": 0,
                 "legacy_errors", "dropped", "too_large", "not_mirrored", "shadow_failures", "ignored",
                 "noise", "records_dropped", "divergence_rate": float | null,
                 # most frequent first:
                 "differences": [{"path": "$.headers.host", "kind": "value", "count": 3}],
                 "noise_differences": [same shape], "rules": [{"rule", "hits", "ignored"}],
                 "signatures": [{"signature", "paths": [{"path", "kind"}], "count", "examples",
                                 "first_seen", "last_seen", "example_id": newest example's id | null}],
                 "latency": {"legacy": {"count", "mean_ms", "p95_ms", "p95_estimate_ms"}, "candidate": {…}},
                 "first_seen", "last_seen", "configured": bool, "covered": bool,
                 "readiness": {"verdict": "READY" | "NOT_READY" | "NO_DATA",
                               "reasons": [{"code", "message", "actual", "limit"}],  # every failing criterion
                               "warnings": [same shape], "window": "7d", "window_seconds", "min_samples",
                               "max_divergence_rate", "max_candidate_error_rate", "max_latency_ratio",
                               "compared", "unexplained_divergences", "explained_divergences",
                               "divergence_rate", "candidate_error_rate", "legacy_error_rate",
                               "latency": {"legacy_p95_ms", "candidate_p95_ms", "ratio"},
                               "since_last_divergence": {"at", "seconds", "requests"} | null,
                               "eta_seconds": float | null, "eta": ISO-8601 | null},
                 "series": [{"start", "compared", "diverged", "candidate_errors", "divergence_rate",
                             "legacy_p95_ms", "candidate_p95_ms"}],  # oldest first, series_bucket_seconds
                 "dead_rules": [{"rule", "reason", "compared"}]}],
     "not_covered": [route names], "all_ready": bool, "series_bucket_seconds": int}

Counts, differences, signatures and series cover everything the store holds (its retention); `readiness`
covers the route's trailing cutover window (proxy/readiness.py defines every field). `p95_ms` is the upper
bound of the histogram bucket holding p95, `p95_estimate_ms` the interpolated estimate readiness uses. A
route is *not covered* when it is configured but made no comparison in its window (verdict NO_DATA). A
configured rule is *dead* when it never acted while its route made `dead_rule_after` comparisons or more.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.cutover_section import format_duration
from proxy.readiness import Readiness, Reason, histogram_quantile
from proxy.report import Report, RouteReport
from proxy.store.base import COUNTER_COLUMNS, Latency, PathTotal, RouteBucket, SignatureTotal


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None else None


def _latency_json(latency: Latency) -> dict[str, Any]:
    return {
        "count": latency.count,
        "mean_ms": _rounded(latency.mean_ms),
        "p95_ms": latency.quantile(0.95),
        "p95_estimate_ms": _rounded(histogram_quantile(latency, 0.95)),
    }


def _paths_json(paths: tuple[PathTotal, ...]) -> list[dict[str, Any]]:
    return [{"path": p.path, "kind": p.kind, "count": p.count} for p in paths]


def _signature_json(s: SignatureTotal, route: RouteReport) -> dict[str, Any]:
    example = route.examples.get(s.signature)
    return {
        "signature": s.signature,
        "paths": [{"path": path, "kind": kind} for path, kind in s.paths],
        "count": s.count,
        "examples": s.examples,
        "first_seen": iso(s.first_seen),
        "last_seen": iso(s.last_seen),
        "example_id": example.id if example else None,
    }


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {"code": reason.code, "message": reason.message, "actual": reason.actual, "limit": reason.limit}


def readiness_json(r: Readiness, now: float) -> dict[str, Any]:
    settings, since = r.settings, r.since_divergence
    return {
        "verdict": r.verdict.value,
        "reasons": [_reason_json(reason) for reason in r.reasons],
        "warnings": [_reason_json(warning) for warning in r.warnings],
        "window": format_duration(settings.window),
        "window_seconds": settings.window,
        "min_samples": settings.min_samples,
        "max_divergence_rate": settings.max_divergence_rate,
        "max_candidate_error_rate": settings.max_candidate_error_rate,
        "max_latency_ratio": settings.max_latency_ratio,
        "compared": r.compared,
        "unexplained_divergences": r.unexplained,
        "explained_divergences": r.explained,
        "divergence_rate": r.unexplained / r.compared if r.compared else None,
        "candidate_error_rate": r.candidate_error_rate,
        "legacy_error_rate": r.legacy_error_rate,
        "latency": {
            "legacy_p95_ms": _rounded(r.legacy_p95_ms),
            "candidate_p95_ms": _rounded(r.candidate_p95_ms),
            "ratio": _rounded(r.latency_ratio),
        },
        "since_last_divergence": (
            {"at": iso(since.at), "seconds": since.seconds, "requests": since.requests} if since else None
        ),
        "eta_seconds": r.eta_seconds,
        "eta": iso(now + r.eta_seconds) if r.eta_seconds is not None else None,
    }


def _point_json(b: RouteBucket) -> dict[str, Any]:
    compared = b.count("compared")
    return {
        "start": iso(b.start),
        "compared": compared,
        "diverged": b.count("diverged"),
        "candidate_errors": b.count("candidate_errors"),
        "divergence_rate": b.count("diverged") / compared if compared else None,
        "legacy_p95_ms": _rounded(histogram_quantile(b.legacy, 0.95)),
        "candidate_p95_ms": _rounded(histogram_quantile(b.candidate, 0.95)),
    }


def route_json(route: RouteReport, now: float) -> dict[str, Any]:
    return {
        "route": route.route,
        **{name: route.count(name) for name in COUNTER_COLUMNS},
        "divergence_rate": route.divergence_rate,
        "differences": _paths_json(route.differences),
        "noise_differences": _paths_json(route.noise_differences),
        "rules": [{"rule": r.rule, "hits": r.hits, "ignored": r.ignored} for r in route.rules],
        "signatures": [_signature_json(s, route) for s in route.signatures],
        "latency": {"legacy": _latency_json(route.legacy), "candidate": _latency_json(route.candidate)},
        "first_seen": iso(route.first_minute),
        "last_seen": iso(route.last_minute + 60 if route.last_minute is not None else None),
        "configured": route.configured,
        "covered": route.covered,
        "readiness": readiness_json(route.readiness, now) if route.readiness else None,
        "series": [_point_json(b) for b in route.series],
        "dead_rules": [
            {"rule": d.rule, "reason": d.reason, "compared": d.compared} for d in route.dead_rules
        ],
    }


def report_json(report: Report) -> dict[str, Any]:
    """The documented JSON interface (see the module docstring)."""
    return {
        "generated_at": iso(report.generated_at),
        "store": report.store,
        "schema_version": report.schema_version,
        "instances": [
            {
                "instance_id": i.instance_id,
                "first_seen": iso(i.first_minute),
                "last_seen": iso(i.last_minute + 60),
            }
            for i in report.instances
        ],
        "routes": [route_json(route, report.generated_at) for route in report.routes],
        "not_covered": list(report.not_covered),
        "all_ready": report.all_ready,
        "series_bucket_seconds": report.series_bucket,
    }
