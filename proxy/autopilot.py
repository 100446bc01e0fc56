"""The background pilot: gathers each opted-in route's numbers, asks `promotion.decide`, applies the answer.

Rollback numbers are this replica's own (proxy.tally, per second, in memory), so a burst of candidate
failures rolls the route back within one tick. Promotion needs readiness over a long window and all
replicas, read from the store (proxy.readiness), and is refreshed at most every `readiness_interval`.
Every applied decision goes to the audit log with its numbers (ModeSwitcher.switch).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from comparators.noise import NoiseModel
from config.model import Config, CutoverSettings, Mode, RouteRule
from proxy.evidence import gather_evidence, settings_for
from proxy.modes import ACTOR_PROMOTE, ACTOR_ROLLBACK, ModeSwitcher
from proxy.plan import LivePlan
from proxy.promotion import (
    PROMOTION,
    ROLL_BACK,
    AutoSettings,
    Decision,
    ReadinessView,
    decide,
    time_in_mode_needed,
)
from proxy.readiness import assess
from proxy.store import Store, StoreError
from proxy.tally import RecentStats, ServeTally

log = structlog.get_logger("proxy.autopilot")


@dataclass(frozen=True, slots=True)
class Applied:
    """A decision this replica applied (`changed` False: another replica had already moved the route)."""

    route: str
    decision: Decision
    changed: bool


async def route_readiness(
    store: Store, config: Config, routes: Sequence[str], now: float
) -> dict[str, ReadinessView]:
    """Readiness per route from the store (all replicas)."""
    windows = {route: settings_for(config, route).window for route in routes}
    evidence = await gather_evidence(store, windows, now, NoiseModel(config.noise))
    views: dict[str, ReadinessView] = {}
    for route in routes:
        verdict = assess(evidence[route], settings_for(config, route), now)
        reasons = tuple(f"{r.code}: {r.message}" for r in verdict.reasons)
        views[route] = ReadinessView(verdict.verdict.value, verdict.compared, verdict.unexplained, reasons)
    return views


def cutover_settings(config: Config, rule: RouteRule) -> CutoverSettings:
    return rule.cutover or config.cutover


class AutoPilot:
    """Applies automatic promotions and rollbacks; `tick()` is one pass (the loop and the tests call it)."""

    def __init__(
        self,
        live: LivePlan,
        switcher: ModeSwitcher,
        tally: ServeTally,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        readiness_interval: float = 60.0,
    ) -> None:
        self._live = live
        self._switcher = switcher
        self._tally = tally
        self._store = store
        self._clock = clock
        self._readiness_interval = readiness_interval
        self._readiness: dict[str, ReadinessView] = {}
        self._readiness_at = -math.inf
        self._started = clock()
        self.rollbacks: collections.Counter[str] = collections.Counter()
        self.last: dict[str, Applied] = {}

    def now(self) -> float:
        return self._clock()

    async def tick(self) -> list[Applied]:
        now = self._clock()
        config = self._live.plan.config
        applied: list[Applied] = []
        for rule in config.routes:
            settings = AutoSettings.of(rule, cutover_settings(config, rule).window)
            if not settings.enabled:
                continue
            decision = await self._decide(config, rule, settings, now)
            if decision is not None:
                done = await self._apply(rule, decision)
                if done is not None:
                    applied.append(done)
        return applied

    async def _decide(
        self, config: Config, rule: RouteRule, settings: AutoSettings, now: float
    ) -> Decision | None:
        mode = self._switcher.mode_of(rule)
        since = self._switcher.table.since(rule.name)
        if since is None and mode is not Mode.SHADOW:
            since = self._started  # at least this long: this process has seen it in that mode
        readiness = None
        if (
            settings.promote
            and mode in PROMOTION
            and time_in_mode_needed(mode, since, settings.window, now) == 0
        ):
            readiness = (await self._readiness_views(config, now)).get(rule.name)
        return decide(mode, since, readiness, self._recent(rule, since, now), settings, now)

    def _recent(self, rule: RouteRule, since: float | None, now: float) -> RecentStats:
        if rule.rollback is None:
            return RecentStats()
        start = now - rule.rollback.window
        return self._tally.recent(rule.name, max(start, since) if since is not None else start)

    async def _readiness_views(self, config: Config, now: float) -> dict[str, ReadinessView]:
        if now - self._readiness_at < self._readiness_interval:
            return self._readiness
        names = [rule.name for rule in config.routes if AutoSettings.of(rule, 0).promote]
        try:
            self._readiness = await route_readiness(self._store, config, names, now)
            self._readiness_at = now
        except StoreError as exc:
            log.warning("readiness_unavailable", error=str(exc))
        return self._readiness

    async def _apply(self, rule: RouteRule, decision: Decision) -> Applied | None:
        rollback = decision.kind == ROLL_BACK
        try:
            result = await self._switcher.switch(
                rule,
                decision.to,
                actor=ACTOR_ROLLBACK if rollback else ACTOR_PROMOTE,
                reason=decision.reason,
                expected=self._switcher.mode_of(rule),
                details=decision.numbers,
            )
        except StoreError as exc:
            log.error("automatic_switch_failed", route=rule.name, to_mode=decision.to.value, error=str(exc))
            return None
        if rollback and result.changed:
            self.rollbacks[rule.name] += 1
        if result.changed:
            self._readiness_at = -math.inf  # a new mode: judge it afresh
        done = Applied(rule.name, decision, result.changed)
        self.last[rule.name] = done
        return done
