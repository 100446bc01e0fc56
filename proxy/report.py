"""The report model: per-route totals, readiness, time series and dead rules read from a store (all replicas).

Every count covers all that the store holds (its retention); readiness covers each route's trailing
cutover window (proxy/readiness.py). The JSON form and its documented interface are in proxy/report_json.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from comparators.noise import NoiseModel
from config.model import Config
from proxy.evidence import gather_evidence, settings_for
from proxy.readiness import Readiness, ReadinessVerdict, assess
from proxy.store import Store
from proxy.store.base import (
    ALL_TIME,
    COUNTER_COLUMNS,
    ORIGIN_CANDIDATE,
    ORIGIN_NOISE,
    Example,
    InstanceInfo,
    Latency,
    PathTotal,
    RouteBucket,
    RouteTotals,
    RuleTotal,
    SignatureTotal,
    Window,
)

SIGNATURES_PER_ROUTE = 10
CHART_BUCKETS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400)  # seconds, finest first
MAX_CHART_POINTS = 120


@dataclass(frozen=True, slots=True)
class DeadRule:
    """A configured rule that never acted while its route made `compared` comparisons."""

    rule: str
    reason: str
    compared: int


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
    readiness: Readiness | None = None
    series: tuple[RouteBucket, ...] = ()  # oldest first, Report.series_bucket seconds each
    dead_rules: tuple[DeadRule, ...] = ()
    examples: Mapping[str, Example] = field(default_factory=dict)  # newest example per listed signature

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))

    @property
    def covered(self) -> bool:
        return self.first_minute is not None

    @property
    def divergence_rate(self) -> float | None:
        compared = self.count("compared")
        return self.count("diverged") / compared if compared else None

    @property
    def verdict(self) -> ReadinessVerdict:
        return self.readiness.verdict if self.readiness else ReadinessVerdict.NO_DATA


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: float
    store: str
    schema_version: int
    instances: tuple[InstanceInfo, ...]
    routes: tuple[RouteReport, ...]
    series_bucket: int = 3600

    @property
    def empty(self) -> bool:
        return not any(route.covered for route in self.routes)

    @property
    def not_covered(self) -> tuple[str, ...]:
        """Configured routes with no comparison in their cutover window: a cutover would be blind there."""
        blind = ReadinessVerdict.NO_DATA
        return tuple(r.route for r in self.routes if r.configured and r.verdict is blind)

    @property
    def all_ready(self) -> bool:
        return bool(self.routes) and all(r.verdict is ReadinessVerdict.READY for r in self.routes)


async def build_report(
    store: Store,
    *,
    routes: tuple[str, ...] = (),
    config: Config | None = None,
    window: Window = ALL_TIME,
    clock: Callable[[], float] = time.time,
) -> Report:
    """Read every total the report needs from the store; `routes` (exact names) narrows it.

    `clock` gives the moment at which each route's trailing cutover window ends.
    """
    now = clock()
    totals = {t.route: t for t in await store.route_totals(window)}
    configured = tuple(rule.name for rule in config.routes) if config else ()
    names = routes or tuple(sorted(set(totals) | set(configured)))
    windows = {n: settings_for(config, n).window for n in names}
    evidence = await gather_evidence(store, windows, now, NoiseModel(config.noise) if config else None)
    seen = [totals[name] for name in names if name in totals]
    bucket = chart_bucket(seen)
    tables = _Tables(
        paths=await store.path_totals(window),
        rules=await store.rule_totals(window),
        signatures=await store.signature_totals(window, SIGNATURES_PER_ROUTE),
        series=await _series(store, seen, bucket),
    )
    reports = []
    for name in names:
        report = _route_report(name, totals.get(name), tables, name in configured)
        settings = settings_for(config, name)
        reports.append(
            replace(
                report,
                readiness=assess(evidence[name], settings, now),
                dead_rules=_dead_rules(report, config, settings.dead_rule_after),
                examples=await _newest_examples(store, report.signatures),
            )
        )
    return Report(
        generated_at=now,
        store=store.url,
        schema_version=await store.schema_version(),
        instances=tuple(await store.instances(window)),
        routes=tuple(reports),
        series_bucket=bucket,
    )


@dataclass(frozen=True, slots=True)
class _Tables:
    """Rows of every route, read once and split per route."""

    paths: Sequence[PathTotal]
    rules: Sequence[RuleTotal]
    signatures: Sequence[SignatureTotal]
    series: Sequence[RouteBucket]


def chart_bucket(totals: Sequence[RouteTotals]) -> int:
    """The finest bucket that draws the routes' whole span in at most MAX_CHART_POINTS points."""
    if not totals:
        return CHART_BUCKETS[-1]
    span = max(t.last_minute for t in totals) + 60 - min(t.first_minute for t in totals)
    return next((size for size in CHART_BUCKETS if span / size <= MAX_CHART_POINTS), CHART_BUCKETS[-1])


async def _series(store: Store, totals: Sequence[RouteTotals], bucket: int) -> list[RouteBucket]:
    if not totals:
        return []
    since = min(t.first_minute for t in totals)
    return await store.route_series(Window(since, max(t.last_minute for t in totals) + 60), bucket)


async def _newest_examples(store: Store, signatures: Sequence[SignatureTotal]) -> dict[str, Example]:
    found: dict[str, Example] = {}
    for signature in signatures:
        if signature.examples:
            newest = await store.examples(signature.signature, limit=1)
            if newest:
                found[signature.signature] = newest[0]
    return found


def _dead_rules(report: RouteReport, config: Config | None, after: int) -> tuple[DeadRule, ...]:
    """Configured normalizers of this route that never acted in `after` or more comparisons."""
    compared = report.count("compared")
    rule = next((r for r in config.routes if r.name == report.route), None) if config else None
    if rule is None or compared < after:
        return ()
    acted = {r.rule for r in report.rules if r.hits or r.ignored}
    return tuple(
        DeadRule(n.name, n.reason, compared) for n in rule.compare.normalizers if n.name not in acted
    )


def _route_report(name: str, totals: RouteTotals | None, tables: _Tables, configured: bool) -> RouteReport:
    if totals is None:
        return RouteReport(name, dict.fromkeys(COUNTER_COLUMNS, 0), configured=configured)
    paths = [p for p in tables.paths if p.route == name]
    return RouteReport(
        route=name,
        counts=dict(totals.counts),
        differences=tuple(p for p in paths if p.origin == ORIGIN_CANDIDATE),
        noise_differences=tuple(p for p in paths if p.origin == ORIGIN_NOISE),
        rules=tuple(r for r in tables.rules if r.route == name),
        signatures=tuple(s for s in tables.signatures if s.route == name),
        legacy=totals.legacy,
        candidate=totals.candidate,
        first_minute=totals.first_minute,
        last_minute=totals.last_minute,
        configured=configured,
        series=tuple(b for b in tables.series if b.route == name),
    )
