"""Engagement benchmark: the partner traffic mix at a fixed rate, direct to legacy vs through shadow-proxy.

The proxy mirrors every read to the candidate and compares it under the reference rules
(config/examples/engagement.toml), so the proxy's numbers include real comparison work. Rounds alternate
direct and proxy runs over the same request sequence; the table gives medians over rounds.

Run: python -m bench.engagement [--rate 15 --duration 20 --rounds 3 --missions 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from examples.engagement.dataset import default_dataset
from examples.engagement.demo import (
    DEFAULT_DSN,
    HOST,
    Addresses,
    DataPlace,
    DemoError,
    dataset_loaded,
    ensure_postgres,
    run_config,
    start_proxy,
    start_services,
    stats,
)
from examples.engagement.mongo_server import MongoServerError, running_mongo
from examples.engagement.traffic import PlannedRequest, TrafficPlan
from examples.simple.processes import ChildGroup, StartupError, free_port, sigterm_exits

DATA_NAME = "engagement_bench"
SHADOW_COUNTERS = ("compared", "matched", "diverged", "candidate_errors", "dropped")


@dataclass(frozen=True, slots=True)
class Run:
    """One timed pass of the request sequence against one base URL."""

    via: str
    latencies_ms: tuple[float, ...]
    errors: int  # transport errors only: 4xx and 5xx answers are part of the mix
    seconds: float

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed_replay(via: str, base: str, requests: Sequence[PlannedRequest], rate: float) -> Run:
    """Open loop: the i-th request starts at start + i/rate whatever the previous ones are doing."""
    latencies: list[float] = []
    errors = 0
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def one(request: PlannedRequest) -> None:
            nonlocal errors
            sent = time.perf_counter()
            try:
                async with session.request(
                    request.method,
                    base + request.path,
                    headers=dict(request.headers),
                    data=request.body,
                    allow_redirects=False,
                ) as response:
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                return
            latencies.append((time.perf_counter() - sent) * 1000)

        started = time.perf_counter()
        tasks = []
        for i, request in enumerate(requests):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(request)))
        await asyncio.gather(*tasks)
    return Run(via, tuple(latencies), errors, time.perf_counter() - started)


def shadow_totals(admin: str) -> Counter[str]:
    routes = stats(admin).get("routes", {})
    return Counter({name: sum(int(r.get(name, 0)) for r in routes.values()) for name in SHADOW_COUNTERS})


def wait_idle(admin: str, timeout: float = 60.0) -> None:
    """Let the shadow backlog of a proxy run drain before the next (direct) run starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and stats(admin).get("shadow", {}).get("in_flight"):
        time.sleep(0.1)


@dataclass(frozen=True, slots=True)
class Settings:
    rate: float
    duration: float
    rounds: int
    missions: int
    dsn: str


def measure(settings: Settings, at: Addresses) -> tuple[list[Run], Counter[str]]:
    requests = TrafficPlan(default_dataset(settings.missions), seed=7).requests(
        int(settings.rate * settings.duration)
    )
    runs: list[Run] = []
    shadow: Counter[str] = Counter()
    asyncio.run(timed_replay("warmup", at.proxy, requests[:50], settings.rate))
    wait_idle(at.admin)
    for round_number in range(1, settings.rounds + 1):
        for via, base in (("direct", at.legacy), ("proxy", at.proxy)):
            before = shadow_totals(at.admin)
            run = asyncio.run(timed_replay(via, base, requests, settings.rate))
            wait_idle(at.admin)
            shadow += shadow_totals(at.admin) - before
            runs.append(run)
            print(f"  round {round_number} {via:<6} {describe(run)}", flush=True)
    return runs, shadow


def describe(run: Run) -> str:
    return (
        f"{len(run.latencies_ms)} requests in {run.seconds:.1f} s ({run.rps:.1f}/s), "
        f"p50 {run.quantile(0.5):.1f} ms, p99 {run.quantile(0.99):.1f} ms, errors {run.errors}"
    )


def medians(runs: list[Run], via: str) -> tuple[float, float, float]:
    """Median req/s, p50 and p99 over the rounds of one way in."""
    chosen = [r for r in runs if r.via == via]
    return (
        statistics.median(r.rps for r in chosen),
        statistics.median(r.quantile(0.5) for r in chosen),
        statistics.median(r.quantile(0.99) for r in chosen),
    )


def table(runs: list[Run], shadow: Counter[str], settings: Settings) -> str:
    lines = [
        f"Engagement mix at {settings.rate:g} req/s for {settings.duration:g} s, {settings.rounds} rounds "
        f"(medians), {settings.missions} missions, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "",
        "| via | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for via in ("direct", "proxy"):
        rps, p50, p99 = medians(runs, via)
        errors = sum(r.errors for r in runs if r.via == via)
        lines.append(f"| {via} | {rps:.1f} | {p50:.1f} | {p99:.1f} | {errors} |")
    (_, direct_p50, direct_p99), (_, proxy_p50, proxy_p99) = medians(runs, "direct"), medians(runs, "proxy")
    lines += [
        "",
        f"Added by the proxy: p50 {proxy_p50 - direct_p50:+.1f} ms, p99 {proxy_p99 - direct_p99:+.1f} ms.",
        "Shadow work during the proxy runs: " + ", ".join(f"{k} {shadow[k]}" for k in SHADOW_COUNTERS) + ".",
    ]
    return "\n".join(lines)


def run(settings: Settings) -> int:
    ensure_postgres(settings.dsn)
    with tempfile.TemporaryDirectory(prefix="bench-engagement-") as work, running_mongo() as mongo:
        out = Path(work)
        legacy, candidate, proxy, admin = (f"http://{HOST}:{free_port(HOST)}" for _ in range(4))
        at = Addresses(legacy, candidate, proxy, admin, f"sqlite:///{out / 'shadow.db'}")
        data = DataPlace(settings.dsn, DATA_NAME)
        with dataset_loaded(mongo.uri, data, settings.missions), ChildGroup() as group:
            start_services(group, at, mongo.uri, data, out)
            start_proxy(group, at, run_config(at, out), out)
            runs, shadow = measure(settings, at)
    print()
    print(table(runs, shadow, settings))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engagement", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=15.0, help="requests per second (default 15)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="direct/proxy pairs (default 3)")
    parser.add_argument("--missions", type=int, default=300, help="dataset size (default 300)")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help=f"PostgreSQL (default {DEFAULT_DSN})")
    args = parser.parse_args(argv)
    settings = Settings(args.rate, args.duration, args.rounds, args.missions, args.dsn)
    try:
        with sigterm_exits():
            return run(settings)
    except (DemoError, StartupError, MongoServerError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
