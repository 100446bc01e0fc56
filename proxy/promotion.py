"""Automatic promotion and rollback: a pure decision per route, and the background pilot that applies it.

Opt-in per route. `promote = "auto"`: shadow -> candidate_primary when the route is READY over its cutover
window (proxy.readiness, all replicas, from the store); candidate_primary -> candidate when it is READY again
and the whole window was spent in candidate_primary. A route that entered `shadow` by a recorded change
(a rollback, a manual switch) also waits one whole window there before being promoted again.

`rollback`: in candidate_primary or candidate, over a sliding window that starts no earlier than the last
mode change, a divergence rate (comparisons with legacy) or a candidate error rate (transport errors,
timeouts and 5xx among the requests the candidate answered) above its threshold, with at least
`min_samples` requests, moves the route one step back at once. Rollback is checked before promotion, from
this replica's own counters (RecentStats), so it never waits on the store; whichever replica decides first
applies it everywhere (the store's compare-and-set makes the others' identical decisions no-ops).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config.cutover_section import format_duration
from config.model import Mode, Promote, RollbackSettings, RouteRule
from proxy.tally import RecentStats

PROMOTION: Mapping[Mode, Mode] = {Mode.SHADOW: Mode.CANDIDATE_PRIMARY, Mode.CANDIDATE_PRIMARY: Mode.CANDIDATE}
ROLLBACK: Mapping[Mode, Mode] = {Mode.CANDIDATE: Mode.CANDIDATE_PRIMARY, Mode.CANDIDATE_PRIMARY: Mode.SHADOW}
PROMOTE, ROLL_BACK = "promote", "rollback"


@dataclass(frozen=True, slots=True)
class ReadinessView:
    """What promotion needs from a readiness verdict (proxy.readiness.Readiness) over the route's window."""

    verdict: str  # READY, NOT_READY, NO_DATA
    compared: int = 0
    unexplained: int = 0
    reasons: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.verdict == "READY"


@dataclass(frozen=True, slots=True)
class AutoSettings:
    """A route's automatic behaviour: whether it promotes, its cutover window, and its rollback bounds."""

    promote: bool = False
    window: float = 7 * 86400.0
    rollback: RollbackSettings | None = None

    @classmethod
    def of(cls, rule: RouteRule, window: float) -> AutoSettings:
        return cls(rule.promote is Promote.AUTO, window, rule.rollback)

    @property
    def enabled(self) -> bool:
        return self.promote or self.rollback is not None


@dataclass(frozen=True, slots=True)
class Decision:
    """Move to `to`; `kind` is promote or rollback; `numbers` are what triggered it (for the audit log)."""

    to: Mode
    kind: str
    reason: str
    numbers: Mapping[str, Any] = field(default_factory=dict)


def decide(
    mode: Mode,
    since: float | None,
    readiness: ReadinessView | None,
    recent: RecentStats,
    settings: AutoSettings,
    now: float,
) -> Decision | None:
    """The automatic decision for one route, or None. `since`: when the route entered `mode` (None: unknown);
    `recent`: the candidate's counters over the rollback window (already cut at `since` by the caller)."""
    if settings.rollback is not None and mode in ROLLBACK:
        decision = _rollback(mode, recent, settings.rollback)
        if decision is not None:
            return decision
    if settings.promote and mode in PROMOTION:
        return _promotion(mode, since, readiness, settings.window, now)
    return None


def time_in_mode_needed(mode: Mode, since: float | None, window: float, now: float) -> float:
    """Seconds still to spend in `mode` before it may be promoted (0 when none)."""
    if since is None:
        return 0.0 if mode is Mode.SHADOW else window  # candidate_primary must prove a whole window
    return max(0.0, since + window - now)


def _promotion(
    mode: Mode, since: float | None, readiness: ReadinessView | None, window: float, now: float
) -> Decision | None:
    if readiness is None or not readiness.ready or time_in_mode_needed(mode, since, window, now) > 0:
        return None
    to = PROMOTION[mode]
    numbers = {
        "verdict": readiness.verdict,
        "compared": readiness.compared,
        "unexplained_divergences": readiness.unexplained,
        "window_s": window,
        "in_mode_s": round(now - since, 3) if since is not None else None,
    }
    reason = (
        f"READY over the last {format_duration(window)}: {readiness.compared} comparisons, "
        f"{readiness.unexplained} unexplained divergences"
    )
    return Decision(to, PROMOTE, reason, numbers)


def _rollback(mode: Mode, recent: RecentStats, bounds: RollbackSettings) -> Decision | None:
    failures = _over(recent.candidate_failures, recent.served, bounds.max_candidate_error_rate, bounds)
    divergences = _over(recent.diverged, recent.compared, bounds.max_divergence_rate, bounds)
    if failures is None and divergences is None:
        return None
    numbers = {
        "window_s": bounds.window,
        "served": recent.served,
        "candidate_failures": recent.candidate_failures,
        "fallbacks": recent.fallbacks,
        "candidate_error_rate": recent.failure_rate,
        "max_candidate_error_rate": bounds.max_candidate_error_rate,
        "compared": recent.compared,
        "diverged": recent.diverged,
        "divergence_rate": recent.divergence_rate,
        "max_divergence_rate": bounds.max_divergence_rate,
    }
    parts = []
    if failures is not None:
        parts.append(
            f"candidate error rate {failures:.1%} ({recent.candidate_failures} of {recent.served}) "
            f"over {bounds.max_candidate_error_rate:.1%}"
        )
    if divergences is not None:
        parts.append(
            f"divergence rate {divergences:.1%} ({recent.diverged} of {recent.compared}) "
            f"over {bounds.max_divergence_rate:.1%}"
        )
    reason = f"{' and '.join(parts)} in the last {format_duration(bounds.window)}"
    return Decision(ROLLBACK[mode], ROLL_BACK, reason, numbers)


def _over(count: int, total: int, limit: float, bounds: RollbackSettings) -> float | None:
    """The rate when it is trusted (enough samples) and over its limit, else None."""
    if total < bounds.min_samples or total == 0:
        return None
    rate = count / total
    return rate if rate > limit else None
