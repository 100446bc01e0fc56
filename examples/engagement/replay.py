"""Replays the partner traffic mix against a base URL at a fixed rate, with a progress display.

Run: python -m examples.engagement.replay --target http://127.0.0.1:8080 --rate 50 --count 2000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

import aiohttp

from examples.engagement.dataset import MISSION_COUNT, default_dataset
from examples.engagement.traffic import PlannedRequest, TrafficPlan

TRANSPORT_ERROR = 0  # the status recorded when no response came back


@dataclass
class ReplayStats:
    """What came back: a count per status (0 for transport errors) and per request kind."""

    planned: int
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return sum(self.statuses.values())

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def summary(self) -> str:
        rate = self.done / max(self.elapsed(), 1e-9)
        statuses = " ".join(f"{s or 'err'}:{n}" for s, n in sorted(self.statuses.items()))
        return f"{self.done}/{self.planned} requests in {self.elapsed():.1f}s ({rate:.1f}/s) {statuses}"


class Progress:
    """A redrawn bar on a terminal; plain periodic lines when the output is a file or a pipe."""

    def __init__(self, stream: TextIO, interval_s: float = 2.0, width: int = 30) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.interval_s = interval_s
        self.width = width
        self.last = 0.0

    def update(self, stats: ReplayStats, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.1 if self.tty else self.interval_s):
            return
        self.last = now
        if self.tty:
            filled = int(self.width * stats.done / max(stats.planned, 1))
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r[{bar}] {stats.summary()}" + ("\n" if final else ""))
        else:
            self.stream.write(f"replay: {stats.summary()}\n")
        self.stream.flush()


async def _send(session: aiohttp.ClientSession, target: str, request: PlannedRequest) -> int:
    try:
        async with session.request(
            request.method,
            target + request.path,
            headers=dict(request.headers),
            data=request.body,
            allow_redirects=False,
        ) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return TRANSPORT_ERROR


async def replay(
    target: str,
    requests: list[PlannedRequest],
    rate: float,
    concurrency: int = 64,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> ReplayStats:
    """Send `requests` in order, the i-th at start + i/rate (open loop), at most `concurrency` in flight."""
    stats = ReplayStats(len(requests))
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def one(request: PlannedRequest) -> None:
        try:
            stats.statuses[await _send(session, target.rstrip("/"), request)] += 1
            stats.kinds[request.kind] += 1
            if progress:
                progress.update(stats)
        finally:
            gate.release()

    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = []
        for i, request in enumerate(requests):
            await asyncio.sleep(max(0.0, stats.started_at + i / rate - time.monotonic()))
            await gate.acquire()
            tasks.append(asyncio.create_task(one(request), name=f"replay-{i}"))
        await asyncio.gather(*tasks)
    if progress:
        progress.update(stats, final=True)
    return stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay the API Engagement partner traffic mix")
    parser.add_argument("--target", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--count", type=int, help="number of requests (default 500)")
    amount.add_argument("--duration", type=float, help="seconds to run (count = rate x duration)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--no-writes", action="store_true", help="leave out /r/... and /v2/activity")
    parser.add_argument("--missions", type=int, default=MISSION_COUNT, help="size of the loaded dataset")
    args = parser.parse_args(argv)
    count = int(args.rate * args.duration) if args.duration else args.count or 500
    plan = TrafficPlan(default_dataset(args.missions), args.seed, include_writes=not args.no_writes)
    requests = plan.requests(count)
    stats = asyncio.run(replay(args.target, requests, args.rate, args.concurrency, Progress(sys.stderr)))
    print(stats.summary())


if __name__ == "__main__":
    main()
