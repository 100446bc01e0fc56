"""A/B of shadow-proxy builds on one bench scenario: a proxy process per variant, wrk alternating.

Run: `.venv/bin/python -m bench.ab --variant before=HEAD~1 --variant after=HEAD [--scenario proxy-differ-1k]`.
A variant is `NAME=SOURCE[+uvloop]`: SOURCE is a git revision (exported under bench/.work/ab/) or a
directory holding the project's packages; `+uvloop` installs uvloop's event loop policy before the proxy
starts. All variants run at the same time against one nginx pair and are measured in turn, round after
round, so the machine's load drifts over all of them alike. Besides wrk's req/s and latency, each run
reports the proxy process's own CPU time per request (shadow work drained included): on a shared, loaded
machine that figure moves far less than req/s does.
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

# Runs the proxy CLI from SOURCE (first on sys.path), optionally on uvloop.
_LAUNCH = """\
import sys
source, loop = sys.argv[1], sys.argv[2]
del sys.argv[1:3]
sys.path.insert(0, source)
if loop == "uvloop":
    import uvloop
    uvloop.install()
from proxy.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    source: Path
    uvloop: bool

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, equals, spec = text.partition("=")
        if not equals or not name or not spec:
            raise ValueError(f"expected NAME=SOURCE[+uvloop], got {text!r}")
        source, plus, option = spec.partition("+")
        if plus and option != "uvloop":
            raise ValueError(f"unknown option {option!r} in {text!r} (only +uvloop)")
        return cls(name, _source_dir(source), bool(plus))


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
    endpoints = ProxyEndpoints.fresh(WORK_DIR / f"run-{variant.name}")
    argv = [
        sys.executable,
        "-c",
        _LAUNCH,
        str(variant.source),
        "uvloop" if variant.uvloop else "asyncio",
        "serve",
        f"--legacy={pair.legacy_url}",
        f"--candidate={pair.candidate_url}",
        f"--listen=127.0.0.1:{endpoints.port}",
        f"--admin-listen=127.0.0.1:{endpoints.admin_port}",
        f"--store={endpoints.store_url}",
    ]
    child = group.start(f"proxy-{variant.name}", argv, WORK_DIR / f"proxy-{variant.name}.log")
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


def report(runs: dict[str, list[Run]]) -> None:
    first = next(iter(runs))
    base_rate = statistics.median(r.rate for r in runs[first])
    base_cpu = statistics.median(r.cpu_us_per_request for r in runs[first])
    print(f"\n{'variant':<14} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10}  vs {first}")
    for name, found in runs.items():
        rate = statistics.median(r.rate for r in found)
        cpu = statistics.median(r.cpu_us_per_request for r in found)
        p50 = statistics.median(r.p50_ms for r in found)
        p99 = statistics.median(r.p99_ms for r in found)
        errors = sum(r.errors for r in found)
        print(
            f"{name:<14} {rate:>8,.0f} {p50:>7.2f} {p99:>7.2f} {cpu:>10.0f}  req/s x{rate / base_rate:.3f}, "
            f"CPU x{cpu / base_cpu:.3f}" + (f"  ({errors} errors)" if errors else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", required=True, metavar="NAME=SOURCE[+uvloop]")
    parser.add_argument("--scenario", default="proxy-differ-1k", choices=[n for n in BY_NAME if "proxy" in n])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    variants = [Variant.parse(text) for text in args.variant]
    scenario = BY_NAME[args.scenario]
    assert scenario.via is Via.PROXY
    settings = wrk.WrkSettings(1, args.connections, args.duration)
    with ChildGroup() as group:
        pair = StaticPair(WORK_DIR / "nginx", free_port(), free_port())
        prepare(pair, PAYLOADS)
        nginx = group.start(
            "nginx", [*pair.command(NGINX), "-e", str(pair.work_dir / "error.log")], WORK_DIR / "nginx.log"
        )
        wait_until_healthy(nginx, pair.candidate_url + PAYLOADS[0].path)
        proxies = {v.name: start_variant(group, v, pair) for v in variants}
        for _, endpoints in proxies.values():  # warm up
            wrk.run("wrk", endpoints.url + scenario.path, wrk.WrkSettings(1, 8, 2))
        runs: dict[str, list[Run]] = {name: [] for name in proxies}
        names = list(proxies)
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                child, endpoints = proxies[name]
                run = measure(child, endpoints, endpoints.url + scenario.path, settings)
                runs[name].append(run)
                print(
                    f"round {round_number + 1} {name:<14} {run.rate:>8,.0f} req/s  p99 {run.p99_ms:6.2f} ms  "
                    f"CPU {run.cpu_us_per_request:5.0f} us/req",
                    flush=True,
                )
        report(runs)


if __name__ == "__main__":
    main()
