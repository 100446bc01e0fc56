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
                 "mode": "legacy" | "shadow" | "candidate_primary" | "candidate" | null,
                 "mode_source": "store" | "config" | "automatic" | "unknown",
                 "configured_mode": str | null, "mode_since": ISO-8601 | null, "mode_actor": str | null,
                 "serving": {"served", "candidate_failures", "fallbacks", "candidate_failure_rate",
                             "rollbacks", "automatic_rollbacks"},
                 "audit": [audit entries of this route, as below],
                 "readiness": {"verdict": "READY" | "NOT_READY" | "NO_DATA" | "NOT_SHADOWED",
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
     "not_covered": [route names], "all_ready": bool, "series_bucket_seconds": int,
     "not_shadowed": [{"route", "reason"}], "judged": [route names],
     "audit": [{"id", "at": ISO-8601, "route", "from_mode", "to_mode", "actor", "reason", "instance_id",
                "details": {numbers behind an automatic decision}}],  # oldest first
     "reconciliations": [{"job", "started_at": ISO-8601, "finished_at": ISO-8601, "instance_id",
                          "verdict": "equal" | "different" | "error" | "interrupted",
                          "checked", "missing", "extra", "different"}]}  # by job name

Counts, differences, signatures and series cover everything the store holds (its retention); `readiness`
covers the route's trailing cutover window (proxy/readiness.py defines every field). `p95_ms` is the upper
bound of the histogram bucket holding p95, `p95_estimate_ms` the interpolated estimate readiness uses. A
route is *not covered* when it is configured but made no comparison in its window (verdict NO_DATA). A
configured rule is *dead* when it never acted while its route made `dead_rule_after` comparisons or more.

Modes: `mode` is the route's current mode: the live mode in the store when anyone switched it (`mode_source`
"store", with `mode_since` and `mode_actor`), else the configured one ("config"); a route that is not
configured runs shadow ("automatic"); without a config and a switch it is unknown (null). `audit` lists
every mode change (manual, reload, automatic) over the report's period, oldest first, at the top level for
every listed route and per route for that route. `serving` counts what happened while the candidate answered
clients (candidate_primary, candidate), over the period, all replicas: `served` requests, `candidate_failures`
among them (transport error, timeout or 5xx), `fallbacks` (failures answered with legacy's response), and
`rollbacks` (mode changes toward legacy, by anyone; `automatic_rollbacks` by the automatic rollback).

A route is *not shadowed* (verdict NOT_SHADOWED, one reason with code `not_shadowed` saying why) when its
mode or settings never compare it: mode legacy or candidate, writes only without mirror_writes, or
sample_rate 0; it is never *not covered*. `judged` names the routes the cutover gate judges (every route
named with --route, else every route but the not shadowed ones); `all_ready` is true when at least one route
is judged and every judged route is READY (`report --check` exits 0 exactly then).

`reconciliations` lists the newest stored run of each reconcile job (`shadow-proxy reconcile --store URL`),
whatever its age (runs are never purged): when it started and finished, the machine that ran it, its
verdict (`error`: the job could not run or finish; `interrupted`: stopped by Ctrl-C, the counts cover the
keys checked so far) and its totals. `checked` counts MongoDB documents matched, different or missing;
`missing` are in MongoDB only, `extra` in PostgreSQL only, `different` pairs differ under the job's rules.
The job's full JSON report (`reconcile --format json`'s job object) stays in the store, not repeated
here; the cutover gate does not judge reconciliations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.cutover_section import format_duration
from proxy.readiness import Readiness, Reason, histogram_quantile
from proxy.report import Report, RouteReport, Serving
from proxy.store.base import COUNTER_COLUMNS, Latency, PathTotal, RouteBucket, SignatureTotal
from proxy.store.cutover import AuditEntry
from proxy.store.reconcile_runs import ReconcileRun


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


def audit_entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "route": entry.route,
        "from_mode": entry.from_mode,
        "to_mode": entry.to_mode,
        "actor": entry.actor,
        "reason": entry.reason,
        "instance_id": entry.instance_id,
        "details": dict(entry.details),
    }


def _serving_json(s: Serving) -> dict[str, Any]:
    return {
        "served": s.served,
        "candidate_failures": s.candidate_failures,
        "fallbacks": s.fallbacks,
        "candidate_failure_rate": s.failure_rate,
        "rollbacks": s.rollbacks,
        "automatic_rollbacks": s.automatic_rollbacks,
    }


def _mode_json(route: RouteReport) -> dict[str, Any]:
    mode = route.mode
    return {
        "mode": mode.current,
        "mode_source": mode.source,
        "configured_mode": mode.configured,
        "mode_since": iso(mode.since),
        "mode_actor": mode.actor,
        "serving": _serving_json(route.serving),
        "audit": [audit_entry_json(entry) for entry in route.audit],
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
        **_mode_json(route),
        "readiness": readiness_json(route.readiness, now) if route.readiness else None,
        "series": [_point_json(b) for b in route.series],
        "dead_rules": [
            {"rule": d.rule, "reason": d.reason, "compared": d.compared} for d in route.dead_rules
        ],
    }


def reconciliation_json(run: ReconcileRun) -> dict[str, Any]:
    return {
        "job": run.job,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "instance_id": run.instance_id,
        "verdict": run.verdict,
        "checked": run.checked,
        "missing": run.missing,
        "extra": run.extra,
        "different": run.different,
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
        "not_shadowed": [{"route": r.route, "reason": r.why_not_shadowed} for r in report.not_shadowed],
        "judged": [route.route for route in report.gated],
        "audit": [audit_entry_json(entry) for entry in report.audit],
        "reconciliations": [reconciliation_json(run) for run in report.reconciliations],
    }
