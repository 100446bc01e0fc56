"""The simple demo end to end: real upstreams and a real proxy as processes, and the report it produces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from examples.demo import main


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo-out")
    assert main(["--simple", "--requests=120", "--concurrency=8", f"--out={out}"]) == 0
    document: dict[str, Any] = json.loads((out / "report.json").read_text())
    return {route["route"]: route for route in document["routes"]}


def paths(route: dict[str, Any]) -> dict[str, str]:
    return {difference["path"]: difference["kind"] for difference in route["differences"]}


def test_item_differences_are_the_designed_ones(report: dict[str, Any]) -> None:
    assert paths(report["item"]) == {
        "$.item.price": "value",
        "$.item.stock": "type",
        "$.item.sku": "missing",
        "header:cache-control": "header",
    }


def test_search_order_and_categories_status_are_found(report: dict[str, Any]) -> None:
    assert paths(report["search"]).get("$.results") == "order"
    assert paths(report["GET /api/categories"])["status"] == "status"


def test_identical_text_endpoint_matches(report: dict[str, Any]) -> None:
    ping = report["GET /api/ping"]
    assert ping["compared"] > 0
    assert ping["matched"] == ping["compared"]


def test_writes_are_not_mirrored(report: dict[str, Any]) -> None:
    orders = report["orders"]
    assert orders["compared"] == 0
    assert orders["not_mirrored"] > 0


def test_every_read_was_compared(report: dict[str, Any]) -> None:
    compared = sum(route["compared"] for route in report.values())
    assert compared == 120 - sum(route["not_mirrored"] for route in report.values())
