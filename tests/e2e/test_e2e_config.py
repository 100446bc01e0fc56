"""The reference rules for the engagement migration: valid, complete, explained, and blind to no behaviour."""

from __future__ import annotations

import pytest
from e2e_support import REFERENCE_CONFIG

from comparators.normalizers import Ignore
from config.loader import load_config
from config.model import Config, Mode
from examples.engagement import candidate, legacy
from proxy.cli import main as cli_main
from proxy.routing import Route, Router

SAMPLE_ID = "65a1f0c2e4b0a1b2c3d4e5f6"
WRITES = {
    ("GET", "/r/{missionId}/{publisherId}"),
    ("GET", "/r/impression/{missionId}/{publisherId}"),
    ("POST", "/v2/activity"),
    ("PUT", "/v2/activity/{id}"),
}
# Where each behavioural class shows up: no ignore rule on the route may select these paths.
BEHAVIOUR_PATHS = {
    "mission-list": ("status", "$.total", "$.data", "$.data[*]", "$.data[*]._id", "$.data[*].startAt"),
    "mission-search": ("status", "$.total", "$.hits", "$.hits[*]", "$.facets.domains[*].doc_count"),
    "mission-by-id": ("status", "$.data", "$.data.statusCode", "$.code"),
    "organization-search": ("status", "$.total", "$.data[*]", "$.data[*].title"),
}


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REFERENCE_CONFIG)


@pytest.fixture(scope="module")
def router(config: Config) -> Router:
    return Router(config.routes, config.default_compare, config.shadow.sample_rate)


def endpoints() -> list[tuple[str, str]]:
    """Every (method, path pattern) either service serves, read from their own routers."""
    found = set()
    for app in (
        legacy.create_app("mongodb://127.0.0.1:1", "unused"),
        candidate.create_app("postgresql://127.0.0.1:1/unused", "unused"),
    ):
        for route in app.router.routes():
            if route.method != "HEAD":
                found.add((route.method, route.resource.canonical if route.resource else ""))
    return sorted(found)


def concrete(pattern: str) -> str:
    return "/".join(SAMPLE_ID if part.startswith("{") else part for part in pattern.split("/"))


def test_check_config_accepts_the_reference_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["check-config", str(REFERENCE_CONFIG)]) == 0
    assert "OK (10 routes)" in capsys.readouterr().out


def test_both_services_serve_the_same_endpoints() -> None:
    assert len(endpoints()) == 10


@pytest.mark.parametrize(("method", "pattern"), endpoints())
def test_every_endpoint_has_its_own_configured_route(router: Router, method: str, pattern: str) -> None:
    route = router.match(method, concrete(pattern))
    assert route.rule is not None, f"{method} {pattern} falls to an automatic route"
    assert route.rule.path == pattern  # /v0/mission/search is not swallowed by /v0/mission/{id}


def test_search_is_not_taken_for_a_mission_id(router: Router) -> None:
    assert router.match("GET", "/v0/mission/search").name == "mission-search"


def mirrored(route: Route, method: str) -> bool:
    """What Shadow.admits decides before sampling: the method may be mirrored and some requests are."""
    return route.mirrors(method) and route.sample_rate > 0


@pytest.mark.parametrize(("method", "pattern"), sorted(WRITES))
def test_writes_are_never_mirrored(router: Router, method: str, pattern: str) -> None:
    route = router.match(method, concrete(pattern))
    assert route.rule is not None and route.rule.mode is Mode.LEGACY  # legacy alone serves them
    assert not mirrored(route, method)  # and even in shadow mode they would not be mirrored


@pytest.mark.parametrize(("method", "pattern"), sorted(set(endpoints()) - WRITES))
def test_reads_are_all_mirrored(router: Router, method: str, pattern: str) -> None:
    route = router.match(method, concrete(pattern))
    assert route.rule is not None and route.rule.mode is Mode.SHADOW
    assert mirrored(route, method) and route.sample_rate == 1.0


def test_every_rule_says_why(config: Config) -> None:
    unexplained = [
        f"{rule.name}: {normalizer.name}"
        for rule in config.routes
        for normalizer in rule.compare.normalizers
        if not normalizer.reason.strip()
    ]
    assert unexplained == []


@pytest.mark.parametrize(("route_name", "path"), [(r, p) for r, ps in BEHAVIOUR_PATHS.items() for p in ps])
def test_no_ignore_rule_hides_a_behavioural_path(config: Config, route_name: str, path: str) -> None:
    rule = next(r for r in config.routes if r.name == route_name)
    hiding = [
        n.name
        for n in rule.compare.normalizers
        if isinstance(n, Ignore) and any(p.matches(path) for p in n.paths)
    ]
    assert hiding == []


def test_an_ignore_check_can_fail(config: Config) -> None:
    """The check above would see an over-broad rule: the address copies are ignored at $.data[*].city."""
    rule = next(r for r in config.routes if r.name == "mission-list")
    assert any(
        isinstance(n, Ignore) and any(p.matches("$.data[*].city") for p in n.paths)
        for n in rule.compare.normalizers
    )
