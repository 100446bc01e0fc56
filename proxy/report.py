"""The report model: per-route totals, readiness, modes, series and dead rules from a store (all replicas).

Every count covers all that the store holds (its retention), and so do the mode changes (the audit log,
never purged) and the candidate-serving counters; readiness covers each route's trailing cutover window
(proxy/readiness.py). The last reconciliation of each job (`reconcile --store`) is listed whatever its age.
The JSON form and its documented interface are in proxy/report_json.py.

A route is *not shadowed by design* (verdict NOT_SHADOWED, see `why_not_compared`) when its current mode
or its settings never send a request to both sides: mode `legacy` or `candidate`, a route whose methods are
all writes without `mirror_writes`, or `sample_rate = 0` (unless candidate_primary falls back to legacy,
which calls legacy on every request). The gate (`Report.gated`, `report --check`) skips those routes unless
they were named explicitly (`routes=`): naming a route asks for it to be judged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from comparators.noise import NoiseModel
from config.model import SAFE_METHODS, Config, Fallback, Mode, RouteRule
from proxy.evidence import gather_evidence, settings_for
from proxy.modes import ACTOR_ROLLBACK
from proxy.readiness import Readiness, ReadinessVerdict, assess, not_shadowed
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
from proxy.store.cutover import AuditEntry, CutoverTotals, RouteModeRow
from proxy.store.reconcile_runs import ReconcileRun

SIGNATURES_PER_ROUTE = 10
CHART_BUCKETS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400)  # seconds, finest first
MAX_CHART_POINTS = 120
MODE_ORDER = (Mode.LEGACY, Mode.SHADOW, Mode.CANDIDATE_PRIMARY, Mode.CANDIDATE)  # a rollback steps left


@dataclass(frozen=True, slots=True)
class DeadRule:
    """A configured rule that never acted while its route made `compared` comparisons."""

    rule: str
    reason: str
    compared: int


@dataclass(frozen=True, slots=True)
class RouteMode:
    """A route's current mode and where it comes from; `source` is MODE_SOURCES' key."""

    current: str | None = None  # None: unknown (no config given and no live switch recorded)
    source: str = "unknown"
    configured: str | None = None  # the config's mode (None: not configured, or no config given)
    since: float | None = None  # when the live mode was set (source "store")
    actor: str | None = None  # who set it (source "store")


MODE_SOURCES = {
    "store": "switched live (the store's route mode, followed by every replica)",
    "config": "as configured",
    "automatic": "an automatic route (not configured): always shadow",
    "unknown": "unknown: no config given and no live switch recorded",
}


@dataclass(frozen=True, slots=True)
class Serving:
    """What happened while the candidate answered clients, and how often the route was moved back."""

    served: int = 0  # requests the candidate answered (candidate_primary, candidate)
    candidate_failures: int = 0  # of those: transport error, timeout or 5xx
    fallbacks: int = 0  # of those failures: answered with legacy's response instead
    rollbacks: int = 0  # mode changes toward legacy (MODE_ORDER), by anyone
    automatic_rollbacks: int = 0  # of those: decided by the automatic rollback

    @property
    def active(self) -> bool:
        return any((self.served, self.candidate_failures, self.fallbacks, self.rollbacks))

    @property
    def failure_rate(self) -> float | None:
        return self.candidate_failures / self.served if self.served else None


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
    mode: RouteMode = RouteMode()
    audit: tuple[AuditEntry, ...] = ()  # this route's mode changes, oldest first
    serving: Serving = Serving()

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

    @property
    def shadowed(self) -> bool:
        """False when the route is not compared by design (verdict NOT_SHADOWED)."""
        return self.verdict is not ReadinessVerdict.NOT_SHADOWED

    @property
    def why_not_shadowed(self) -> str:
        """Why the route is not compared by design; empty when it is compared."""
        if self.shadowed or self.readiness is None or not self.readiness.reasons:
            return ""
        return self.readiness.reasons[0].message


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: float
    store: str
    schema_version: int
    instances: tuple[InstanceInfo, ...]
    routes: tuple[RouteReport, ...]
    series_bucket: int = 3600
    audit: tuple[AuditEntry, ...] = ()  # mode changes of the listed routes, oldest first
    requested: tuple[str, ...] = ()  # routes named explicitly (report --route): all of them are judged
    reconciliations: tuple[ReconcileRun, ...] = ()  # the newest `reconcile --store` run of each job

    @property
    def empty(self) -> bool:
        return not any(route.covered for route in self.routes)

    @property
    def not_covered(self) -> tuple[str, ...]:
        """Configured routes with no comparison in their cutover window: a cutover would be blind there."""
        blind = ReadinessVerdict.NO_DATA
        return tuple(r.route for r in self.routes if r.configured and r.verdict is blind)

    @property
    def not_shadowed(self) -> tuple[RouteReport, ...]:
        """Routes not compared by design (never blind: nothing is meant to be compared there)."""
        return tuple(r for r in self.routes if not r.shadowed)

    @property
    def gated(self) -> tuple[RouteReport, ...]:
        """The routes the cutover gate judges: all named ones, else every route but the not shadowed."""
        if self.requested:
            return self.routes
        return tuple(r for r in self.routes if r.shadowed)

    @property
    def all_ready(self) -> bool:
        """The gate: at least one route judged, and every judged route READY."""
        gated = self.gated
        return bool(gated) and all(r.verdict is ReadinessVerdict.READY for r in gated)


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
    rules = {rule.name: rule for rule in config.routes} if config else {}
    names = routes or tuple(sorted(set(totals) | set(rules)))
    windows = {n: settings_for(config, n).window for n in names}
    evidence = await gather_evidence(store, windows, now, NoiseModel(config.noise) if config else None)
    seen = [totals[name] for name in names if name in totals]
    bucket = chart_bucket(seen)
    tables = _Tables(
        paths=await store.path_totals(window),
        rules=await store.rule_totals(window),
        signatures=await store.signature_totals(window, SIGNATURES_PER_ROUTE),
        series=await _series(store, seen, bucket),
        modes={row.route: row for row in await store.route_modes()},
        audit=await store.audit(window),
        serving={t.route: t for t in await store.cutover_totals(window)},
    )
    default_rate = config.shadow.sample_rate if config else 1.0
    reports = []
    for name in names:
        rule = rules.get(name)
        report = _route_report(name, totals.get(name), tables, rule, config)
        settings = settings_for(config, name)
        readiness = assess(evidence[name], settings, now)
        why = why_not_compared(report.mode, rule, default_rate)
        reports.append(
            replace(
                report,
                readiness=not_shadowed(readiness, why) if why else readiness,
                dead_rules=_dead_rules(report, config, settings.dead_rule_after),
                examples=await _newest_examples(store, report.signatures),
            )
        )
    listed = set(names)
    return Report(
        generated_at=now,
        store=store.url,
        schema_version=await store.schema_version(),
        instances=tuple(await store.instances(window)),
        routes=tuple(reports),
        series_bucket=bucket,
        audit=tuple(entry for entry in tables.audit if entry.route in listed),
        requested=routes,
        reconciliations=tuple(await store.last_reconciliations()),
    )


@dataclass(frozen=True, slots=True)
class _Tables:
    """Rows of every route, read once and split per route."""

    paths: Sequence[PathTotal]
    rules: Sequence[RuleTotal]
    signatures: Sequence[SignatureTotal]
    series: Sequence[RouteBucket]
    modes: Mapping[str, RouteModeRow]
    audit: Sequence[AuditEntry]
    serving: Mapping[str, CutoverTotals]


def route_mode(rule: RouteRule | None, row: RouteModeRow | None, config: Config | None) -> RouteMode:
    """The live mode recorded in the store, else the configured one (automatic routes always shadow)."""
    configured = rule.mode.value if rule is not None else None
    if row is not None:
        return RouteMode(row.mode, "store", configured, row.updated_at, row.actor)
    if rule is not None:
        return RouteMode(configured, "config", configured)
    if config is not None:
        return RouteMode(Mode.SHADOW.value, "automatic")
    return RouteMode()


def writes_only(rule: RouteRule) -> bool:
    """Every method of the route is a write, and writes are not mirrored: legacy alone answers them."""
    methods = rule.methods
    return bool(methods) and "*" not in methods and not methods & SAFE_METHODS and not rule.mirror_writes


def why_not_compared(mode: RouteMode, rule: RouteRule | None, default_rate: float) -> str | None:
    """Why the route is never compared under its current mode and settings; None when it is compared."""
    live = f" (switched live by {mode.actor})" if mode.source == "store" else ""
    if mode.current == Mode.LEGACY:
        return f"mode legacy{live}: legacy serves alone, nothing is sent to the candidate"
    if mode.current == Mode.CANDIDATE:
        return f"mode candidate{live}: the candidate serves alone (cut over), legacy is not called"
    if rule is None:
        return None
    if writes_only(rule):
        methods = ", ".join(sorted(rule.methods))
        return f"writes only ({methods}) and mirror_writes is off: writes are never sent to the candidate"
    falls_back = mode.current == Mode.CANDIDATE_PRIMARY and rule.fallback is Fallback.LEGACY
    if falls_back:
        return None  # legacy is called on every request, to answer if the candidate fails
    if rule.sample_rate is not None and rule.sample_rate <= 0:
        return "sample_rate = 0: no request is mirrored"
    if rule.sample_rate is None and default_rate <= 0:
        return "[shadow] sample_rate = 0 (the route sets none): no request is mirrored"
    return None


def steps_back(entry: AuditEntry) -> bool:
    """A mode change toward legacy (candidate -> candidate_primary -> shadow -> legacy)."""
    order = [mode.value for mode in MODE_ORDER]
    if entry.from_mode not in order or entry.to_mode not in order:
        return False
    return order.index(entry.to_mode) < order.index(entry.from_mode)


def serving_of(totals: CutoverTotals | None, audit: Sequence[AuditEntry]) -> Serving:
    back = [entry for entry in audit if steps_back(entry)]
    return Serving(
        served=totals.served if totals else 0,
        candidate_failures=totals.candidate_failures if totals else 0,
        fallbacks=totals.fallbacks if totals else 0,
        rollbacks=len(back),
        automatic_rollbacks=sum(1 for entry in back if entry.actor == ACTOR_ROLLBACK),
    )


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


def _route_report(
    name: str, totals: RouteTotals | None, tables: _Tables, rule: RouteRule | None, config: Config | None
) -> RouteReport:
    audit = tuple(entry for entry in tables.audit if entry.route == name)
    base = RouteReport(
        name,
        dict.fromkeys(COUNTER_COLUMNS, 0),
        configured=rule is not None,
        mode=route_mode(rule, tables.modes.get(name), config),
        audit=audit,
        serving=serving_of(tables.serving.get(name), audit),
    )
    if totals is None:
        return base
    paths = [p for p in tables.paths if p.route == name]
    return replace(
        base,
        counts=dict(totals.counts),
        differences=tuple(p for p in paths if p.origin == ORIGIN_CANDIDATE),
        noise_differences=tuple(p for p in paths if p.origin == ORIGIN_NOISE),
        rules=tuple(r for r in tables.rules if r.route == name),
        signatures=tuple(s for s in tables.signatures if s.route == name),
        legacy=totals.legacy,
        candidate=totals.candidate,
        first_minute=totals.first_minute,
        last_minute=totals.last_minute,
        series=tuple(b for b in tables.series if b.route == name),
    )
