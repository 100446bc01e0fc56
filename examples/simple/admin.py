"""Reading shadow-proxy's admin API from a harness: /stats counters summed over all routes."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections import Counter
from typing import Any

# Outcomes that close a mirrored request (compared = matched + diverged + candidate_errors).
SETTLED_COUNTERS = ("compared", "dropped", "too_large", "shadow_failures")


def _route_entries(stats: Any) -> list[dict[str, Any]]:
    routes = stats.get("routes", {}) if isinstance(stats, dict) else {}
    entries = routes.values() if isinstance(routes, dict) else routes
    return [entry for entry in entries if isinstance(entry, dict)]


def _is_count(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def counter_totals(stats: Any) -> dict[str, int]:
    """Every numeric counter under `routes` in a /stats answer (a mapping or a list), summed over routes."""
    totals: Counter[str] = Counter()
    for entry in _route_entries(stats):
        totals.update({key: int(value) for key, value in entry.items() if _is_count(value)})
    return dict(totals)


def settled_count(totals: dict[str, int]) -> int:
    return sum(totals.get(counter, 0) for counter in SETTLED_COUNTERS)


def fetch_totals(admin_url: str) -> dict[str, int]:
    with urllib.request.urlopen(admin_url + "/stats", timeout=2) as response:
        return counter_totals(json.load(response))


def wait_until_settled(admin_url: str, expected: int, timeout: float) -> dict[str, int]:
    """Poll /stats until `expected` mirrored requests are settled or `timeout` passes; the last totals."""
    deadline = time.monotonic() + timeout
    totals: dict[str, int] = {}
    while True:
        with contextlib.suppress(OSError, ValueError):  # not answering yet: keep polling until the deadline
            totals = fetch_totals(admin_url)
        if settled_count(totals) >= expected or time.monotonic() >= deadline:
            return totals
        time.sleep(0.1)


def shadow_in_flight(admin_url: str) -> int | None:
    """Shadow requests the proxy has started and not finished, or None when /stats does not say."""
    with urllib.request.urlopen(admin_url + "/stats", timeout=2) as response:
        stats = json.load(response)
    shadow = stats.get("shadow") if isinstance(stats, dict) else None
    value = shadow.get("in_flight") if isinstance(shadow, dict) else None
    return value if isinstance(value, int) else None


def wait_until_idle(admin_url: str, timeout: float) -> float:
    """Poll /stats until no shadow work is in flight (or `timeout`); the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(OSError, ValueError):
            if not shadow_in_flight(admin_url):
                break
        time.sleep(0.05)
    return time.monotonic() - started
