"""A planted candidate regression is reported by the proxy on the right route and path, and nothing else.

The same probes go through the proxy with a healthy candidate (no divergence) and with each deliberate bug.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from e2e_support import PathKind, Probe, ScenarioResult, Stack, run_scenario, run_sync

from examples.engagement.candidate import Bug

pytestmark = [pytest.mark.mongo, pytest.mark.postgres]
TIE_FREE = "/v0/mission?startAt=gt:2025-10-02&limit=5"  # no ties, no NULL startAt: pages are stable
FIRST_PAGE, SECOND_PAGE = TIE_FREE, f"{TIE_FREE}&skip=5"
DATES = ("createdAt", "postedAt", "startAt", "endAt", "updatedAt", "lastSyncAt")


def probes(stack: Stack) -> list[Probe]:
    """Two listing pages and the geo probe missions by id (accepted, with a start date)."""
    by_id = [
        Probe(f"/v0/mission/{mission_id}") for mission_id in stack.dataset.probes.geo_mission_ids.values()
    ]
    return [Probe(FIRST_PAGE), Probe(SECOND_PAGE), *by_id]


@pytest.fixture(scope="module", params=[None, *Bug], ids=lambda bug: str(bug or "healthy"))
def run(
    request: pytest.FixtureRequest, stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Bug | None, ScenarioResult]:
    bug: Bug | None = request.param
    store = tmp_path_factory.mktemp(f"regression-{bug or 'healthy'}") / "shadow.db"
    return bug, run_sync(run_scenario(stack, probes(stack), Path(store), bug))


def reported(result: ScenarioResult) -> dict[str, set[PathKind]]:
    """Differences per route, for the two routes the probes use."""
    return {route: result.differences(route) for route in ("mission-list", "mission-by-id")}


def test_every_probe_was_compared(run: tuple[Bug | None, ScenarioResult], stack: Stack) -> None:
    _, result = run
    assert len(result.exchanges) == len(probes(stack)) == 15


def test_the_regression_is_reported_on_its_route_and_path(run: tuple[Bug | None, ScenarioResult]) -> None:
    bug, result = run
    found = reported(result)
    if bug is None:
        assert found == {"mission-list": set(), "mission-by-id": set()}
    elif bug is Bug.PAGINATION_OFF_BY_ONE:
        assert found == {
            "mission-list": {("$.data[*]", "missing"), ("$.data[*]", "extra")},
            "mission-by-id": set(),
        }
    elif bug is Bug.DROP_FIELD:
        assert found == {
            "mission-list": {("$.data[*].places", "missing")},
            "mission-by-id": {("$.data.places", "missing")},
        }
    else:
        assert bug is Bug.TIMEZONE
        assert {("$.data.startAt", "value"), ("$.data.createdAt", "value")} <= found["mission-by-id"]
        assert found["mission-by-id"] <= {(f"$.data.{name}", "value") for name in DATES}
        assert ("$.data[*].startAt", "value") in found["mission-list"]
        assert found["mission-list"] <= {(f"$.data[*].{name}", "value") for name in DATES}


def test_pagination_off_by_one_spares_the_first_page(run: tuple[Bug | None, ScenarioResult]) -> None:
    bug, result = run
    if bug is not Bug.PAGINATION_OFF_BY_ONE:
        pytest.skip("only for the pagination bug")
    assert result.exchange(FIRST_PAGE).comparison.matched
    assert not result.exchange(SECOND_PAGE).comparison.matched


def test_timezone_shifts_the_start_date_by_the_paris_offset(run: tuple[Bug | None, ScenarioResult]) -> None:
    bug, result = run
    if bug is not Bug.TIMEZONE:
        pytest.skip("only for the time zone bug")
    for exchange in (e for e in result.exchanges if e.route == "mission-by-id"):
        start = next(d for d in exchange.comparison.differences if d.path == "$.data.startAt")
        shift = datetime.fromisoformat(start.legacy) - datetime.fromisoformat(start.candidate)
        assert shift == timedelta(hours=2)  # June: Europe/Paris is UTC+2
