"""Readiness verdicts on crafted histories written into a real store, and its pure pieces, table-driven."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from report_support import DAY, HOUR, NOW, ROUTE, History, latency, write_histories

from config.model import CutoverSettings
from proxy.evidence import gather_evidence, traffic_bucket, whole_hours
from proxy.readiness import (
    Readiness,
    ReadinessVerdict,
    assess,
    fill_eta,
    histogram_quantile,
)
from proxy.store import open_store
from proxy.store.base import Latency, Window

DEFAULTS = CutoverSettings()
WEEK = DEFAULTS.window
BAD = ("$.price", "value")


async def judge(url: str, settings: CutoverSettings = DEFAULTS, route: str = ROUTE) -> Readiness:
    store = open_store(url, create=False)
    try:
        evidence = await gather_evidence(store, {route: settings.window}, NOW)
    finally:
        await store.close()
    return assess(evidence[route], settings, NOW)


@dataclass(frozen=True)
class Case:
    """A history, the settings it is judged under, the verdict and failing codes, and extra checks."""

    history: Callable[[], list[History]]
    verdict: ReadinessVerdict
    codes: tuple[str, ...] = ()
    settings: CutoverSettings = DEFAULTS
    check: Callable[[Readiness], bool] = field(default=lambda r: True)


def clean(n: int = 1000, ago: float = DAY, **kw: object) -> list[History]:
    return [History().traffic(ago, n, **kw)]  # type: ignore[arg-type]


def one_divergence(ago: float) -> list[History]:
    history = History().traffic(DAY, 999).traffic(ago, 1, diverged=1).divergence(ago, [BAD])
    return [history.traffic(HOUR, 50)]


def noisy(extra_signal: bool, baseline: int = 1000, baseline_differed: int = 300) -> list[History]:
    """$.ts differs between two legacy answers 300 times in 1000: the candidate's 290 are noise."""
    history = History().traffic(DAY, 1000, diverged=290, noise_compared=baseline)
    history = history.noise(DAY, "$.ts", baseline_differed)
    paths = [("$.ts", "value"), BAD] if extra_signal else [("$.ts", "value")]
    return [history.divergence(DAY, paths, 290)]


CASES: dict[str, Case] = {
    "no traffic at all": Case(lambda: [], ReadinessVerdict.NO_DATA, ("no_data",)),
    "traffic only before the window": Case(
        lambda: clean(5000, ago=WEEK + DAY), ReadinessVerdict.NO_DATA, ("no_data",)
    ),
    "a clean week": Case(
        lambda: clean(1000),
        ReadinessVerdict.READY,
        check=lambda r: r.eta_seconds == 0 and r.since_divergence is None and r.compared == 1000,
    ),
    "one comparison short": Case(
        lambda: clean(999),
        ReadinessVerdict.NOT_READY,
        ("too_few_samples",),
        # 999 comparisons over the last day: one more takes a day / 999 at that rate.
        check=lambda r: r.eta_seconds == pytest.approx(DAY / 999),
    ),
    "two replicas add up": Case(
        lambda: [History("a").traffic(DAY, 500), History("b").traffic(DAY, 500)], ReadinessVerdict.READY
    ),
    "one divergence two hours ago": Case(
        lambda: one_divergence(2 * HOUR),
        ReadinessVerdict.NOT_READY,
        ("divergence",),
        check=lambda r: (
            r.unexplained == 1
            and r.since_divergence is not None
            and (r.since_divergence.seconds, r.since_divergence.requests) == (2 * HOUR, 50)
            and r.eta_seconds == pytest.approx(WEEK - 2 * HOUR)
        ),
    ),
    "a divergence older than the window": Case(
        lambda: [*clean(1000), History().traffic(WEEK + DAY, 1, diverged=1).divergence(WEEK + DAY, [BAD])],
        ReadinessVerdict.READY,
        check=lambda r: r.since_divergence is not None and r.since_divergence.seconds == WEEK + DAY,
    ),
    "divergences explained by legacy's own noise": Case(
        lambda: noisy(extra_signal=False),
        ReadinessVerdict.READY,
        check=lambda r: (r.unexplained, r.explained, r.since_divergence) == (0, 290, None),
    ),
    "noise learned from resampling 5% of requests": Case(
        # legacy compared with itself on 50 requests only, differing 15 times (30%): the rate is 15/50,
        # not 15/1000, so the candidate's 29% is noise.
        lambda: noisy(extra_signal=False, baseline=50, baseline_differed=15),
        ReadinessVerdict.READY,
        check=lambda r: (r.unexplained, r.explained) == (0, 290),
    ),
    "no legacy-vs-legacy comparisons, no noise": Case(
        lambda: noisy(extra_signal=False, baseline=0),
        ReadinessVerdict.NOT_READY,
        ("divergence",),
        check=lambda r: (r.unexplained, r.explained) == (290, 0),
    ),
    "noise does not hide a real difference beside it": Case(
        lambda: noisy(extra_signal=True),
        ReadinessVerdict.NOT_READY,
        ("divergence",),
        check=lambda r: (r.unexplained, r.explained) == (290, 0),
    ),
    "a divergence rate within the allowed rate": Case(
        lambda: one_divergence(2 * HOUR),
        ReadinessVerdict.READY,
        settings=CutoverSettings(max_divergence_rate=0.001),
    ),
    "candidate errors beyond legacy's": Case(
        lambda: clean(1000, candidate_errors=5),
        ReadinessVerdict.NOT_READY,
        ("candidate_errors",),
        check=lambda r: r.candidate_error_rate == 0.005 and r.legacy_error_rate == 0.0,
    ),
    "candidate errors matching legacy's": Case(
        lambda: clean(1000, candidate_errors=5, legacy_errors=5), ReadinessVerdict.READY
    ),
    "a candidate twice as slow": Case(
        lambda: clean(1000, legacy_ms=40.0, candidate_ms=90.0),
        ReadinessVerdict.NOT_READY,
        ("latency",),
        check=lambda r: r.latency_ratio == pytest.approx(97.5 / 48.75),
    ),
    "every criterion failing at once, each named": Case(
        lambda: [
            History()
            .traffic(HOUR, 100, diverged=3, candidate_errors=10, legacy_ms=8.0, candidate_ms=400.0)
            .divergence(HOUR, [BAD], 3)
        ],
        ReadinessVerdict.NOT_READY,
        ("too_few_samples", "divergence", "candidate_errors", "latency"),
        # The ETA covers the zero-diff window only: the divergence leaves it a week after it happened.
        check=lambda r: r.eta_seconds == pytest.approx(WEEK - HOUR),
    ),
    "a route's own window and sample size": Case(
        lambda: clean(20, ago=HOUR),
        ReadinessVerdict.READY,
        settings=CutoverSettings(window=2 * HOUR, min_samples=20),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_verdicts_on_crafted_histories(name: str, sqlite_url: str) -> None:
    case = CASES[name]
    await write_histories(sqlite_url, *case.history())
    readiness = await judge(sqlite_url, case.settings)
    assert readiness.verdict is case.verdict, readiness.reasons
    assert tuple(r.code for r in readiness.reasons) == case.codes
    assert case.check(readiness), readiness


POSTGRES_CASES = ["one divergence two hours ago", "divergences explained by legacy's own noise"]


@pytest.mark.parametrize("name", POSTGRES_CASES)
async def test_the_same_verdicts_through_postgres(name: str, pg_url: str) -> None:
    case = CASES[name]
    await write_histories(pg_url, *case.history())
    readiness = await judge(pg_url, case.settings)
    assert (readiness.verdict, tuple(r.code for r in readiness.reasons)) == (case.verdict, case.codes)
    assert case.check(readiness), readiness


async def test_reasons_carry_the_numbers(sqlite_url: str) -> None:
    await write_histories(sqlite_url, *one_divergence(2 * HOUR))
    readiness = await judge(sqlite_url, CutoverSettings(min_samples=2000))
    samples, divergence = readiness.reasons
    assert samples.message == "1,050 comparisons in the last 7d, 2,000 needed"
    assert (samples.actual, samples.limit) == (1050, 2000)
    assert divergence.message == (
        "1 unexplained divergences in 1,050 comparisons (0.10%, allowed 0%); the last one 2h ago"
    )


async def test_warnings_flag_incomplete_evidence_without_failing(sqlite_url: str) -> None:
    await write_histories(sqlite_url, *clean(1000, records_dropped=3, dropped=7))
    readiness = await judge(sqlite_url)
    assert readiness.verdict is ReadinessVerdict.READY
    assert [(w.code, w.actual) for w in readiness.warnings] == [
        ("records_dropped", 3),
        ("not_mirrored_dropped", 7),
    ]


def buckets(*counts: int) -> Latency:
    return Latency(0.0, sum(counts), tuple(counts) + (0,) * (12 - len(counts)))


@pytest.mark.parametrize(
    ("histogram", "q", "expected"),
    [
        (buckets(), 0.95, None),
        (buckets(100), 0.95, 4.75),  # (0, 5]: 95 % of the way up
        (buckets(50, 50), 0.5, 5.0),  # exactly the first bucket's upper bound
        (buckets(0, 0, 100), 0.95, 10 + 15 * 0.95),  # (10, 25]
        (latency(20_000.0, 10), 0.95, 10_000.0),  # the open last bucket: its lower bound
    ],
)
def test_histogram_quantile_interpolates(histogram: Latency, q: float, expected: float | None) -> None:
    assert histogram_quantile(histogram, q) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("traffic", "rate", "earliest", "need", "expected"),
    [
        ((), 0.0, NOW, 10, None),  # no traffic, no estimate
        (((NOW - DAY, 10),), 10 / DAY, NOW, 10, 0.0),  # already met
        (((NOW - DAY, 5),), 5 / DAY, NOW, 10, 5 / (5 / DAY)),  # 5 more at 5 a day
        (((NOW - DAY, 5),), 1 / WEEK, NOW, 10, None),  # one a week never fills a window of 10
        # The window opens when a divergence leaves it; by then a day short of a week at 1/h has filled it.
        (((NOW - DAY, 10),), 1 / HOUR, NOW + WEEK - DAY, 10, WEEK - DAY),
    ],
)
def test_fill_eta(
    traffic: tuple[tuple[int, int], ...], rate: float, earliest: float, need: int, expected: float | None
) -> None:
    found = fill_eta(NOW, WEEK, need, traffic, rate, earliest)
    assert found == (pytest.approx(expected) if expected is not None else None)


def test_window_helpers() -> None:
    assert traffic_bucket(WEEK) == 3600 and traffic_bucket(HOUR) == 60
    assert whole_hours(Window(NOW - 90, NOW)) == Window(NOW, NOW)
    assert whole_hours(Window(NOW - 3600, NOW)) == Window(NOW - 3600, NOW)
