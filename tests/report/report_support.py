"""Crafted histories for readiness tests, written as store batches relative to a fixed `NOW`."""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from proxy.store import open_store
from proxy.store.base import (
    LATENCY_BOUNDS_MS,
    Batch,
    DifferenceCount,
    Latency,
    RouteMinute,
    SignatureCount,
    hour_of,
    minute_of,
)
from proxy.store.examples import signature_hash

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NOW = 472_300 * 3600.0  # an hour-aligned instant, so buckets and hours are predictable
HOUR, DAY = 3600.0, 86400.0
ROUTE = "GET /items/{id}"


def with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


def latency(ms: float, n: int) -> Latency:
    buckets = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    buckets[bisect.bisect_left(LATENCY_BOUNDS_MS, ms)] = n
    return Latency(ms * n, n, tuple(buckets))


@dataclass
class History:
    """Minutes of counters, differences and divergence signatures for one or more routes and replicas."""

    instance: str = "replica-a"
    minutes: list[RouteMinute] = field(default_factory=list)
    differences: list[DifferenceCount] = field(default_factory=list)
    signatures: list[SignatureCount] = field(default_factory=list)

    def traffic(
        self,
        ago: float,
        compared: int,
        *,
        route: str = ROUTE,
        diverged: int = 0,
        candidate_errors: int = 0,
        legacy_errors: int = 0,
        legacy_ms: float = 20.0,
        candidate_ms: float = 20.0,
        **extra: int,
    ) -> History:
        """`compared` comparisons (diverged and candidate errors among them) in the minute `ago` s back."""
        counts = {
            "compared": compared,
            "matched": compared - diverged - candidate_errors,
            "diverged": diverged,
            "candidate_errors": candidate_errors,
            "legacy_errors": legacy_errors,
            **extra,
        }
        answered = compared - candidate_errors
        self.minutes.append(
            RouteMinute(
                route,
                minute_of(NOW - ago),
                counts,
                latency(legacy_ms, compared),
                latency(candidate_ms, answered),
            )
        )
        return self

    def divergence(
        self, ago: float, paths: Iterable[tuple[str, str]], count: int = 1, *, route: str = ROUTE
    ) -> History:
        """`count` divergences with one signature at `ago` (counters come from traffic(diverged=…))."""
        pairs = tuple(sorted(paths))
        at = NOW - ago
        for path, kind in pairs:
            self.differences.append(DifferenceCount(route, minute_of(at), "candidate", path, kind, count))
        signature = signature_hash(route, pairs)
        self.signatures.append(SignatureCount(signature, route, pairs, hour_of(at), count, at, at))
        return self

    def noise(self, ago: float, path: str, count: int, *, route: str = ROUTE, kind: str = "value") -> History:
        """Legacy differed from itself (legacy vs secondary) on `path`, `count` times."""
        self.differences.append(DifferenceCount(route, minute_of(NOW - ago), "noise", path, kind, count))
        return self

    def batch(self) -> Batch:
        return Batch(
            self.instance,
            route_minutes=tuple(self.minutes),
            differences=tuple(self.differences),
            signatures=tuple(self.signatures),
        )


async def write_histories(url: str, *histories: History) -> None:
    store = open_store(url)
    try:
        await store.migrate()
        for history in histories:
            await store.write(history.batch(), examples_per_hour=5)
    finally:
        await store.close()
