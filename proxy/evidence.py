"""Read what readiness needs from a store (all replicas): window totals, noise, traffic, last divergence."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

from comparators.noise import NoiseModel
from config.model import Config, CutoverSettings
from proxy.readiness import Evidence, explained_count, last_unexplained, noisy_paths
from proxy.store import Store
from proxy.store.base import ALL_TIME, RouteTotals, SignatureTotal, Window, minute_of

EVERY_SIGNATURE = 1_000_000  # signature_totals' per-route limit when all of them are needed
TRAFFIC_POINTS = 168  # ETA resolution: hourly buckets over the default 7-day window


def settings_for(config: Config | None, route: str) -> CutoverSettings:
    """A configured route's own [routes.cutover], else the global [cutover], else the defaults."""
    if config is None:
        return CutoverSettings()
    for rule in config.routes:
        if rule.name == route and rule.cutover is not None:
            return rule.cutover
    return config.cutover


def traffic_bucket(window: float) -> int:
    """A bucket size (a multiple of 60 s) cutting the window into about TRAFFIC_POINTS buckets."""
    return max(60, int(window / TRAFFIC_POINTS) // 60 * 60)


def whole_hours(window: Window) -> Window:
    """The part of a window made of whole hours: its start rounded up to the next hour."""
    since = window.since
    return Window(math.ceil(since / 3600) * 3600 if since is not None else None, window.until)


async def gather_evidence(
    store: Store, windows: Mapping[str, float], now: float, noise: NoiseModel | None = None
) -> dict[str, Evidence]:
    """Evidence for each route over [now - its window, now); routes sharing a window share the queries."""
    every_signature = await store.signature_totals(ALL_TIME, EVERY_SIGNATURE)
    by_window: dict[float, list[str]] = defaultdict(list)
    for route, window in windows.items():
        by_window[window].append(route)
    evidence: dict[str, Evidence] = {}
    for window, routes in by_window.items():
        evidence.update(await _gather_window(store, routes, window, now, every_signature, noise))
    return evidence


async def _gather_window(
    store: Store,
    routes: Sequence[str],
    window: float,
    now: float,
    every_signature: Sequence[SignatureTotal],
    noise: NoiseModel | None,
) -> dict[str, Evidence]:
    span = Window(now - window, now)
    totals = {t.route: t for t in await store.route_totals(span)}
    paths = await store.path_totals(span)
    hours = whole_hours(Window(now - window, now + 1))
    signatures = await store.signature_totals(hours, EVERY_SIGNATURE)
    series = await store.route_series(span, traffic_bucket(window))
    found: dict[str, Evidence] = {}
    for route in routes:
        route_totals = totals.get(route)
        compared = route_totals.count("compared") if route_totals else 0
        baseline = route_totals.count("noise_compared") if route_totals else 0
        noisy = noisy_paths((p for p in paths if p.route == route), compared, baseline, noise)
        last = last_unexplained((s for s in every_signature if s.route == route), noisy)
        found[route] = Evidence(
            route=route,
            totals=route_totals,
            explained=explained_count((s for s in signatures if s.route == route), noisy),
            traffic=tuple((b.start, b.count("compared")) for b in series if b.route == route),
            last_divergence=last,
            compared_since=await _compared_since(store, route, last, now),
        )
    return found


async def _compared_since(store: Store, route: str, at: float | None, now: float) -> int:
    """Comparisons in the whole minutes after the one holding `at` (a lower bound, never an overcount)."""
    if at is None:
        return 0
    after: list[RouteTotals] = await store.route_totals(Window(minute_of(at) + 60, now + 1))
    return next((t.count("compared") for t in after if t.route == route), 0)
