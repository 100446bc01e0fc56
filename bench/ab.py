"""A/B of shadow-proxy builds on bench scenarios: a proxy process per variant, wrk alternating.

Run: `.venv/bin/python -m bench.ab --variant before=HEAD~1 --variant after=HEAD [--scenario NAME]...`.
A variant is `NAME=SOURCE[+OPTION]...`: SOURCE is a git revision (exported under bench/.work/ab/) or a
directory holding the project's packages; `+uvloop` installs uvloop's event loop policy before the proxy
starts, `+gcfreeze` puts everything imported by then out of the garbage collector's reach (gc.freeze).
All variants run at the same time against one nginx pair and are measured in turn, round after round, so
the machine's load drifts over all of them alike. Besides wrk's req/s and latency, each run reports the
proxy process's own CPU time per request (shadow work drained included): on a shared, loaded machine that
figure moves far less than req/s does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import wrk
from bench.nginx import StaticPair, prepare
from bench.payloads import PAYLOADS
from bench.scenarios import BY_NAME, Via
from examples.simple.admin import wait_until_idle
from examples.simple.harness import ProxyEndpoints
from examples.simple.processes import REPO_ROOT, Child, ChildGroup, free_port, wait_until_healthy

WORK_DIR = REPO_ROOT / "bench" / ".work" / "ab"
NGINX = "/usr/sbin/nginx"
SETTLE_TIMEOUT = 60.0
_TICK = os.sysconf("SC_CLK_TCK")

# Runs the proxy CLI from SOURCE (first on sys.path), with the variant's options.
_LAUNCH = """\
import sys
source, options = sys.argv[1], sys.argv[2].split(",")
del sys.argv[1:3]
sys.path.insert(0, source)
if "uvloop" in options:
    import uvloop
    uvloop.install()
from proxy.cli import main
if "gcfreeze" in options:  # what is imported by now is never traversed by the collector again
    import gc
    gc.collect()
    gc.freeze()
sys.exit(main(sys.argv[1:]))
"""
OPTIONS = frozenset({"uvloop", "gcfreeze"})


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    source: Path
    options: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, equals, spec = text.partition("=")
        if not equals or not name or not spec:
            raise ValueError(f"expected NAME=SOURCE[+OPTION]..., got {text!r}")
        source, *options = spec.split("+")
        unknown = set(options) - OPTIONS
        if unknown:
            raise ValueError(f"unknown option(s) {sorted(unknown)} in {text!r} (known: {sorted(OPTIONS)})")
        return cls(name, _source_dir(source), frozenset(options))


@dataclass(frozen=True, slots=True)
class Run:
    rate: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    errors: int


def _source_dir(source: str) -> Path:
    """A directory with the project's packages: `source` itself, or the tree of a git revision."""
    if Path(source).is_dir():
        return Path(source).resolve()
    sha = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--verify", f"{source}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = WORK_DIR / sha[:12]
    if not (target / "proxy").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", sha], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def start_variant(group: ChildGroup, variant: Variant, pair: StaticPair) -> tuple[Child, ProxyEndpoints]:
    endpoints = ProxyEndpoints.fresh(WORK_DIR / f"run-{os.getpid()}-{variant.name}")
    argv = [
        sys.executable,
        "-c",
        _LAUNCH,
        str(variant.source),
        ",".join(sorted(variant.options)),
        "serve",
        f"--legacy={pair.legacy_url}",
        f"--candidate={pair.candidate_url}",
        f"--listen=127.0.0.1:{endpoints.port}",
        f"--admin-listen=127.0.0.1:{endpoints.admin_port}",
        f"--store={endpoints.store_url}",
    ]
    child = group.start(f"proxy-{variant.name}", argv, endpoints.store_path.parent / "proxy.log")
    wait_until_healthy(child, endpoints.admin_url + "/healthz")
    return child, endpoints


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)


def measure(child: Child, endpoints: ProxyEndpoints, url: str, settings: wrk.WrkSettings) -> Run:
    before = cpu_seconds(child.process.pid)
    result = wrk.run("wrk", url, settings)
    wait_until_idle(endpoints.admin_url, SETTLE_TIMEOUT)
    spent = cpu_seconds(child.process.pid) - before
    per_request = spent / max(result.requests, 1) * 1e6
    return Run(result.requests_per_second, result.p50_ms, result.p99_ms, per_request, result.errors)


def report(runs: dict[tuple[str, str], list[Run]], variants: list[str], scenarios: list[str]) -> None:
    """Medians per (scenario, variant), with ratios to the first variant and to the first scenario."""

    def median(key: tuple[str, str], field: str) -> float:
        return float(statistics.median(getattr(r, field) for r in runs[key]))

    print(f"\n{'scenario':<16} {'variant':<12} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10}")
    for scenario in scenarios:
        for variant in variants:
            key = (variant, scenario)
            rate, cpu = median(key, "rate"), median(key, "cpu_us_per_request")
            notes = []
            if variant != variants[0]:
                first = (variants[0], scenario)
                notes.append(
                    f"vs {variants[0]}: req/s x{rate / median(first, 'rate'):.3f}, "
                    f"CPU x{cpu / median(first, 'cpu_us_per_request'):.3f}"
                )
            if scenario != scenarios[0]:
                first = (variant, scenarios[0])
                notes.append(f"vs {scenarios[0]}: req/s x{rate / median(first, 'rate'):.3f}")
            errors = sum(r.errors for r in runs[key])
            notes += [f"{errors} errors"] if errors else []
            print(
                f"{scenario:<16} {variant:<12} {rate:>8,.0f} {median(key, 'p50_ms'):>7.2f} "
                f"{median(key, 'p99_ms'):>7.2f} {cpu:>10.0f}  {'; '.join(notes)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", required=True, metavar="NAME=SOURCE[+OPTION]")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[n for n in BY_NAME if BY_NAME[n].via is Via.PROXY],
        help="repeatable (default proxy-differ-1k); each variant runs each scenario in every round",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    variants = [Variant.parse(text) for text in args.variant]
    scenarios = [BY_NAME[name] for name in args.scenario or ["proxy-differ-1k"]]
    settings = wrk.WrkSettings(1, args.connections, args.duration)
    with ChildGroup() as group:
        pair = StaticPair(WORK_DIR / f"nginx-{os.getpid()}", free_port(), free_port())
        prepare(pair, PAYLOADS)
        nginx = group.start(
            "nginx", [*pair.command(NGINX), "-e", str(pair.work_dir / "error.log")], pair.work_dir / "log"
        )
        wait_until_healthy(nginx, pair.candidate_url + PAYLOADS[0].path)
        proxies = {v.name: start_variant(group, v, pair) for v in variants}
        for _, endpoints in proxies.values():  # warm up
            for scenario in scenarios:
                wrk.run("wrk", endpoints.url + scenario.path, wrk.WrkSettings(1, 8, 2))
        order = [(v.name, s.name) for s in scenarios for v in variants]
        runs: dict[tuple[str, str], list[Run]] = {key: [] for key in order}
        for round_number in range(args.rounds):
            shift = round_number % len(order)  # each takes every place in the order, so drift hits all alike
            for name, scenario_name in order[shift:] + order[:shift]:
                child, endpoints = proxies[name]
                run = measure(child, endpoints, endpoints.url + BY_NAME[scenario_name].path, settings)
                runs[(name, scenario_name)].append(run)
                print(
                    f"round {round_number + 1} {scenario_name:<16} {name:<12} {run.rate:>8,.0f} req/s  "
                    f"p99 {run.p99_ms:6.2f} ms  CPU {run.cpu_us_per_request:5.0f} us/req",
                    flush=True,
                )
        report(runs, [v.name for v in variants], [s.name for s in scenarios])


if __name__ == "__main__":
    main()
