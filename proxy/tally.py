"""Counters of the candidate-serving modes: per-second buckets for rollback, per-minute rows for the store.

Only requests in `candidate_primary` and `candidate` are tallied here (never in `shadow`), so the shadow-mode
hot path does no extra work. Everything is in memory: a decision to roll back must not wait on the store.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass

from proxy.store.base import minute_of
from proxy.store.cutover import CUTOVER_COUNTERS, CutoverCount

DEFAULT_HORIZON = 3600.0  # seconds of per-second buckets kept per route (the longest rollback window)
_SERVED, _FAILURES, _FALLBACKS, _COMPARED, _DIVERGED = range(1, 6)


@dataclass(frozen=True, slots=True)
class RecentStats:
    """What one route's candidate did in a sliding window."""

    served: int = 0  # client requests the candidate was asked to answer
    candidate_failures: int = 0  # of those: transport error, timeout or 5xx
    fallbacks: int = 0  # of those failures: answered with legacy's response instead
    compared: int = 0  # comparisons with legacy while the candidate served
    diverged: int = 0

    @property
    def failure_rate(self) -> float | None:
        return self.candidate_failures / self.served if self.served else None

    @property
    def divergence_rate(self) -> float | None:
        return self.diverged / self.compared if self.compared else None


class ServeTally:
    """Per-route counters; all calls are O(1) dict and deque work, safe on the client path."""

    def __init__(self, clock: Callable[[], float] = time.time, horizon: float = DEFAULT_HORIZON) -> None:
        self._clock = clock
        self.horizon = horizon
        self._seconds: dict[str, collections.deque[list[int]]] = {}
        self._pending: dict[tuple[str, int], collections.Counter[str]] = {}
        self._totals: dict[str, collections.Counter[str]] = {}

    def served(self, route: str, *, failed: bool = False, fell_back: bool = False) -> None:
        """One client request answered (or failed) by the candidate; `fell_back`: legacy answered instead."""
        bucket = self._bucket(route)
        bucket[_SERVED] += 1
        self._count(route, "served")
        if failed:
            bucket[_FAILURES] += 1
            self._count(route, "candidate_failures")
        if fell_back:
            bucket[_FALLBACKS] += 1
            self._count(route, "fallbacks")

    def compared(self, route: str, *, diverged: bool) -> None:
        bucket = self._bucket(route)
        bucket[_COMPARED] += 1
        if diverged:
            bucket[_DIVERGED] += 1

    def recent(self, route: str, since: float) -> RecentStats:
        """Sums over the one-second buckets from the one holding `since` on (that second may straddle it)."""
        sums = [0] * 6
        first = int(since)
        for bucket in self._seconds.get(route, ()):
            if bucket[0] >= first:
                for index in range(1, 6):
                    sums[index] += bucket[index]
        return RecentStats(*sums[1:])

    def take_counts(self) -> list[CutoverCount]:
        """The per-minute increments not yet written to the store (and forget them)."""
        pending, self._pending = self._pending, {}
        return [CutoverCount(route, minute, dict(counts)) for (route, minute), counts in pending.items()]

    def give_back(self, counts: list[CutoverCount]) -> None:
        """Increments whose write failed: keep them for the next attempt."""
        for row in counts:
            pending = self._pending.setdefault((row.route, row.minute), collections.Counter())
            pending.update({name: n for name, n in row.counts.items() if name in CUTOVER_COUNTERS})

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Totals since start per route (this replica), for the admin API."""
        return {route: dict(counts) for route, counts in sorted(self._totals.items())}

    def _count(self, route: str, name: str) -> None:
        key = (route, minute_of(self._clock()))
        self._pending.setdefault(key, collections.Counter())[name] += 1
        self._totals.setdefault(route, collections.Counter())[name] += 1

    def _bucket(self, route: str) -> list[int]:
        second = int(self._clock())
        buckets = self._seconds.get(route)
        if buckets is None:
            buckets = self._seconds[route] = collections.deque()
        if buckets and buckets[-1][0] == second:
            return buckets[-1]
        while buckets and buckets[0][0] < second - self.horizon:
            buckets.popleft()
        bucket = [second, 0, 0, 0, 0, 0]
        buckets.append(bucket)
        return bucket
