"""The sample upstreams answer, and differ from each other exactly as designed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from examples.simple.candidate import CANDIDATE
from examples.simple.catalog import ITEM_COUNT, find_item
from examples.simple.legacy import LEGACY
from examples.simple.service import Flavor, build_app, render_item

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
Pair = tuple[TestClient[Any, Any], TestClient[Any, Any]]


@pytest.fixture
async def pair(aiohttp_client: ClientMaker) -> Pair:
    return await aiohttp_client(build_app(LEGACY)), await aiohttp_client(build_app(CANDIDATE))


async def get_both(pair: Pair, path: str) -> tuple[ClientResponse, ClientResponse]:
    legacy, candidate = pair
    return await legacy.get(path), await candidate.get(path)


def differing_keys(legacy: dict[str, Any], candidate: dict[str, Any]) -> set[str]:
    keys = legacy.keys() | candidate.keys()
    return {key for key in keys if legacy.get(key, "<absent>") != candidate.get(key, "<absent>")}


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [
        (1, set()),
        (2, set()),
        (3, {"sku"}),
        (5, {"stock"}),
        (7, {"price"}),
        (15, {"sku", "stock"}),
        (21, {"sku", "price"}),
        (35, {"stock", "price"}),
    ],
)
def test_rendered_items_differ_only_in_the_designed_fields(item_id: int, expected: set[str]) -> None:
    item = find_item(item_id)
    assert item is not None
    assert differing_keys(render_item(item, LEGACY), render_item(item, CANDIDATE)) == expected


@pytest.mark.parametrize(
    ("flavor_change", "field", "legacy_value", "candidate_value"),
    [
        ({"rounds_price_every": 7}, "price", 12.08, 12.0),
        ({"stock_as_string_every": 7}, "stock", 3, "3"),
        ({"omits_sku_every": 7}, "sku", "SKU-00007", None),
    ],
)
def test_each_flavor_field_changes_one_thing(
    flavor_change: dict[str, Any], field: str, legacy_value: Any, candidate_value: Any
) -> None:
    item = find_item(7)
    assert item is not None
    changed = render_item(item, Flavor(name="changed", **flavor_change))
    assert render_item(item, LEGACY)[field] == legacy_value
    assert changed.get(field) == candidate_value


async def test_item_endpoint_serves_the_rendered_documents(pair: Pair) -> None:
    legacy, candidate = await get_both(pair, "/api/items/15")
    assert (legacy.status, candidate.status) == (200, 200)
    legacy_item, candidate_item = (await legacy.json())["item"], (await candidate.json())["item"]
    assert legacy_item["stock"] == 13 and candidate_item["stock"] == "13"
    assert "sku" in legacy_item and "sku" not in candidate_item
    cache_control = (legacy.headers["Cache-Control"], candidate.headers["Cache-Control"])
    assert cache_control == ("max-age=60", "max-age=300")


async def test_identical_items_are_byte_identical(pair: Pair) -> None:
    legacy, candidate = await get_both(pair, "/api/items/1")
    assert await legacy.read() == await candidate.read()


@pytest.mark.parametrize("path", ["/api/items/999", "/api/items/abc"])
async def test_unknown_items_are_404_on_both(pair: Pair, path: str) -> None:
    legacy, candidate = await get_both(pair, path)
    assert (legacy.status, candidate.status) == (404, 404)
    assert await legacy.read() == await candidate.read()


async def test_search_returns_the_same_results_in_another_order(pair: Pair) -> None:
    legacy, candidate = await get_both(pair, "/api/search?q=bolt")
    legacy_ids = [r["id"] for r in (await legacy.json())["results"]]
    candidate_ids = [r["id"] for r in (await candidate.json())["results"]]
    assert legacy_ids == [2, 12, 22, 32]
    assert candidate_ids == [12, 2, 22, 32]


async def test_single_result_search_matches(pair: Pair) -> None:
    legacy, candidate = await get_both(pair, "/api/search?q=funnel%2016")
    assert (await legacy.json())["total"] == 1
    assert await legacy.read() == await candidate.read()


def test_only_the_candidate_search_is_slower() -> None:
    assert LEGACY.search_delay == 0 < CANDIDATE.search_delay


async def test_categories_status_differs(pair: Pair) -> None:
    legacy, candidate = await get_both(pair, "/api/categories")
    assert (legacy.status, candidate.status) == (200, 404)


async def test_item_pages_cover_the_catalog(pair: Pair) -> None:
    legacy_client, _ = pair
    seen: list[int] = []
    for page in range(1, ITEM_COUNT // 10 + 2):
        response = await legacy_client.get("/api/items", params={"page": str(page)})
        seen += [item["id"] for item in (await response.json())["items"]]
    assert seen == list(range(1, ITEM_COUNT + 1))


async def test_ping_is_identical_plain_text(pair: Pair) -> None:
    legacy, candidate = await get_both(pair, "/api/ping")
    assert legacy.headers["Content-Type"].startswith("text/plain")
    assert await legacy.read() == await candidate.read() == b"pong\n"


@pytest.mark.parametrize(
    ("order", "status"),
    [
        ({"item_id": 3, "quantity": 2}, 201),
        ({"item_id": 3, "quantity": 0}, 400),
        ({"item_id": 999, "quantity": 1}, 404),
        ({"item": 3}, 400),
    ],
)
async def test_orders_are_answered_the_same_by_both(pair: Pair, order: dict[str, Any], status: int) -> None:
    bodies = []
    for client in pair:
        response = await client.post("/api/orders", json=order)
        assert response.status == status
        bodies.append(await response.read())
    assert bodies[0] == bodies[1]


async def test_answers_are_deterministic(pair: Pair) -> None:
    legacy, _ = pair
    first = await (await legacy.get("/api/items?page=2")).read()
    second = await (await legacy.get("/api/items?page=2")).read()
    assert first == second
