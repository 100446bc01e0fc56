"""Public testing helpers: an in-memory Recorder that keeps every exchange and counter it is given."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from config.model import Config
from proxy.records import VERDICT_COUNTERS, Counter, Exchange


def counters_for(exchange: Exchange) -> tuple[Counter, ...]:
    """The counters one recorded exchange implies (recording is counting; callers never count these)."""
    return VERDICT_COUNTERS[exchange.comparison.verdict]


class MemoryRecorder:
    """A real Recorder kept in memory: `record` and `count` never block and never raise."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.counters: collections.Counter[tuple[str, Counter]] = collections.Counter()
        self.degraded = False
        self.opened = False
        self.closed = False

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        for counter in counters_for(exchange):
            self.counters[(exchange.route, counter)] += 1

    def count(self, route: str, counter: Counter, n: int = 1) -> None:
        self.counters[(route, counter)] += n

    def get(self, route: str, counter: Counter) -> int:
        return self.counters[(route, counter)]

    def total(self, counter: Counter) -> int:
        """One counter summed over every route."""
        return sum(n for (_, c), n in self.counters.items() if c is counter)

    def snapshot(self) -> dict[str, Any]:
        """Counters per route, as the admin server's /stats shows them."""
        routes: dict[str, dict[str, int]] = {}
        for (route, counter), n in sorted(self.counters.items()):
            routes.setdefault(route, {})[counter.value] = n
        return {"routes": routes, "degraded": self.degraded}

    @asynccontextmanager
    async def factory(self, config: Config) -> AsyncIterator[MemoryRecorder]:
        """Use as `build_app(config, recorder_factory=recorder.factory)`; marks itself opened and closed."""
        self.opened = True
        try:
            yield self
        finally:
            self.closed = True
