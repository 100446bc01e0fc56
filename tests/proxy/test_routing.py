"""Route attribution, table-driven: configured rules first (in order), then automatic templates."""

from __future__ import annotations

import pytest

from comparators.spec import CompareSpec
from config.model import RouteRule
from proxy.routing import MAX_AUTO_ROUTES, Router, auto_template, is_identifier

DEFAULT = CompareSpec(ignore_headers=frozenset({"date"}))
MISSION = CompareSpec(ignore_headers=frozenset({"etag"}))
RULES = (
    RouteRule(name="mission", methods=frozenset({"GET"}), path="/v0/mission/{id}", compare=MISSION),
    RouteRule(name="mission-any", methods=frozenset({"*"}), path="/v0/mission/{id}", sample_rate=0.5),
    RouteRule(name="orders", methods=frozenset({"POST", "GET"}), path="/orders", mirror_writes=True),
    RouteRule(name="nested", methods=frozenset({"GET"}), path="/a/{x}/b/{y}"),
)


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("42", True),
        ("0", True),
        ("65a1f0c2e4b0a1b2c3d4e5f6", True),
        ("65A1F0C2E4B0A1B2C3D4E5F6", True),
        ("65a1f0c2e4b0a1b2c3d4e5fz", False),
        ("65a1f0c2e4b0a1b2c3d4e5f", False),
        ("123e4567-e89b-12d3-a456-426614174000", True),
        ("123e4567-e89b-12d3-a456-42661417400g", False),
        ("mission", False),
        ("v0", False),
        ("", False),
        ("-1", False),
    ],
)
def test_identifiers(segment: str, expected: bool) -> None:
    assert is_identifier(segment) is expected


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/v0/mission/65a1f0c2e4b0a1b2c3d4e5f6", "GET /v0/mission/{id}"),
        ("GET", "/users/42/orders/7", "GET /users/{id}/orders/{id}"),
        ("DELETE", "/items/123e4567-e89b-12d3-a456-426614174000", "DELETE /items/{id}"),
        ("GET", "/", "GET /"),
        ("GET", "/v2/catalog/", "GET /v2/catalog/"),
        ("GET", "/search", "GET /search"),
    ],
)
def test_auto_templates(method: str, path: str, template: str) -> None:
    assert auto_template(method, path) == template


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/v0/mission/abc", "mission"),  # first match wins over mission-any
        ("PUT", "/v0/mission/abc", "mission-any"),  # "*" matches any method
        ("GET", "/v0/mission/", "GET /v0/mission/"),  # a {param} needs a non-empty segment
        ("GET", "/v0/mission/abc/extra", "GET /v0/mission/abc/extra"),
        ("POST", "/orders", "orders"),
        ("DELETE", "/orders", "DELETE /orders"),
        ("GET", "/a/1/b/2", "nested"),
        ("GET", "/a/1/c/2", "GET /a/{id}/c/{id}"),
        ("GET", "/v0/mission/65a1f0c2e4b0a1b2c3d4e5f6", "mission"),
    ],
)
def test_router_matches_rules_in_order_then_templates(method: str, path: str, name: str) -> None:
    assert Router(RULES, DEFAULT, 1.0).match(method, path).name == name


def test_route_carries_its_compare_spec_sample_rate_and_mirroring() -> None:
    router = Router(RULES, DEFAULT, 0.25)
    mission, any_method, orders = (
        router.match(m, p)
        for m, p in [("GET", "/v0/mission/1"), ("PUT", "/v0/mission/1"), ("POST", "/orders")]
    )
    auto = router.match("POST", "/unknown")
    assert (mission.compare, mission.sample_rate) == (MISSION, 0.25)
    assert any_method.sample_rate == 0.5
    assert (auto.compare, auto.sample_rate, auto.rule) == (DEFAULT, 0.25, None)
    assert [
        any_method.mirrors("PUT"),
        orders.mirrors("POST"),
        auto.mirrors("POST"),
        auto.mirrors("HEAD"),
    ] == [
        False,
        True,
        False,
        True,
    ]


def test_automatic_routes_are_bounded() -> None:
    router = Router((), DEFAULT, 1.0)
    names = {router.match("GET", f"/page-{i}").name for i in range(MAX_AUTO_ROUTES + 10)}
    assert len(names) == MAX_AUTO_ROUTES + 1
    assert "GET (other)" in names
    assert router.match("GET", "/page-0").name == "GET /page-0"
