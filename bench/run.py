"""`make bench`: nginx as a static upstream pair, wrk alternating direct and shadow-proxy scenarios."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import wrk
from bench.nginx import StaticPair, prepare
from bench.payloads import PAYLOADS
from bench.results import Measurement, RunFacts, render_markdown, table, target_lines
from bench.results_file import update_section
from bench.scenarios import SCENARIOS, Scenario, Via, select
from examples.simple.admin import fetch_totals, wait_until_idle
from examples.simple.harness import ProxyEndpoints, start_proxy
from examples.simple.processes import (
    REPO_ROOT,
    ChildGroup,
    StartupError,
    free_port,
    sigterm_exits,
    wait_until_healthy,
)

WORK_DIR = REPO_ROOT / "bench" / ".work"
INSTALL_HINT = "apt-get install -y nginx-light wrk"
SETTLE_TIMEOUT = 60.0  # seconds to let the shadow backlog drain after a run
BACKLOG_WORTH_SHOWING = 0.5  # seconds


@dataclass(frozen=True, slots=True)
class Tools:
    nginx: str
    wrk: str


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how hard to measure."""

    load: wrk.WrkSettings
    rounds: int
    warmup_seconds: int


@dataclass(frozen=True, slots=True)
class Targets:
    """The base URL each kind of scenario is sent to, and shadow-proxy's admin URL."""

    bases: dict[Via, str]
    admin: str

    def url(self, scenario: Scenario) -> str:
        return self.bases[scenario.via] + scenario.path


def find_tools() -> Tools | None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")  # not on a user's PATH
    wrk_path = shutil.which("wrk")
    if nginx and wrk_path:
        return Tools(nginx, wrk_path)
    missing = [name for name, path in (("nginx", nginx), ("wrk", wrk_path)) if not path]
    print(f"bench: missing {', '.join(missing)}. Install them (Debian/Ubuntu) with:\n  {INSTALL_HINT}")
    return None


def start_upstreams(group: ChildGroup, tools: Tools) -> StaticPair:
    pair = StaticPair(WORK_DIR, free_port(), free_port())
    prepare(pair, PAYLOADS)
    argv = [*pair.command(tools.nginx), "-e", str(WORK_DIR / "nginx-error.log")]
    nginx = group.start("nginx", argv, WORK_DIR / "nginx.log")
    for base in (pair.legacy_url, pair.candidate_url):
        wait_until_healthy(nginx, base + PAYLOADS[0].path)
    return pair


def start_shadow_proxy(group: ChildGroup, pair: StaticPair) -> ProxyEndpoints:
    """The proxy with its production defaults, legacy and candidate on the nginx pair."""
    endpoints = ProxyEndpoints.fresh(WORK_DIR)
    upstreams = {"legacy": pair.legacy_url, "candidate": pair.candidate_url}
    start_proxy(group, endpoints, upstreams, WORK_DIR / "proxy.log")
    return endpoints


def start_bare_proxy(group: ChildGroup, pair: StaticPair) -> str:
    """The reference mirror (bench.bare_proxy) on the same nginx pair; its base URL."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare_proxy", f"--legacy={pair.legacy_url}"]
    argv += [f"--candidate={pair.candidate_url}", f"--port={port}"]
    bare = group.start("bare proxy", argv, WORK_DIR / "bare-proxy.log")
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(bare, url + PAYLOADS[0].path)
    return url


def start_targets(group: ChildGroup, pair: StaticPair, scenarios: list[Scenario]) -> Targets:
    """Start what the scenarios need besides nginx: shadow-proxy, the bare mirror."""
    needed = {scenario.via for scenario in scenarios}
    bases, admin = {Via.DIRECT: pair.legacy_url}, ""
    if Via.PROXY in needed:
        endpoints = start_shadow_proxy(group, pair)
        bases[Via.PROXY], admin = endpoints.url, endpoints.admin_url
    if Via.BARE in needed:
        bases[Via.BARE] = start_bare_proxy(group, pair)
    return Targets(bases, admin)


def _counters(targets: Targets) -> dict[str, int]:
    try:
        return fetch_totals(targets.admin)
    except (OSError, ValueError):
        return {}


def measure_once(
    tools: Tools, scenario: Scenario, targets: Targets, settings: wrk.WrkSettings
) -> Measurement:
    proxied = scenario.via is Via.PROXY
    before = _counters(targets) if proxied else {}
    result = wrk.run(tools.wrk, targets.url(scenario), settings)
    # Shadow work still queued when wrk stops is drained: counted here, and not slowing the next run.
    backlog = wait_until_idle(targets.admin, SETTLE_TIMEOUT) if proxied else 0.0
    after = _counters(targets) if proxied else {}
    moved = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    print(
        f"  {scenario.name:<16} {result.requests_per_second:>9,.0f} req/s   p50 {result.p50_ms:6.2f} ms   "
        f"p99 {result.p99_ms:7.2f} ms   errors {result.errors}"
        + (f"   shadow backlog drained in {backlog:.1f} s" if backlog >= BACKLOG_WORTH_SHOWING else ""),
        flush=True,
    )
    return Measurement(scenario, (result,), moved, backlog)


def _merge(earlier: Measurement | None, latest: Measurement) -> Measurement:
    if earlier is None:
        return latest
    shadow = {k: earlier.shadow.get(k, 0) + latest.shadow.get(k, 0) for k in earlier.shadow | latest.shadow}
    backlog = max(earlier.backlog_seconds, latest.backlog_seconds)
    return Measurement(latest.scenario, earlier.runs + latest.runs, shadow, backlog)


def measure(
    tools: Tools, scenarios: list[Scenario], targets: Targets, settings: wrk.WrkSettings, rounds: int
) -> list[Measurement]:
    """Every scenario once per round, alternating, so drift over time hits all of them alike."""
    merged: dict[str, Measurement] = {}
    for round_number in range(1, rounds + 1):
        print(f"round {round_number}/{rounds}", flush=True)
        for scenario in scenarios:
            merged[scenario.name] = _merge(
                merged.get(scenario.name), measure_once(tools, scenario, targets, settings)
            )
    return [merged[s.name] for s in scenarios]


def warm_up(tools: Tools, scenarios: list[Scenario], targets: Targets, seconds: int) -> None:
    settings = wrk.WrkSettings(threads=1, connections=8, seconds=seconds)
    for scenario in scenarios if seconds > 0 else ():
        wrk.run(tools.wrk, targets.url(scenario), settings)


def _first_line(argv: list[str]) -> str:
    try:
        output = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    text = (output.stdout or output.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def run_facts(tools: Tools, plan: Plan, argv: Sequence[str], load_before: float) -> RunFacts:
    commit = _first_line(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"])
    return RunFacts(
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=shlex.join(["python", "-m", "bench.run", *argv]),
        nproc=os.cpu_count() or 0,
        load_average=(load_before, os.getloadavg()[0]),
        cpu=_cpu_model(),
        python=platform.python_version(),
        nginx=_first_line([tools.nginx, "-v"]).replace("nginx version: ", ""),
        wrk=_first_line([tools.wrk, "--version"]).split(" [")[0],
        commit=commit,
        settings=plan.load,
        rounds=plan.rounds,
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: 2 cores are shared)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per target (default 2)")
    parser.add_argument("--scenario", action="append", metavar="NAME", help="only this scenario (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "RESULTS.md", help="results file")
    return parser.parse_args(argv)


def run_benchmark(tools: Tools, scenarios: list[Scenario], plan: Plan) -> list[Measurement]:
    """Start nginx and the proxy, warm up, measure each round; all that was started is stopped at the end."""
    with sigterm_exits(), ChildGroup() as group:
        pair = start_upstreams(group, tools)
        targets = start_targets(group, pair, scenarios)
        print(f"nginx: legacy {pair.legacy_url}, candidate {pair.candidate_url}")
        for via, base in targets.bases.items():
            print(f"{via.value}: {base}")
        print(f"{len(scenarios)} scenarios x {plan.rounds} rounds x {plan.load.seconds} s", flush=True)
        warm_up(tools, scenarios, targets, plan.warmup_seconds)
        return measure(tools, scenarios, targets, plan.load, plan.rounds)


def list_scenarios() -> None:
    for s in SCENARIOS:
        print(f"{s.name:<16} {s.title}{'' if s.default else '   (not in the default run)'}")


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(given)
    if args.list:
        list_scenarios()
        return 0
    tools = find_tools()
    if tools is None:
        return 2
    try:
        scenarios = select(args.scenario)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    plan = Plan(wrk.WrkSettings(args.threads, args.connections, args.duration), args.rounds, args.warmup)
    load_before = os.getloadavg()[0]
    try:
        measurements = run_benchmark(tools, scenarios, plan)
    except (StartupError, wrk.WrkError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print("\n" + "\n".join([*table(measurements), "", *target_lines(measurements)]))
    facts = run_facts(tools, plan, given, load_before)
    update_section(args.out, "proxy", render_markdown(measurements, facts))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
