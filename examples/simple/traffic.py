"""Demo traffic: a fixed mix of catalog API requests, sent concurrently through the proxy."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from examples.simple.catalog import ITEM_COUNT
from examples.simple.service import PAGE_SIZE

MIRRORED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    method: str
    path: str
    json: Any = None


@dataclass(frozen=True, slots=True)
class TrafficResult:
    """What the clients saw: answers by status, transport failures, elapsed seconds."""

    statuses: dict[int, int]
    failures: dict[str, int]
    seconds: float

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    def describe(self) -> str:
        by_status = ", ".join(f"{status} x {n}" for status, n in sorted(self.statuses.items()))
        text = f"{self.answered} answered in {self.seconds:.1f} s ({by_status})"
        if self.failures:
            text += "; failed: " + ", ".join(f"{kind} x {n}" for kind, n in sorted(self.failures.items()))
        return text


def _catalog_mix() -> list[PlannedRequest]:
    """One round of the mix: every item, the pages, a few searches, the odd endpoints and two orders."""
    items = [PlannedRequest("GET", f"/api/items/{n}") for n in range(1, ITEM_COUNT + 1)]
    pages = [PlannedRequest("GET", f"/api/items?page={p}") for p in range(1, ITEM_COUNT // PAGE_SIZE + 1)]
    searches = [PlannedRequest("GET", f"/api/search?q={q}") for q in ("bolt", "steel", "funnel%2016", "zzz")]
    others = [
        PlannedRequest("GET", "/api/items/999"),
        PlannedRequest("GET", "/api/categories"),
        PlannedRequest("GET", "/api/ping"),
        PlannedRequest("POST", "/api/orders", {"item_id": 3, "quantity": 2}),
        PlannedRequest("POST", "/api/orders", {"item_id": 8, "quantity": 1}),
    ]
    return [*items, *pages, *searches, *others]


def catalog_plan(total: int) -> list[PlannedRequest]:
    """`total` requests cycling through the mix in an interleaved, fixed order."""
    mix = _catalog_mix()
    stride = 7  # coprime with the mix length, so consecutive requests hit different endpoints
    while len(mix) % stride == 0:
        stride += 1
    return [mix[(i * stride) % len(mix)] for i in range(total)]


def mirrored_count(plan: list[PlannedRequest]) -> int:
    """How many of the planned requests the proxy mirrors by default (safe methods only)."""
    return sum(1 for request in plan if request.method in MIRRORED_METHODS)


@dataclass
class _Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)


async def _worker(
    session: aiohttp.ClientSession, base_url: str, queue: asyncio.Queue[PlannedRequest], tally: _Tally
) -> None:
    while not queue.empty():
        request = queue.get_nowait()
        try:
            async with session.request(
                request.method, base_url + request.path, json=request.json
            ) as response:
                await response.read()
                tally.statuses[response.status] += 1
        except (TimeoutError, aiohttp.ClientError) as exc:
            tally.failures[type(exc).__name__] += 1


async def drive(base_url: str, plan: list[PlannedRequest], concurrency: int) -> TrafficResult:
    """Send every planned request to `base_url` with `concurrency` clients in parallel."""
    queue: asyncio.Queue[PlannedRequest] = asyncio.Queue()
    for request in plan:
        queue.put_nowait(request)
    tally = _Tally()
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        workers = [_worker(session, base_url, queue, tally) for _ in range(concurrency)]
        await asyncio.gather(*workers)
    return TrafficResult(dict(tally.statuses), dict(tally.failures), time.monotonic() - started)
