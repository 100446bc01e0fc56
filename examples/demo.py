"""`make demo`: start sample upstreams and shadow-proxy, drive traffic through it, print the report.

`python -m examples.demo` runs the API Engagement migration (examples/engagement/demo.py); `--simple` (or
`--scenario simple`) runs the sample catalog API below instead.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from examples.simple.admin import settled_count, wait_until_settled
from examples.simple.candidate import DELIBERATE_DIFFERENCES
from examples.simple.harness import HOST, ProxyEndpoints, shadow_proxy, start_proxy
from examples.simple.processes import (
    REPO_ROOT,
    Child,
    ChildGroup,
    StartupError,
    free_port,
    sigterm_exits,
    wait_until_healthy,
)
from examples.simple.traffic import catalog_plan, drive, mirrored_count

SIMPLE_CONFIG = REPO_ROOT / "examples" / "simple" / "shadow.toml"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    out_dir: Path
    requests: int
    concurrency: int
    settle_timeout: float  # seconds to wait for the proxy to record every comparison


def stop_proxy(proxy: Child) -> int:
    """SIGTERM: the proxy drains, flushes its store and exits."""
    return proxy.stop(timeout=30)


def print_report(store_url: str, config: Path, out_dir: Path) -> int:
    """Print the markdown report and write the JSON one; the CLI's exit code (0 when both worked)."""
    report_json = out_dir / "report.json"
    sys.stdout.flush()  # ours first, then the report the child prints
    base = ["report", f"--store={store_url}", f"--config={config}"]
    markdown = subprocess.run(shadow_proxy(*base, "--format=md"), cwd=REPO_ROOT, check=False)
    as_json = subprocess.run(
        shadow_proxy(*base, "--format=json", f"--out={report_json}"), cwd=REPO_ROOT, check=False
    )
    if as_json.returncode == 0:
        print(f"\nJSON report: {report_json}")
    return markdown.returncode or as_json.returncode


def start_sample_upstreams(group: ChildGroup, log_dir: Path) -> dict[str, str]:
    """Start the legacy and candidate sample services; their base URLs by role."""
    upstreams = {}
    for role in ("legacy", "candidate"):
        port, log = free_port(), log_dir / f"{role}.log"
        child = group.start(role, [sys.executable, "-m", f"examples.simple.{role}", f"--port={port}"], log)
        upstreams[role] = f"http://{HOST}:{port}"
        wait_until_healthy(child, upstreams[role] + "/api/ping")
        print(f"  {role:<10} {upstreams[role]}   (log {log})")
    return upstreams


def run_simple(options: DemoOptions) -> int:
    """The sample catalog API: legacy vs a candidate with known, deliberate differences."""
    out = options.out_dir
    endpoints = ProxyEndpoints.fresh(out)
    print("shadow-proxy demo: the sample catalog API (examples/simple), legacy vs candidate")
    with ChildGroup() as group:
        upstreams = start_sample_upstreams(group, out)
        proxy = start_proxy(group, endpoints, upstreams, out / "proxy.log", SIMPLE_CONFIG)
        print(f"  {'proxy':<10} {endpoints.url}   admin {endpoints.admin_url}   store {endpoints.store_url}")

        plan = catalog_plan(options.requests)
        expected = mirrored_count(plan)
        print(f"\nSending {len(plan)} requests through the proxy, {options.concurrency} at a time ...")
        result = asyncio.run(drive(endpoints.url, plan, options.concurrency))
        print(f"  {result.describe()}")
        writes = len(plan) - expected
        print(f"  {expected} reads are mirrored to the candidate; {writes} writes are not (by default)")

        settled = settled_count(wait_until_settled(endpoints.admin_url, expected, options.settle_timeout))
        print(f"  the proxy has settled {settled} of {expected} mirrored requests")
        code = stop_proxy(proxy)
        print(f"Stopped the proxy with SIGTERM: exit code {code}")
    print("\nDeliberate differences in the candidate (the report should find them):")
    for line in DELIBERATE_DIFFERENCES:
        print(f"  - {line}")
    print()
    report_code = print_report(endpoints.store_url, SIMPLE_CONFIG, out)
    failed = code != 0 or report_code != 0 or result.failures or settled < expected
    return 1 if failed else 0


SCENARIOS: dict[str, Callable[[DemoOptions], int]] = {"simple": run_simple}


def parse_args(argv: Sequence[str] | None) -> tuple[str, DemoOptions]:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="simple")
    parser.add_argument(
        "--simple", dest="scenario", action="store_const", const="simple", help="= --scenario simple"
    )
    parser.add_argument("--requests", type=int, default=300, help="requests to send (default 300)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients in parallel (default 16)")
    parser.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="output directory (default demo-out)"
    )
    parser.add_argument("--settle-timeout", type=float, default=30.0, help="seconds to wait for comparisons")
    args = parser.parse_args(argv)
    return args.scenario, DemoOptions(args.out, args.requests, args.concurrency, args.settle_timeout)


def main(argv: Sequence[str] | None = None) -> int:
    scenario, options = parse_args(argv)
    try:
        with sigterm_exits():
            return SCENARIOS[scenario](options)
    except StartupError as exc:
        sys.stdout.flush()  # keep what was printed so far ahead of the error
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("demo: interrupted; child processes stopped", file=sys.stderr)
        return 130


def dispatch(argv: Sequence[str] | None = None) -> int:
    """The engagement demo by default; the simple one when `--simple` or `--scenario` is given."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg == "--simple" or arg.startswith("--scenario") for arg in args):
        return main(args)
    from examples.engagement.demo import main as engagement_main

    return engagement_main(args)


if __name__ == "__main__":
    sys.exit(dispatch())
