"""Decide whether a candidate difference on a path is noise, from how often legacy differs from itself there.

The proxy compares legacy with a second legacy (a secondary, or a resampled request) through the same
pipeline and counts, per (route, path), how often they differed: the *baseline* rate. It also counts how often
the candidate differed from legacy on that path. A candidate difference is **noise** when the path is known
to be noisy and the candidate's rate is not significantly above the baseline rate.

The test, for one path (all counts per route and path):

1. Not enough baseline yet (fewer than `min_baseline` legacy-vs-legacy comparisons) -> **signal**. Until we
   know how legacy behaves, hiding anything could hide a real bug.
2. Legacy (almost) never differs from itself there (fewer than `min_baseline_differed` differences) ->
   **signal**. A path that is stable in legacy and moves in the candidate is exactly what we look for.
3. Otherwise compare one-sided Wilson score bounds at `confidence`: the candidate's *lower* bound against the
   baseline's *upper* bound widened by the margins,
   ``allowed = min(1, upper_baseline * (1 + relative) + absolute)``.
   Candidate lower bound above `allowed` -> **signal**, else **noise**.

Defaults and why:

- ``confidence = 0.95`` (one-sided, z ~ 1.645): the usual level; Wilson bounds stay sane at small counts and
  at rates of 0 or 1, where the normal approximation does not.
- ``relative = 0.25``: the candidate may differ up to 25 % more often than legacy differs from itself before
  it counts, because candidate and legacy answers are further apart (another host, another clock) than two
  legacy answers, which makes time-dependent fields drift a little more.
- ``absolute = 0.02``: two percentage points of slack, so a baseline near 0 % does not turn every stray
  candidate difference on a noisy path into a divergence.
- ``min_baseline = 20`` comparisons and ``min_baseline_differed = 2``: one coincidence does not make a path
  noisy; 20 samples bound the baseline's upper limit to a useful width (0/20 -> upper ~ 0.12).

A real bug on a noisy path still shows: a uuid that legacy regenerates on every call is noise at 100 %, but
a price that legacy changes 5 % of the time and the candidate changes 60 % of the time is signal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

from comparators.model import Difference


@dataclass(frozen=True, slots=True)
class Rate:
    """How many of `compared` comparisons differed on one path."""

    differed: int = 0
    compared: int = 0

    def __post_init__(self) -> None:
        if self.compared < 0 or not 0 <= self.differed <= self.compared:
            raise ValueError(f"need 0 <= differed <= compared, got {self.differed}/{self.compared}")

    @property
    def value(self) -> float:
        return self.differed / self.compared if self.compared else 0.0

    def wilson(self, confidence: float) -> tuple[float, float]:
        """One-sided Wilson score bounds (lower, upper) at `confidence`; (0, 1) when nothing was compared."""
        if self.compared == 0:
            return 0.0, 1.0
        z = NormalDist().inv_cdf(confidence)
        n, p = self.compared, self.value
        denominator = 1 + z * z / n
        center = (p + z * z / (2 * n)) / denominator
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        return max(0.0, center - half), min(1.0, center + half)


@dataclass(frozen=True, slots=True)
class NoiseThresholds:
    """The configurable knobs of the test above (defaults documented in the module docstring)."""

    confidence: float = 0.95
    relative: float = 0.25
    absolute: float = 0.02
    min_baseline: int = 20
    min_baseline_differed: int = 2

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.relative < 0 or not 0 <= self.absolute <= 1:
            raise ValueError("relative must be >= 0 and absolute within [0, 1]")
        if self.min_baseline < 1 or self.min_baseline_differed < 1:
            raise ValueError("min_baseline and min_baseline_differed must be >= 1")


@dataclass(frozen=True, slots=True)
class NoiseJudgement:
    """The decision for one path, with the numbers behind it (shown in reports)."""

    noise: bool
    why: str
    baseline: Rate
    candidate: Rate
    allowed: float = 1.0  # the highest candidate rate still taken as noise
    candidate_lower: float = 0.0


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """Pure decision rules; the counts come from the caller (the proxy's recorder)."""

    thresholds: NoiseThresholds = NoiseThresholds()

    def judge(self, baseline: Rate, candidate: Rate) -> NoiseJudgement:
        t = self.thresholds
        if baseline.compared < t.min_baseline:
            why = f"learning: {baseline.compared}/{t.min_baseline} legacy-vs-legacy comparisons"
            return NoiseJudgement(False, why, baseline, candidate)
        if baseline.differed < t.min_baseline_differed:
            why = f"legacy is stable here ({baseline.differed}/{baseline.compared})"
            return NoiseJudgement(False, why, baseline, candidate)
        _, baseline_upper = baseline.wilson(t.confidence)
        candidate_lower, _ = candidate.wilson(t.confidence)
        allowed = min(1.0, baseline_upper * (1 + t.relative) + t.absolute)
        if candidate_lower > allowed:
            why = f"candidate rate {candidate.value:.1%} is significantly above legacy's {baseline.value:.1%}"
            return NoiseJudgement(False, why, baseline, candidate, allowed, candidate_lower)
        rates = f"candidate rate {candidate.value:.1%}", f"legacy's own {baseline.value:.1%}"
        why = f"{rates[0]} is not significantly above {rates[1]}"
        return NoiseJudgement(True, why, baseline, candidate, allowed, candidate_lower)

    def is_noise(self, baseline: Rate, candidate: Rate) -> bool:
        return self.judge(baseline, candidate).noise

    def split(
        self,
        differences: tuple[Difference, ...],
        baselines: Mapping[str, Rate],
        candidates: Mapping[str, Rate],
    ) -> tuple[tuple[Difference, ...], tuple[Difference, ...]]:
        """(signal, noise) of one comparison's differences, by their paths' rates on this route."""
        signal: list[Difference] = []
        noise: list[Difference] = []
        for difference in differences:
            baseline = baselines.get(difference.path, Rate())
            candidate = candidates.get(difference.path, Rate(1, 1))
            (noise if self.is_noise(baseline, candidate) else signal).append(difference)
        return tuple(signal), tuple(noise)
