"""Crafted histories for readiness tests, written as store batches relative to a fixed `NOW`."""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from comparators.compare import compare
from comparators.model import Observation
from config.loader import parse_config
from config.model import Config, StoreSettings
from proxy.recorder import StoreRecorder
from proxy.records import Exchange, RequestInfo
from proxy.redact import Redactor
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
from proxy.store.cutover import CutoverCount, ModeRequest
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


ModeChange = tuple[float, str, str, str, str, dict[str, Any]]  # ago, from, to, actor, reason, details

# --- A small, realistic store: the HTML report and the dashboard are checked on it. ---------------------

DEMO_CONFIG: dict[str, Any] = {
    "upstreams": {"legacy": "http://legacy.internal", "candidate": "http://candidate.internal"},
    "cutover": {"window": "7d", "min_samples": 1000, "dead_rule_after": 100},
    "routes": [
        {"name": "GET /items/{id}", "path": "/items/{id}"},
        {
            "name": "GET /search",
            "path": "/search",
            "fallback": "legacy",
            "compare": [
                {"op": "ignore", "paths": ["$.took_ms"], "reason": "timing differs by design"},
                {"op": "ignore", "paths": ["$.debug"], "reason": "legacy once had a debug block"},
            ],
        },
        {"name": "GET /health", "path": "/health", "cutover": {"min_samples": 10}},
        {"name": "POST /orders", "path": "/orders", "methods": ["POST"]},  # writes, not mirrored
        {"name": "GET /export", "path": "/export", "mode": "legacy"},
    ],
}
# GET /search's live mode: alice hands it to the candidate, the automatic rollback takes it back, she retries.
MODE_CHANGES: tuple[ModeChange, ...] = (
    (5 * HOUR, "shadow", "candidate_primary", "alice", "pilot: the candidate serves search", {}),
    (
        4 * HOUR,
        "candidate_primary",
        "shadow",
        "auto-rollback",
        "candidate error rate 8.0% (4 of 50) over 5m exceeds 5.0%",
        {"candidate_failures": 4, "served": 50},
    ),
    (2 * HOUR, "shadow", "candidate_primary", "alice", "timeouts fixed (INC-42); retry", {}),
)
SEARCH_SERVING = {"served": 120, "candidate_failures": 6, "fallbacks": 5}
LEGACY_SEARCH = {"took_ms": 12, "hits": [{"id": "a1", "score": 0.93, "title": "Desk <lamp>"}], "total": 1}
CANDIDATE_SEARCH = {"took_ms": 31, "hits": [{"id": "a1", "score": 0.91, "title": "Desk <lamp>"}], "total": 1}


def demo_config() -> Config:
    return parse_config(DEMO_CONFIG, source="demo")


def _search_exchange(config: Config, at: float, n: int) -> Exchange:
    spec = next(r.compare for r in config.routes if r.name == "GET /search")
    headers = (("content-type", "application/json"),)
    legacy = Observation(200, headers, json.dumps(LEGACY_SEARCH).encode(), elapsed_ms=18.0)
    candidate = Observation(200, headers, json.dumps(CANDIDATE_SEARCH).encode(), elapsed_ms=60.0)
    info = RequestInfo(
        "GET", f"/search?q=lamp&page={n}", (("accept", "application/json"),), b"", f"req-{n}", at
    )
    return Exchange("GET /search", info, legacy, candidate, compare(spec, legacy, candidate))


async def seed_demo(url: str) -> Config:
    """Items: a clean week (READY). Search: real divergences with examples (NOT_READY), in candidate_primary
    since a rollback and a retry. Health: silent (not covered). Orders, export: not shadowed by design."""
    config = demo_config()
    history = History()
    for hour in range(1, 49):
        history.traffic(hour * HOUR, 30, route="GET /items/{id}", legacy_ms=30.0, candidate_ms=35.0)
        history.traffic(hour * HOUR + 60, 10, route="GET /search", legacy_ms=18.0, candidate_ms=60.0)
    await write_histories(url, history)
    recorder = StoreRecorder(open_store(url), StoreSettings(flush_interval=3600), Redactor(), "replica-b")
    await recorder.start()
    for n in range(6):
        recorder.record(_search_exchange(config, NOW - (n + 1) * 600, n))
    await recorder.close()
    await switch_modes(url, "GET /search", MODE_CHANGES)
    await add_serving(url, "GET /search", 3 * HOUR, SEARCH_SERVING)
    return config


async def switch_modes(
    url: str, route: str, changes: Iterable[ModeChange], configured: str = "shadow"
) -> None:
    """Write mode changes through the store's compare-and-set, as the proxy does (each one audited)."""
    store = open_store(url, create=False)
    try:
        for ago, before, after, actor, reason, details in changes:
            request = ModeRequest(
                route, after, actor, reason, "replica-a", NOW - ago, before, configured, before, details
            )
            result = await store.set_mode(request)
            assert result.changed, (route, before, after)
    finally:
        await store.close()


async def add_serving(url: str, route: str, ago: float, counts: dict[str, int]) -> None:
    """Client-path counters (served, candidate_failures, fallbacks) in the minute `ago` seconds back."""
    store = open_store(url, create=False)
    try:
        await store.add_cutover_counts([CutoverCount(route, minute_of(NOW - ago), counts)], "replica-a")
    finally:
        await store.close()
