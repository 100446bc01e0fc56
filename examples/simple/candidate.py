"""The candidate sample service: the rewrite, with deliberate differences (`... candidate --port P`)."""

from __future__ import annotations

from examples.simple.service import Flavor, main

CANDIDATE = Flavor(
    name="candidate",
    rounds_price_every=7,
    stock_as_string_every=5,
    omits_sku_every=3,
    sorts_search_by_name=True,
    serves_categories=False,
    search_delay=0.02,
    items_cache_control="max-age=300",
)

# What the demo's report should show, in words a reader can match against it.
DELIBERATE_DIFFERENCES: tuple[str, ...] = (
    "items 7, 14, 21, ...: `price` rounded (value)",
    "items 5, 10, 15, ...: `stock` is a string (type)",
    "items 3, 6, 9, ...: no `sku` field (missing)",
    "GET /api/search: results sorted by name instead of id (order)",
    "GET /api/categories: 404 instead of 200 (status)",
    "item responses: Cache-Control max-age=300 instead of 60 (header)",
    "GET /api/search: 20 ms slower (latency, not a divergence)",
)

if __name__ == "__main__":
    main(CANDIDATE)
