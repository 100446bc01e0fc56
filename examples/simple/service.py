"""The sample catalog API as an aiohttp app, shaped by a Flavor that names each deliberate difference."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from examples.simple.catalog import CATEGORIES, ITEM_COUNT, ITEMS, Item, find_item, search_items

PAGE_SIZE = 10
MAX_QUANTITY = 100


@dataclass(frozen=True, slots=True)
class Flavor:
    """What one service does its own way; each field is one deliberate difference (0 / False: never)."""

    name: str
    rounds_price_every: int = 0  # items whose id is a multiple report a rounded price: changed value
    stock_as_string_every: int = 0  # ... report `stock` as "12" instead of 12: type change
    omits_sku_every: int = 0  # ... have no `sku` field: missing field
    sorts_search_by_name: bool = False  # search results in name order instead of id order: array order
    serves_categories: bool = True  # False: GET /api/categories is 404 (different status)
    search_delay: float = 0.0  # seconds added to every search: the slower endpoint
    items_cache_control: str = "max-age=60"  # Cache-Control on item responses: a header difference


FLAVOR_KEY = web.AppKey("flavor", Flavor)


def _every(step: int, item_id: int) -> bool:
    return step > 0 and item_id % step == 0


def render_item(item: Item, flavor: Flavor) -> dict[str, Any]:
    """The full JSON document for one item, as this flavor serves it."""
    doc: dict[str, Any] = {
        "id": item.id,
        "name": item.name,
        "price": item.price,
        "stock": item.stock,
        "tags": list(item.tags),
        "sku": item.sku,
        "category": item.category,
    }
    if _every(flavor.rounds_price_every, item.id):
        doc["price"] = float(round(item.price))
    if _every(flavor.stock_as_string_every, item.id):
        doc["stock"] = str(item.stock)
    if _every(flavor.omits_sku_every, item.id):
        del doc["sku"]
    return doc


def render_summary(item: Item, flavor: Flavor) -> dict[str, Any]:
    full = render_item(item, flavor)
    return {"id": full["id"], "name": full["name"], "price": full["price"]}


def _json(data: Any, status: int = 200, cache_control: str | None = None) -> web.Response:
    headers = {"Cache-Control": cache_control} if cache_control else None
    return web.json_response(data, status=status, headers=headers)


def _not_found(what: str) -> web.Response:
    return _json({"error": "not_found", "message": f"{what} not found"}, status=404)


def _bad_request(message: str) -> web.Response:
    return _json({"error": "invalid_request", "message": message}, status=400)


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="pong\n", content_type="text/plain")


async def list_items(request: web.Request) -> web.Response:
    flavor = request.app[FLAVOR_KEY]
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        return _bad_request("page must be an integer")
    if page < 1:
        return _bad_request("page must be >= 1")
    start = (page - 1) * PAGE_SIZE
    items = [render_summary(item, flavor) for item in ITEMS[start : start + PAGE_SIZE]]
    body = {"items": items, "page": page, "page_size": PAGE_SIZE, "total": ITEM_COUNT}
    return _json(body, cache_control=flavor.items_cache_control)


async def get_item(request: web.Request) -> web.Response:
    flavor = request.app[FLAVOR_KEY]
    raw_id = request.match_info["item_id"]
    item = find_item(int(raw_id)) if raw_id.isdigit() else None
    if item is None:
        return _not_found(f"item {raw_id}")
    return _json({"item": render_item(item, flavor)}, cache_control=flavor.items_cache_control)


async def search(request: web.Request) -> web.Response:
    flavor = request.app[FLAVOR_KEY]
    query = request.query.get("q", "")
    if flavor.search_delay:
        await asyncio.sleep(flavor.search_delay)
    found = search_items(query)
    if flavor.sorts_search_by_name:
        found.sort(key=lambda item: item.name)
    results = [render_summary(item, flavor) for item in found]
    return _json({"query": query, "total": len(results), "results": results})


async def categories(request: web.Request) -> web.Response:
    if not request.app[FLAVOR_KEY].serves_categories:
        return _not_found("endpoint /api/categories")
    return _json({"categories": list(CATEGORIES)})


async def create_order(request: web.Request) -> web.Response:
    try:
        order = await request.json()
        item_id, quantity = int(order["item_id"]), int(order["quantity"])
    except (ValueError, KeyError, TypeError):
        return _bad_request('expected {"item_id": int, "quantity": int}')
    item = find_item(item_id)
    if item is None:
        return _not_found(f"item {item_id}")
    if not 1 <= quantity <= MAX_QUANTITY:
        return _bad_request(f"quantity must be between 1 and {MAX_QUANTITY}")
    total = round(item.price * quantity, 2)
    order_id = f"ord-{item_id}-{quantity}"
    body = {"order": {"id": order_id, "item_id": item_id, "quantity": quantity, "total": total}}
    return _json(body, status=201)


def build_app(flavor: Flavor) -> web.Application:
    """The catalog API served the way `flavor` says."""
    app = web.Application()
    app[FLAVOR_KEY] = flavor
    app.router.add_get("/api/ping", ping)
    app.router.add_get("/api/items", list_items)
    app.router.add_get("/api/items/{item_id}", get_item)
    app.router.add_get("/api/search", search)
    app.router.add_get("/api/categories", categories)
    app.router.add_post("/api/orders", create_order)
    return app


def main(flavor: Flavor, argv: Sequence[str] | None = None) -> None:
    """Run one flavor of the service until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog=f"examples.simple.{flavor.name}", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    print(f"{flavor.name} sample service on http://{args.host}:{args.port}", flush=True)
    web.run_app(build_app(flavor), host=args.host, port=args.port, print=None, access_log=None)
