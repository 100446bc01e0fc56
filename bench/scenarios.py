"""What the benchmark measures: each scenario is one wrk target, direct to legacy or through shadow-proxy."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Via(enum.StrEnum):
    DIRECT = "direct"  # wrk -> nginx (legacy)
    PROXY = "proxy"  # wrk -> shadow-proxy -> nginx legacy, mirrored to nginx candidate
    BARE = "bare"  # wrk -> bench.bare_proxy (forward + fire-and-forget mirror, no comparison): the reference


@dataclass(frozen=True, slots=True)
class Scenario:
    """One measured configuration; `baseline` names the direct scenario its ratios are taken against."""

    name: str
    via: Via
    path: str  # a path from bench.payloads.PAYLOADS
    title: str
    baseline: str | None = None
    default: bool = True  # part of a plain `make bench` run


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("direct-1k", Via.DIRECT, "/same-1k.json", "direct to legacy, 1 KB JSON"),
    Scenario("direct-50k", Via.DIRECT, "/same-50k.json", "direct to legacy, 50 KB JSON"),
    Scenario("bare-same-1k", Via.BARE, "/same-1k.json", "bare mirror (reference), 1 KB", "direct-1k"),
    Scenario("proxy-same-1k", Via.PROXY, "/same-1k.json", "shadow-proxy, identical 1 KB", "direct-1k"),
    Scenario("proxy-same-50k", Via.PROXY, "/same-50k.json", "shadow-proxy, identical 50 KB", "direct-50k"),
    Scenario("proxy-differ-1k", Via.PROXY, "/differ-1k.json", "shadow-proxy, differing 1 KB", "direct-1k"),
    # Not in the default run: the check that large differing bodies are compared off the event loop.
    Scenario("direct-1m", Via.DIRECT, "/differ-1m.json", "direct to legacy, 1 MB JSON", default=False),
    Scenario(
        "proxy-differ-1m", Via.PROXY, "/differ-1m.json", "shadow-proxy, differing 1 MB", "direct-1m", False
    ),
)

BY_NAME: dict[str, Scenario] = {scenario.name: scenario for scenario in SCENARIOS}


def select(names: list[str] | None) -> list[Scenario]:
    """The named scenarios plus the baselines they need, in table order; the default set when none named."""
    if not names:
        return [s for s in SCENARIOS if s.default]
    unknown = sorted(set(names) - BY_NAME.keys())
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    wanted = set(names) | {BY_NAME[n].baseline for n in names if BY_NAME[n].baseline}
    return [s for s in SCENARIOS if s.name in wanted]
