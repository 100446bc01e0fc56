"""Benchmark results: medians over rounds, ratios to the direct baseline, the table and bench/RESULTS.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.scenarios import Scenario, Via
from bench.wrk import WrkResult, WrkSettings

TARGET_RPS = 2500.0  # issue 2: through shadow-proxy, identical 1 KB JSON
TARGET_DIFFER_COST = 0.20  # issue 2: differing bodies cost at most this share of the identical throughput
SHADOW_COLUMNS = ("compared", "matched", "diverged", "candidate_errors", "dropped")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One scenario's wrk runs (one per round) and the proxy counters they moved, summed over rounds."""

    scenario: Scenario
    runs: tuple[WrkResult, ...]
    shadow: dict[str, int] = field(default_factory=dict)
    backlog_seconds: float = 0.0  # longest wait, after a run, for the proxy's shadow work to finish

    @property
    def rps(self) -> float:
        return statistics.median(run.requests_per_second for run in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(run.p50_ms for run in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(run.p99_ms for run in self.runs)

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)


@dataclass(frozen=True, slots=True)
class RunFacts:
    """Where and how the benchmark ran, printed with the numbers so they can be judged."""

    date: str
    command: str
    nproc: int
    load_average: tuple[
        float, float
    ]  # 1-minute load average before and after the run: other work on the host
    cpu: str
    python: str
    nginx: str
    wrk: str
    commit: str
    settings: WrkSettings
    rounds: int


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def _shadow_cell(measurement: Measurement) -> str:
    if measurement.scenario.via is not Via.PROXY:
        return "-"
    return " / ".join(str(measurement.shadow.get(name, 0)) for name in SHADOW_COLUMNS)


def _backlog_cell(measurement: Measurement) -> str:
    return "-" if measurement.scenario.via is not Via.PROXY else f"{measurement.backlog_seconds:.1f}"


def table(measurements: list[Measurement]) -> list[str]:
    """A markdown table: medians, ratios to each scenario's direct baseline, shadow outcomes."""
    by_name = {m.scenario.name: m for m in measurements}
    lines = [
        "| scenario | req/s | vs direct | p50 ms | p99 ms | p99 vs direct | errors "
        f"| shadow: {' / '.join(SHADOW_COLUMNS)} | backlog s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for m in measurements:
        base = by_name.get(m.scenario.baseline or "")
        rps_ratio = _ratio(m.rps, base.rps) if base else "1.00x"
        p99_ratio = _ratio(m.p99_ms, base.p99_ms) if base else "1.00x"
        lines.append(
            f"| {m.scenario.title} | {m.rps:,.0f} | {rps_ratio} | {m.p50_ms:.2f} | {m.p99_ms:.2f} "
            f"| {p99_ratio} | {m.errors} | {_shadow_cell(m)} | {_backlog_cell(m)} |"
        )
    return lines


def target_lines(measurements: list[Measurement]) -> list[str]:
    """The issue's two targets, checked against what was measured (when those scenarios ran)."""
    by_name = {m.scenario.name: m for m in measurements}
    same, differ = by_name.get("proxy-same-1k"), by_name.get("proxy-differ-1k")
    bare = by_name.get("bare-same-1k")
    lines = []
    if same:
        verdict = "met" if same.rps >= TARGET_RPS else "NOT met"
        lines.append(
            f"- identical 1 KB through shadow-proxy: {same.rps:,.0f} req/s (target >= 2,500): {verdict}"
        )
    if same and bare:
        lines.append(
            f"- shadow-proxy reaches {same.rps / bare.rps:.0%} of the bare mirror's {bare.rps:,.0f} req/s "
            "in this run (the issue's 2,500 target is 88% of the ~2,850 it quotes for such a mirror)"
        )
    if same and differ:
        cost = 1 - differ.rps / same.rps
        verdict = "met" if cost <= TARGET_DIFFER_COST else "NOT met"
        lines.append(
            f"- differing 1 KB costs {cost:.0%} of the identical throughput "
            f"({differ.rps:,.0f} vs {same.rps:,.0f} req/s; target <= 20%): {verdict}"
        )
    return lines


def _raw_runs(measurements: list[Measurement]) -> list[str]:
    lines = ["| scenario | " + " | ".join(f"round {i + 1}" for i in range(len(measurements[0].runs))) + " |"]
    lines.append("|---|" + "---:|" * len(measurements[0].runs))
    for m in measurements:
        cells = " | ".join(f"{run.requests_per_second:,.0f}" for run in m.runs)
        lines.append(f"| {m.scenario.name} | {cells} |")
    return lines


def render_markdown(measurements: list[Measurement], facts: RunFacts) -> str:
    """The proxy section of bench/RESULTS.md (`python -m bench.run`)."""
    s = facts.settings
    parts = [
        "## Proxy throughput and latency (`python -m bench.run`)",
        "",
        f"Measured {facts.date} with `{facts.command}` (commit {facts.commit}).",
        "",
        f"- machine: {facts.nproc} cores ({facts.cpu}), Python {facts.python}, {facts.nginx}, {facts.wrk}; "
        f"1-minute load average {facts.load_average[0]:.2f} before, {facts.load_average[1]:.2f} after "
        "(well above 0 before the run means other work shared the cores)",
        f"- load: `wrk -t{s.threads} -c{s.connections} -d{s.seconds}s --latency`, {facts.rounds} rounds; "
        "scenarios alternate within each round; the numbers are medians over rounds",
        "- wrk, nginx (1 worker) and shadow-proxy (one process, default production settings, SQLite store) "
        "share the same cores, so every number is lower than on separate machines; direct runs show what "
        "nginx and wrk alone reach",
        "- upstreams: nginx serves static files, legacy and candidate on two ports; the differing "
        "candidate changes a value, a type and drops a field in every item",
        "- shadow columns: the proxy's /stats counters moved by that scenario, summed over rounds; backlog: "
        "the longest wait after a run for shadow work still in flight (drained before the next run)",
        "",
        *table(measurements),
        "",
        "Targets (issue 2):",
        "",
        *(target_lines(measurements) or ["- (the target scenarios were not part of this run)"]),
        "",
        "Requests per second in each round:",
        "",
        *_raw_runs(measurements),
        "",
    ]
    return "\n".join(parts)
