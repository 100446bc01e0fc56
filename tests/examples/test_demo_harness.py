"""The demo's traffic plan and driver, and how it reads the proxy's /stats counters."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from examples.simple.admin import counter_totals, settled_count
from examples.simple.legacy import LEGACY
from examples.simple.processes import free_port
from examples.simple.service import build_app
from examples.simple.traffic import catalog_plan, drive, mirrored_count

ServerMaker = Callable[..., Awaitable[TestServer]]


def test_plan_is_deterministic_and_covers_every_endpoint() -> None:
    plan = catalog_plan(300)
    assert plan == catalog_plan(300)
    assert len(plan) == 300
    paths = {request.path.split("?")[0] for request in plan}
    assert {"/api/items", "/api/search", "/api/categories", "/api/ping", "/api/orders"} <= paths


def test_consecutive_requests_hit_different_paths() -> None:
    plan = catalog_plan(100)
    assert all(a.path != b.path for a, b in itertools.pairwise(plan))


def test_only_reads_count_as_mirrored() -> None:
    plan = catalog_plan(300)
    writes = sum(1 for request in plan if request.method == "POST")
    assert writes > 0
    assert mirrored_count(plan) == 300 - writes


async def test_drive_tallies_every_answer_by_status(aiohttp_server: ServerMaker) -> None:
    server = await aiohttp_server(build_app(LEGACY))
    plan = catalog_plan(120)
    result = await drive(str(server.make_url("")).rstrip("/"), plan, concurrency=8)
    assert result.answered == 120
    assert result.failures == {}
    assert set(result.statuses) == {200, 201, 404}


async def test_drive_counts_transport_failures() -> None:
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    result = await drive(nobody_listens, catalog_plan(3), concurrency=2)
    assert result.answered == 0
    assert sum(result.failures.values()) == 3


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({"routes": {"item": {"compared": 3, "matched": 2}, "GET /x": {"compared": 1, "dropped": 2}}}, 6),
        ({"routes": [{"route": "item", "compared": 4, "too_large": 1}]}, 5),
        ({"routes": {"item": {"compared": 2, "shadow_failures": 1}}, "shadow": {"dropped": 9}}, 3),
        ({"routes": {}}, 0),
        ({}, 0),
    ],
)
def test_settled_count_sums_closing_outcomes_over_routes(stats: Any, expected: int) -> None:
    assert settled_count(counter_totals(stats)) == expected


def test_counter_totals_ignores_flags_and_text() -> None:
    totals = counter_totals({"routes": [{"route": "a", "compared": 2, "ready": True}, {"compared": 1}]})
    assert totals == {"compared": 3}
