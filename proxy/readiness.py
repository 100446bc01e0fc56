"""Cutover readiness of one route: a pure verdict over store aggregates, CutoverSettings and `now` (no clock).

Definitions, over the trailing window [now - window, now):

- comparisons: `compared` (matched + diverged + candidate errors), summed over every replica.
- unexplained divergences: `diverged` minus the divergences explained as noise. A divergence is explained
  when every (path, kind) of its signature is on a noisy path: one where legacy differs from itself (legacy
  vs secondary, or a re-sent legacy request under `resample_legacy`) and the candidate does not differ
  significantly more often (comparators.noise with the `[noise]` thresholds; the baseline rate is legacy's
  differences over `noise_compared`, the comparisons of legacy with itself). Rule-ignored differences need
  no subtraction: a difference a rule hides never makes a divergence. Explained counts come from the
  signature counts of whole hours inside the window, so a divergence in the window's first partial hour is
  never explained.
- candidate error rate: candidate_errors / compared; legacy error rate: legacy_errors / (compared +
  legacy_errors) (both are transport failures: no response at all; a 5xx is a response and is compared).
- p95 of each side: linear interpolation inside the latency histogram bucket that holds the 95th
  percentile (as Prometheus' histogram_quantile); the open last bucket reports its lower bound.

Verdicts: NO_DATA (no comparison in the window), READY (every criterion met), NOT_READY (every failing
criterion is a Reason: a stable `code`, a message with the numbers, the actual value and the limit), and
NOT_SHADOWED (the route is not compared by design: its mode or settings never send it to both sides; never
returned by `assess`, set by the report with `not_shadowed`, the window's figures kept).
Codes: `no_data`, `too_few_samples`, `divergence`, `candidate_errors`, `latency`, `not_shadowed`.
Warnings (evidence that is incomplete, never a failure): `records_dropped`, `not_mirrored_dropped`,
`shadow_failures`, `too_large`.

Since the last divergence: the newest unexplained divergence at any time (not only inside the window), and
the comparisons recorded in the whole minutes after the one that holds it.

ETA: the earliest moment T >= now at which [T - window, T) holds at least `min_samples` comparisons and no
unexplained divergence over the allowed rate, assuming no new divergence and traffic continuing at the
window's mean rate (comparisons / time since the window's first traffic). 0 when already met; None when
the rate can never fill a window. Latency and candidate errors are not predicted.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from comparators.noise import NoiseModel, Rate
from config.cutover_section import format_duration
from config.model import CutoverSettings
from proxy.store.base import LATENCY_BOUNDS_MS, Latency, PathTotal, RouteTotals, SignatureTotal

ERROR_KIND = "error"  # a candidate transport error's signature: never a divergence, never noise
MIN_RATE_SPAN = 60.0  # seconds: a rate is never measured over less than one minute


class ReadinessVerdict(enum.StrEnum):
    READY = "READY"
    NOT_READY = "NOT_READY"
    NO_DATA = "NO_DATA"
    NOT_SHADOWED = "NOT_SHADOWED"  # not compared by design (see not_shadowed)


@dataclass(frozen=True, slots=True)
class Reason:
    """One failed criterion (or warning): a stable code, a message with the numbers, actual vs limit."""

    code: str
    message: str
    actual: float | None = None
    limit: float | None = None


@dataclass(frozen=True, slots=True)
class SinceDivergence:
    at: float  # unix seconds of the last unexplained divergence
    seconds: float
    requests: int  # comparisons after the minute that holds it


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the store says about one route: window totals and traffic, and its last unexplained divergence."""

    route: str
    totals: RouteTotals | None = None  # over the window; None when the route recorded nothing in it
    explained: int = 0  # divergences in the window explained as noise
    traffic: tuple[tuple[int, int], ...] = ()  # (bucket start, comparisons) over the window
    last_divergence: float | None = None
    compared_since: int = 0  # comparisons after the minute of last_divergence

    def count(self, name: str) -> int:
        return self.totals.count(name) if self.totals is not None else 0


@dataclass(frozen=True, slots=True)
class Readiness:
    """The verdict on one route with every number behind it."""

    route: str
    verdict: ReadinessVerdict
    reasons: tuple[Reason, ...]
    settings: CutoverSettings
    compared: int = 0
    unexplained: int = 0
    explained: int = 0
    candidate_error_rate: float | None = None
    legacy_error_rate: float | None = None
    legacy_p95_ms: float | None = None
    candidate_p95_ms: float | None = None
    since_divergence: SinceDivergence | None = None
    eta_seconds: float | None = None
    warnings: tuple[Reason, ...] = ()

    @property
    def ready(self) -> bool:
        return self.verdict is ReadinessVerdict.READY

    @property
    def latency_ratio(self) -> float | None:
        legacy, candidate = self.legacy_p95_ms, self.candidate_p95_ms
        return candidate / legacy if legacy and candidate is not None else None


def histogram_quantile(latency: Latency, q: float) -> float | None:
    """Interpolated quantile of a non-cumulative histogram over LATENCY_BOUNDS_MS; None without data."""
    total = sum(latency.buckets)
    if total == 0:
        return None
    rank, seen, lower = q * total, 0, 0.0
    for bound, n in zip(LATENCY_BOUNDS_MS, latency.buckets, strict=False):
        if n and seen + n >= rank:
            return lower + (bound - lower) * (rank - seen) / n
        seen, lower = seen + n, float(bound)
    return float(LATENCY_BOUNDS_MS[-1])


def noisy_paths(
    paths: Iterable[PathTotal], compared: int, baseline_compared: int, model: NoiseModel | None = None
) -> frozenset[str]:
    """Paths where the candidate's differences (over `compared`) are noise, legacy's own rate being its
    differences over `baseline_compared` (see the module docstring)."""
    if compared <= 0 or baseline_compared <= 0:
        return frozenset()
    candidate: dict[str, int] = {}
    baseline: dict[str, int] = {}
    for p in paths:
        counts = candidate if p.origin == "candidate" else baseline
        counts[p.path] = counts.get(p.path, 0) + p.count
    judge = model or NoiseModel()
    return frozenset(
        path
        for path, n in candidate.items()
        if judge.is_noise(
            Rate(min(baseline.get(path, 0), baseline_compared), baseline_compared),
            Rate(min(n, compared), compared),
        )
    )


def is_explained(signature: SignatureTotal, noisy: frozenset[str]) -> bool:
    return bool(signature.paths) and all(k != ERROR_KIND and p in noisy for p, k in signature.paths)


def is_candidate_error(signature: SignatureTotal) -> bool:
    return any(kind == ERROR_KIND for _, kind in signature.paths)


def explained_count(signatures: Iterable[SignatureTotal], noisy: frozenset[str]) -> int:
    return sum(s.count for s in signatures if is_explained(s, noisy))


def last_unexplained(signatures: Iterable[SignatureTotal], noisy: frozenset[str]) -> float | None:
    """When the newest divergence that noise does not explain happened (candidate errors excluded)."""
    times = [s.last_seen for s in signatures if not is_candidate_error(s) and not is_explained(s, noisy)]
    return max(times, default=None)


def _n(value: int) -> str:
    return f"{value:,}"


def _pct(value: float) -> str:
    return f"{value:.2%}" if value else "0%"


def _ago(seconds: float) -> str:
    return format_duration(seconds) if seconds >= 1 else "0s"


def assess(evidence: Evidence, settings: CutoverSettings, now: float) -> Readiness:
    """The verdict on one route over [now - settings.window, now) (see the module docstring)."""
    compared = evidence.count("compared")
    unexplained = max(0, evidence.count("diverged") - evidence.explained)
    since = _since(evidence, now)
    base = Readiness(
        route=evidence.route,
        verdict=ReadinessVerdict.NO_DATA,
        reasons=(),
        settings=settings,
        compared=compared,
        unexplained=unexplained,
        explained=min(evidence.explained, evidence.count("diverged")),
        since_divergence=since,
        warnings=_warnings(evidence),
    )
    if compared == 0:
        message = f"no comparisons in the last {format_duration(settings.window)}"
        return replace(base, reasons=(Reason("no_data", message, 0, settings.min_samples),))
    legacy_errors = evidence.count("legacy_errors")
    measured = replace(
        base,
        candidate_error_rate=evidence.count("candidate_errors") / compared,
        legacy_error_rate=legacy_errors / (compared + legacy_errors),
        legacy_p95_ms=histogram_quantile(evidence.totals.legacy, 0.95) if evidence.totals else None,
        candidate_p95_ms=histogram_quantile(evidence.totals.candidate, 0.95) if evidence.totals else None,
    )
    diverging = _divergence(measured)
    found = (_samples(measured), diverging, _candidate_errors(measured), _latency(measured))
    reasons = tuple(reason for reason in found if reason is not None)
    verdict = ReadinessVerdict.NOT_READY if reasons else ReadinessVerdict.READY
    eta = window_eta(evidence, settings, now, divergence_blocks=diverging is not None)
    return replace(measured, verdict=verdict, reasons=reasons, eta_seconds=eta)


def not_shadowed(readiness: Readiness, why: str) -> Readiness:
    """The same figures under NOT_SHADOWED: the route is not compared by design, `why` says how."""
    reason = Reason("not_shadowed", why)
    return replace(readiness, verdict=ReadinessVerdict.NOT_SHADOWED, reasons=(reason,), eta_seconds=None)


def _since(evidence: Evidence, now: float) -> SinceDivergence | None:
    at = evidence.last_divergence
    if at is None:
        return None
    return SinceDivergence(at, max(0.0, now - at), evidence.compared_since)


def _samples(r: Readiness) -> Reason | None:
    need = r.settings.min_samples
    if r.compared >= need:
        return None
    window = format_duration(r.settings.window)
    message = f"{_n(r.compared)} comparisons in the last {window}, {_n(need)} needed"
    return Reason("too_few_samples", message, r.compared, need)


def _divergence(r: Readiness) -> Reason | None:
    rate, allowed = r.unexplained / r.compared, r.settings.max_divergence_rate
    if rate <= allowed:
        return None
    last = f"; the last one {_ago(r.since_divergence.seconds)} ago" if r.since_divergence else ""
    message = (
        f"{_n(r.unexplained)} unexplained divergences in {_n(r.compared)} comparisons "
        f"({_pct(rate)}, allowed {_pct(allowed)}){last}"
    )
    return Reason("divergence", message, rate, allowed)


def _candidate_errors(r: Readiness) -> Reason | None:
    candidate, legacy = r.candidate_error_rate or 0.0, r.legacy_error_rate or 0.0
    allowed = legacy + r.settings.max_candidate_error_rate
    if candidate <= allowed + 1e-12:  # float slack: equal rates written differently must pass
        return None
    message = (
        f"candidate error rate {_pct(candidate)} exceeds legacy's {_pct(legacy)} "
        f"by more than {_pct(r.settings.max_candidate_error_rate)}"
    )
    return Reason("candidate_errors", message, candidate - legacy, r.settings.max_candidate_error_rate)


def _latency(r: Readiness) -> Reason | None:
    ratio, allowed = r.latency_ratio, r.settings.max_latency_ratio
    if ratio is None or ratio <= allowed:
        return None
    message = (
        f"candidate p95 {r.candidate_p95_ms:.1f} ms is {ratio:.2f}x legacy's {r.legacy_p95_ms:.1f} ms "
        f"(allowed {allowed:g}x)"
    )
    return Reason("latency", message, ratio, allowed)


_WARNINGS = (
    ("records_dropped", "divergence examples were dropped (store degraded or buffer full); counts are whole"),
    ("dropped", "requests were not mirrored (shadow path saturated): the evidence is a sample"),
    ("shadow_failures", "shadow exchanges failed inside the proxy and were not compared"),
    ("too_large", "exchanges had a body over max_compare_bytes and were not compared"),
)


def _warnings(evidence: Evidence) -> tuple[Reason, ...]:
    codes = {"dropped": "not_mirrored_dropped"}
    return tuple(
        Reason(codes.get(name, name), f"{_n(evidence.count(name))} {text}", evidence.count(name))
        for name, text in _WARNINGS
        if evidence.count(name)
    )


def window_eta(
    evidence: Evidence, settings: CutoverSettings, now: float, *, divergence_blocks: bool
) -> float | None:
    """Seconds until the window holds min_samples comparisons and no blocking divergence (module doc)."""
    window, need = settings.window, settings.min_samples
    earliest = now
    if divergence_blocks:
        last = evidence.last_divergence
        earliest = last + window if last is not None and last + window > now else now + window
    rate = current_rate(evidence.traffic, now, window)
    return fill_eta(now, window, need, evidence.traffic, rate, earliest)


def current_rate(traffic: Sequence[tuple[int, int]], now: float, window: float) -> float:
    """Comparisons per second over the window since its first traffic."""
    total = sum(n for _, n in traffic)
    if not total:
        return 0.0
    first = min(start for start, n in traffic if n)
    span = min(window, max(MIN_RATE_SPAN, now - first))
    return total / span


def fill_eta(
    now: float,
    window: float,
    need: int,
    traffic: Sequence[tuple[int, int]],
    rate: float,
    earliest: float,
) -> float | None:
    """Seconds from now to the first T >= earliest where [T - window, T) holds `need` comparisons.

    Past buckets count until T passes start + window; new traffic arrives at `rate` from now on. Between
    two moments where a past bucket leaves, the count grows linearly, so each segment is solved exactly.
    """
    start = max(now, earliest)
    edges = sorted({s + window for s, _ in traffic if start < s + window < now + window})
    for low, high in zip([start, *edges], [*edges, now + window], strict=True):
        if low >= high:
            continue
        existing = sum(n for s, n in traffic if s + window > low)
        if existing + rate * (low - now) >= need:
            return low - now
        if rate > 0 and now + (need - existing) / rate <= high:
            return (need - existing) / rate
    return start - now if start >= now + window and rate * window >= need else None
