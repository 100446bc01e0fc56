"""Increments not yet written: summed in memory per (route, minute), taken as a Batch, restored on failure."""

from __future__ import annotations

import bisect
import collections
from dataclasses import dataclass, field

from proxy.store.base import (
    LATENCY_BOUNDS_MS,
    Batch,
    DifferenceCount,
    Example,
    Latency,
    RouteMinute,
    RuleCount,
    Signature,
    SignatureCount,
)


@dataclass
class _LatencySum:
    sum_ms: float = 0.0
    count: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))

    def add(self, ms: float, n: int = 1) -> None:
        self.sum_ms += ms * n
        self.count += n
        self.buckets[bisect.bisect_left(LATENCY_BOUNDS_MS, ms)] += n

    def merge(self, latency: Latency) -> None:
        self.sum_ms += latency.sum_ms
        self.count += latency.count
        for index, n in enumerate(latency.buckets):
            self.buckets[index] += n

    def frozen(self) -> Latency:
        return Latency(self.sum_ms, self.count, tuple(self.buckets))


@dataclass
class _Minute:
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    latency: dict[str, _LatencySum] = field(
        default_factory=lambda: {"legacy": _LatencySum(), "candidate": _LatencySum()}
    )

    def frozen(self, route: str, minute: int) -> RouteMinute:
        legacy, candidate = self.latency["legacy"].frozen(), self.latency["candidate"].frozen()
        return RouteMinute(route, minute, dict(self.counts), legacy, candidate)


@dataclass
class _SignatureHour:
    route: str
    paths: Signature
    count: int
    first_seen: float
    last_seen: float


class Pending:
    """Everything counted since the last successful write; several replicas' increments add up in SQL."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._minutes: dict[tuple[str, int], _Minute] = {}
        self._diffs: collections.Counter[tuple[str, int, str, str, str]] = collections.Counter()
        self._rules: dict[tuple[str, int, str], list[int]] = {}
        self._signatures: dict[tuple[str, int], _SignatureHour] = {}

    def __len__(self) -> int:
        return len(self._minutes) + len(self._diffs) + len(self._rules) + len(self._signatures)

    def _minute(self, route: str, minute: int) -> _Minute:
        key = (route, minute)
        found = self._minutes.get(key)
        if found is None:
            found = self._minutes[key] = _Minute()
        return found

    def count(self, route: str, minute: int, name: str, n: int = 1) -> None:
        self._minute(route, minute).counts[name] += n

    def latency(self, route: str, minute: int, side: str, ms: float) -> None:
        self._minute(route, minute).latency[side].add(ms)

    def difference(self, route: str, minute: int, origin: str, path: str, kind: str, n: int = 1) -> None:
        self._diffs[(route, minute, origin, path, kind)] += n

    def rule(self, route: str, minute: int, rule: str, hits: int = 0, ignored: int = 0) -> None:
        totals = self._rules.setdefault((route, minute, rule), [0, 0])
        totals[0] += hits
        totals[1] += ignored

    def signature(
        self,
        signature: str,
        route: str,
        paths: Signature,
        hour: int,
        seen: float,
        n: int = 1,
        last: float = 0,
    ) -> None:
        found = self._signatures.get((signature, hour))
        if found is None:
            self._signatures[(signature, hour)] = _SignatureHour(route, paths, n, seen, max(seen, last))
            return
        found.count += n
        found.first_seen = min(found.first_seen, seen)
        found.last_seen = max(found.last_seen, seen, last)

    def take(self, instance_id: str, examples: tuple[Example, ...] = ()) -> Batch:
        """Everything pending as one Batch (with the given examples); pending is empty afterwards."""
        batch = Batch(
            instance_id=instance_id,
            route_minutes=tuple(m.frozen(route, minute) for (route, minute), m in self._minutes.items()),
            differences=tuple(DifferenceCount(*key, n) for key, n in self._diffs.items()),
            rules=tuple(RuleCount(*key, hits, ignored) for key, (hits, ignored) in self._rules.items()),
            signatures=tuple(
                SignatureCount(sig, s.route, s.paths, hour, s.count, s.first_seen, s.last_seen)
                for (sig, hour), s in self._signatures.items()
            ),
            examples=examples,
        )
        self._clear()
        return batch

    def restore(self, batch: Batch) -> None:
        """Add a batch that could not be written back in (its examples are the caller's business)."""
        for row in batch.route_minutes:
            minute = self._minute(row.route, row.minute)
            minute.counts.update(row.counts)
            minute.latency["legacy"].merge(row.legacy)
            minute.latency["candidate"].merge(row.candidate)
        for d in batch.differences:
            self.difference(d.route, d.minute, d.origin, d.path, d.kind, d.count)
        for r in batch.rules:
            self.rule(r.route, r.minute, r.rule, r.hits, r.ignored)
        for s in batch.signatures:
            self.signature(s.signature, s.route, s.paths, s.hour, s.first_seen, s.count, s.last_seen)
