"""Through the proxy with the reference rules, every behavioural class is reported on its route and paths.

Each probe aims at one class; the test checks both the exchange the proxy recorded for that probe and the
route's totals in the report read back from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson
import pytest
from e2e_support import E2E_MISSIONS, PathKind, Probe, ScenarioResult, Stack, run_scenario, run_sync

from examples.engagement.dataset import default_dataset

pytestmark = [pytest.mark.mongo, pytest.mark.postgres]
PARIS = "lat=48.8566&lon=2.3522"
STATUS: PathKind = ("status", "status")


@dataclass(frozen=True)
class Case:
    """A behavioural class, the probe that shows it, and the differences it must produce (at least)."""

    name: str
    route: str
    path: str
    expected: frozenset[PathKind]


def case(name: str, route: str, path: str, *expected: PathKind) -> Case:
    return Case(name, route, path, frozenset(expected))


def cases() -> list[Case]:
    probes = default_dataset(E2E_MISSIONS).probes
    return [
        case(
            "geo membership: sphere on legacy, bounding box on the candidate",
            "mission-list",
            f"/v0/mission?keywords=Sonde&{PARIS}&distance=10km&limit=100",
            ("$.total", "value"),
            ("$.data[*]", "extra"),
        ),
        case(
            "geo order: by distance on legacy, by startAt on the candidate",
            "mission-search",
            f"/v0/mission/search?keywords=Sonde&{PARIS}&distance=50km&limit=100",
            ("$.hits", "order"),
        ),
        case(
            "NULL startAt: last on MongoDB, first on PostgreSQL DESC",
            "mission-list",
            "/v0/mission?limit=3",
            ("$.data[*]", "missing"),
            ("$.data[*]", "extra"),
        ),
        case(
            "ties on startAt: both pages inside one midnight, in different orders",
            "mission-list",
            "/v0/mission?startAt=lt:2025-06-01T00:00:01Z&limit=10",
            ("$.data[*]", "missing"),
            ("$.data[*]", "extra"),
        ),
        case(
            "facet scope: whole result on legacy, returned page on the candidate",
            "mission-search",
            "/v0/mission/search?limit=5",
            ("$.facets.domains[*].doc_count", "value"),
        ),
        case(
            "unescaped regex on legacy: `(H/F` is a server error",
            "mission-list",
            "/v0/mission?keywords=(H/F",
            STATUS,
        ),
        case(
            "ILIKE on the candidate: `_` is a wildcard",
            "mission-search",
            "/v0/mission/search?text=aide_aux&limit=100",
            ("$.total", "value"),
            ("$.hits[*]", "extra"),
        ),
        case(
            "ILIKE on the candidate: no accent folding",
            "mission-list",
            "/v0/mission?keywords=benevolat&limit=1",
            ("$.total", "value"),
        ),
        case(
            "openToMinors=true: a raw string compare on legacy, a boolean on the candidate",
            "mission-list",
            "/v0/mission?openToMinors=true&limit=5",
            ("$.total", "value"),
            ("$.data[*]", "extra"),
        ),
        case("limit=0: 500 on legacy, [] on the candidate", "mission-list", "/v0/mission?limit=0", STATUS),
        case(
            "refused mission: served by legacy, 404 on the candidate",
            "mission-by-id",
            f"/v0/mission/{probes.refused_mission_id}",
            STATUS,
        ),
        case(
            "deleted mission: served by legacy, 404 on the candidate",
            "mission-by-id",
            f"/v0/mission/{probes.deleted_mission_id}",
            STATUS,
        ),
        case("not an ObjectId: CastError 500 vs 404", "mission-by-id", "/v0/mission/abc", STATUS),
        case(
            "a UUID mission created on the candidate: CastError 500 vs 200",
            "mission-by-id",
            f"/v0/mission/{probes.candidate_only_mission_id}",
            STATUS,
        ),
        case(
            "registry search: OR of stems with a total vs AND of prefixes without",
            "organization-search",
            "/v0/organization?q=amis%20sportive&limit=100",
            ("$.total", "missing"),
            ("$.data[*]", "missing"),
        ),
    ]


CASES = cases()


def write_probes(stack: Stack) -> list[Probe]:
    """A click, a print and an application: legacy must record them, the candidate must never see them."""
    mission = stack.dataset.probes.accepted_mission_id
    caller = next(p for p in stack.dataset.publishers if p.name == "Leboncoin").id
    application = orjson.dumps({"missionId": mission, "clickId": "e2e"})
    return [
        Probe(f"/r/{mission}/{caller}"),
        Probe(f"/r/impression/{mission}/{caller}"),
        Probe("/v2/activity", method="POST", body=application),
    ]


@pytest.fixture(scope="module")
def result(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> ScenarioResult:
    store = tmp_path_factory.mktemp("behaviour") / "shadow.db"
    probes = [Probe(c.path) for c in CASES] + write_probes(stack)
    return run_sync(run_scenario(stack, probes, Path(store)))


def test_every_read_probe_was_compared_and_no_write(result: ScenarioResult) -> None:
    assert sorted(e.request.target for e in result.exchanges) == sorted(c.path for c in CASES)


@pytest.mark.parametrize("probe", CASES, ids=lambda c: c.name)
def test_each_class_is_reported_on_its_route_and_paths(result: ScenarioResult, probe: Case) -> None:
    exchange = result.exchange(probe.path)
    assert exchange.route == probe.route
    assert probe.expected <= result.found(probe.path)
    assert probe.expected <= result.differences(probe.route)


@pytest.mark.parametrize("route", ["mission-list", "mission-search", "mission-by-id", "organization-search"])
def test_behaviour_is_counted_as_divergence(result: ScenarioResult, route: str) -> None:
    report = result.route(route)
    assert report["diverged"] == report["compared"] > 0


def test_ties_keep_the_same_start_dates_on_both_sides(result: ScenarioResult) -> None:
    """The tie probe differs only in which missions fill the page: no date is reported different."""
    found = result.found("/v0/mission?startAt=lt:2025-06-01T00:00:01Z&limit=10")
    assert {path for path, _ in found} <= {"$.data", "$.data[*]"}


def test_geo_membership_names_the_box_corner(result: ScenarioResult, stack: Stack) -> None:
    """The extra mission is the probe placed in the bounding box's corner, outside the 10 km circle."""
    corner = stack.dataset.probes.geo_mission_ids["box_corner_10km"]
    exchange = result.exchange(f"/v0/mission?keywords=Sonde&{PARIS}&distance=10km&limit=100")
    extra = [d for d in exchange.comparison.differences if d.key() == ("$.data[*]", "extra")]
    assert str(extra[0].candidate).startswith(f'{{"_id":"{corner}"')


@pytest.mark.parametrize("route", ["click-redirect", "impression", "activity-create"])
def test_writes_reach_legacy_only(result: ScenarioResult, route: str) -> None:
    report = result.route(route)
    assert (report["not_mirrored"], report["compared"]) == (1, 0)


def test_legacy_recorded_the_writes_and_the_candidate_none(result: ScenarioResult, stack: Stack) -> None:
    assert sorted(s for p, s in result.statuses.items() if p.startswith(("/r/", "/v2/"))) == [200, 200, 302]
    assert run_sync(candidate_events(stack)) == 0


async def candidate_events(stack: Stack) -> int:
    connection = await asyncpg.connect(stack.pg_dsn)
    try:
        count: int = await connection.fetchval(f'SELECT count(*) FROM "{stack.pg_schema}".event')
        return count
    finally:
        await connection.close()
