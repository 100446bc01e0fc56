"""Parse `[cutover]` (global) and `[routes.cutover]` (one route) into CutoverSettings, every bad key named.

A route is READY for cutover when, over the trailing `window`, it saw at least `min_samples` comparisons,
its unexplained divergence rate is at most `max_divergence_rate`, its candidate error rate exceeds legacy's
by at most `max_candidate_error_rate`, and candidate p95 / legacy p95 is at most `max_latency_ratio`
(proxy/readiness.py applies them). A route's table overrides only the keys it names.

Defaults and why:

- ``window = "7d"``: one full weekly cycle, so weekday peaks, weekends and weekly jobs all had their chance
  to send the rarer request shapes through the shadow path.
- ``min_samples = 1000``: with zero divergences in n comparisons the 95 % upper bound on the true divergence
  rate is about 3/n (the rule of three), so 1000 clean comparisons put it below 0.3 %.
- ``max_divergence_rate = 0``: a zero-diff window. Every divergence is either fixed or explained by a rule
  with a reason; noise (legacy disagreeing with itself) is already excluded.
- ``max_candidate_error_rate = 0.001``: an *additive* margin over legacy's own transport error rate
  (candidate_errors / compared  <=  legacy_errors / (compared + legacy_errors) + 0.001). Shadow calls run
  under the shadow path's shorter timeout and concurrency bound, so a stray timeout per thousand is
  tolerated; a failing endpoint exceeds it at once.
- ``max_latency_ratio = 1.5``: p95 is estimated from fixed histogram buckets (linear interpolation, as
  Prometheus does), which is only accurate to within a bucket; 1.5x absorbs that error and still fails a
  candidate that is materially (about twice) slower.
- ``dead_rule_after = 1000``: a rule that some 0.3 % of requests need acts within 1000 comparisons with 95 %
  probability; one that never acted by then is reported as dead (or over-specific).
"""

from __future__ import annotations

import re
from dataclasses import replace

from config.model import CutoverSettings
from config.reader import Section

_UNITS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[wdhms])+")


def parse_duration(text: str) -> float:
    """Seconds in `7d`, `12h`, `30m`, `90s`, `1w` or a sum such as `1d12h`; ValueError otherwise."""
    compact = text.strip().lower()
    if not _DURATION.fullmatch(compact):
        raise ValueError(f"expected a duration like 7d, 12h, 30m or 1d12h, got {text!r}")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero, got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact form in the largest units: 604800 -> `7d`, 129600 -> `1d12h`, 90 -> `1m30s`."""
    remaining = round(seconds)
    if remaining <= 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = int(_UNITS[unit])
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_cutover(section: Section, base: CutoverSettings) -> CutoverSettings:
    """`base` with the keys this table names; an invalid key keeps base's value and adds a keyed error."""
    settings = replace(
        base,
        window=section.parsed("window", base.window, parse_duration),
        min_samples=section.integer("min_samples", base.min_samples, 1),
        max_divergence_rate=section.number("max_divergence_rate", base.max_divergence_rate, 0.0, 1.0),
        max_candidate_error_rate=section.number(
            "max_candidate_error_rate", base.max_candidate_error_rate, 0.0, 1.0
        ),
        max_latency_ratio=section.number("max_latency_ratio", base.max_latency_ratio, 0.0),
        dead_rule_after=section.integer("dead_rule_after", base.dead_rule_after, 1),
    )
    if settings.max_latency_ratio <= 0:
        section.error("max_latency_ratio", "must be greater than 0")
        settings = replace(settings, max_latency_ratio=base.max_latency_ratio)
    section.finish()
    return settings
