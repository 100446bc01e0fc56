"""The report model: per-route totals read from a store (all replicas), and its documented JSON form.

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
                                 "first_seen", "last_seen"}],
                 "latency": {"legacy": {"count", "mean_ms", "p95_ms"}, "candidate": {…}},
                 "first_seen", "last_seen", "configured": bool, "covered": bool}]}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config.model import Config
from proxy.store import Store
from proxy.store.base import (
    ALL_TIME,
    COUNTER_COLUMNS,
    ORIGIN_CANDIDATE,
    ORIGIN_NOISE,
    InstanceInfo,
    Latency,
    PathTotal,
    RouteTotals,
    RuleTotal,
    SignatureTotal,
    Window,
)

SIGNATURES_PER_ROUTE = 10


@dataclass(frozen=True, slots=True)
class RouteReport:
    """Everything the report says about one route; `covered` is False for a route that saw no traffic."""

    route: str
    counts: Mapping[str, int]
    differences: tuple[PathTotal, ...] = ()
    noise_differences: tuple[PathTotal, ...] = ()
    rules: tuple[RuleTotal, ...] = ()
    signatures: tuple[SignatureTotal, ...] = ()
    legacy: Latency = field(default_factory=Latency)
    candidate: Latency = field(default_factory=Latency)
    first_minute: int | None = None
    last_minute: int | None = None
    configured: bool = False

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))

    @property
    def covered(self) -> bool:
        return self.first_minute is not None

    @property
    def divergence_rate(self) -> float | None:
        compared = self.count("compared")
        return self.count("diverged") / compared if compared else None


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: float
    store: str
    schema_version: int
    instances: tuple[InstanceInfo, ...]
    routes: tuple[RouteReport, ...]

    @property
    def empty(self) -> bool:
        return not any(route.covered for route in self.routes)


async def build_report(
    store: Store,
    *,
    routes: tuple[str, ...] = (),
    config: Config | None = None,
    window: Window = ALL_TIME,
    clock: Callable[[], float] = time.time,
) -> Report:
    """Read every total the report needs from the store; `routes` (exact names) narrows it."""
    totals = {t.route: t for t in await store.route_totals(window)}
    paths = await store.path_totals(window)
    rules = await store.rule_totals(window)
    signatures = await store.signature_totals(window, SIGNATURES_PER_ROUTE)
    configured = tuple(rule.name for rule in config.routes) if config else ()
    names = routes or tuple(sorted(set(totals) | set(configured)))
    reports = tuple(
        _route_report(name, totals.get(name), paths, rules, signatures, name in configured) for name in names
    )
    return Report(
        generated_at=clock(),
        store=store.url,
        schema_version=await store.schema_version(),
        instances=tuple(await store.instances(window)),
        routes=reports,
    )


def _route_report(
    name: str,
    totals: RouteTotals | None,
    paths: list[PathTotal],
    rules: list[RuleTotal],
    signatures: list[SignatureTotal],
    configured: bool,
) -> RouteReport:
    if totals is None:
        return RouteReport(name, dict.fromkeys(COUNTER_COLUMNS, 0), configured=configured)
    return RouteReport(
        route=name,
        counts=dict(totals.counts),
        differences=tuple(p for p in paths if p.route == name and p.origin == ORIGIN_CANDIDATE),
        noise_differences=tuple(p for p in paths if p.route == name and p.origin == ORIGIN_NOISE),
        rules=tuple(r for r in rules if r.route == name),
        signatures=tuple(s for s in signatures if s.route == name),
        legacy=totals.legacy,
        candidate=totals.candidate,
        first_minute=totals.first_minute,
        last_minute=totals.last_minute,
        configured=configured,
    )


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _latency_json(latency: Latency) -> dict[str, Any]:
    mean = latency.mean_ms
    return {
        "count": latency.count,
        "mean_ms": round(mean, 3) if mean is not None else None,
        "p95_ms": latency.quantile(0.95),
    }


def _paths_json(paths: tuple[PathTotal, ...]) -> list[dict[str, Any]]:
    return [{"path": p.path, "kind": p.kind, "count": p.count} for p in paths]


def _signature_json(s: SignatureTotal) -> dict[str, Any]:
    return {
        "signature": s.signature,
        "paths": [{"path": path, "kind": kind} for path, kind in s.paths],
        "count": s.count,
        "examples": s.examples,
        "first_seen": iso(s.first_seen),
        "last_seen": iso(s.last_seen),
    }


def route_json(route: RouteReport) -> dict[str, Any]:
    return {
        "route": route.route,
        **{name: route.count(name) for name in COUNTER_COLUMNS},
        "divergence_rate": route.divergence_rate,
        "differences": _paths_json(route.differences),
        "noise_differences": _paths_json(route.noise_differences),
        "rules": [{"rule": r.rule, "hits": r.hits, "ignored": r.ignored} for r in route.rules],
        "signatures": [_signature_json(s) for s in route.signatures],
        "latency": {"legacy": _latency_json(route.legacy), "candidate": _latency_json(route.candidate)},
        "first_seen": iso(route.first_minute),
        "last_seen": iso(route.last_minute + 60 if route.last_minute is not None else None),
        "configured": route.configured,
        "covered": route.covered,
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
        "routes": [route_json(route) for route in report.routes],
    }
