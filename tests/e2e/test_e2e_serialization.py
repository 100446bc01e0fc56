"""Through the proxy with the reference rules, every serialization class is explained: 0 divergences where
only those apply, and each rule hid real differences (except the one for the flag the candidate forgot).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from e2e_support import REFERENCE_CONFIG, PathKind, Probe, ScenarioResult, Stack, run_scenario, run_sync

from comparators import Observation, compare
from config.loader import load_config
from config.model import RouteRule
from examples.engagement.model import Mission
from proxy.records import Exchange

pytestmark = [pytest.mark.mongo, pytest.mark.postgres]
TIE_FREE = "/v0/mission?startAt=gt:2025-10-02&limit=20"  # after the last shared midnight: no ties, no NULLs
CLEAN_ROUTES = ("mission-by-id", "mission-list", "publisher-list", "publisher-by-id")


def route_rule(name: str) -> RouteRule:
    return next(r for r in load_config(REFERENCE_CONFIG).routes if r.name == name)


def rule_for(route: str, path: str) -> str:
    """The name of the first rule of `route` whose paths select `path`."""
    return next(
        n.name
        for n in route_rule(route).compare.normalizers
        if any(p.matches(path) for p in getattr(n, "paths", ()))
    )


def by_id(exchange: Exchange) -> bool:
    return exchange.route == "mission-by-id"


def served_by_both(mission: Mission) -> bool:
    return mission.status_code == "ACCEPTED" and not mission.deleted and not mission.candidate_only


def probes(stack: Stack) -> list[Probe]:
    """Every mission both serve, by id (so every edge case of the dataset), tie-free pages, publishers."""
    data = stack.dataset
    by_id = [Probe(f"/v0/mission/{m.id}") for m in data.missions if served_by_both(m)]
    pages = [Probe(f"{TIE_FREE}&skip={skip}") for skip in (0, 20, 40)]
    callers = [p for p in data.publishers if p.api_key]
    publishers = [Probe(f"/v0/publisher?as={p.name.replace(' ', '+')}", p.name) for p in callers]
    by_publisher = [Probe(f"/v0/publisher/{p.id}", "HelloAsso") for p in data.publishers[:8]]
    return by_id + pages + publishers + by_publisher


@pytest.fixture(scope="module")
def result(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> ScenarioResult:
    store = tmp_path_factory.mktemp("serialization") / "shadow.db"
    return run_sync(run_scenario(stack, probes(stack), Path(store)))


def test_every_probe_was_answered_and_compared(result: ScenarioResult, stack: Stack) -> None:
    assert all(status == 200 for path, status in result.statuses.items() if path.startswith("/v0/mission"))
    assert len(result.exchanges) == len(probes(stack))


@pytest.mark.parametrize("route", CLEAN_ROUTES)
def test_no_divergence_where_only_serialization_differs(result: ScenarioResult, route: str) -> None:
    report = result.route(route)
    assert report["compared"] > 0
    assert (report["diverged"], report["candidate_errors"], report["differences"]) == (0, 0, [])


def test_every_accepted_mission_by_id_was_compared(result: ScenarioResult, stack: Stack) -> None:
    served = sum(served_by_both(m) for m in stack.dataset.missions)
    assert result.route("mission-by-id")["matched"] == served


def test_the_pages_really_hold_missions(result: ScenarioResult) -> None:
    """A tie-free page that came back empty would match trivially."""
    pages = [orjson.loads(e.legacy.body) for e in result.exchanges if e.route == "mission-list"]
    assert len(pages) == 3 and all(page["data"] for page in pages)
    assert sum(len(page["data"]) for page in pages) == pages[0]["total"] > 40


def test_each_serialization_rule_hid_real_differences(result: ScenarioResult) -> None:
    """Every rule of the by-id route is needed: it equalized values that really differed."""
    ignored = result.ignored_by_rule("mission-by-id")
    assert set(ignored) == {n.name for n in route_rule("mission-by-id").compare.normalizers}
    idle = [rule for rule, count in ignored.items() if count == 0]
    assert idle == [rule_for("mission-by-id", "$.data.closeToTransport")]  # see the next test


def test_the_forgotten_flag_conversion_is_visible_as_a_rule_that_never_hid_anything(
    result: ScenarioResult,
) -> None:
    """The candidate still sends closeToTransport as "yes"/"no": its rule runs everywhere, hides nothing."""
    rules = {r["rule"]: r for r in result.route("mission-by-id")["rules"]}
    flag_rule = rules[rule_for("mission-by-id", "$.data.closeToTransport")]
    assert (flag_rule["hits"], flag_rule["ignored"]) == (result.route("mission-by-id")["compared"], 0)
    sent = {orjson.loads(e.candidate.body)["data"]["closeToTransport"] for e in result.exchanges if by_id(e)}
    assert sent == {"yes", "no"}


def test_the_rules_really_had_serialization_to_explain(result: ScenarioResult) -> None:
    """Without the rules these bodies differ: legacy and candidate bytes are never identical for a mission."""
    by_id = [e for e in result.exchanges if e.route == "mission-by-id"]
    assert all(e.legacy.body != e.candidate.body for e in by_id)
    assert all(e.comparison.ignored for e in by_id)


def messy(result: ScenarioResult) -> Exchange:
    """A mission by id whose legacy tags hold blank and repeated entries (the backfill cleaned them)."""
    return next(e for e in result.exchanges if by_id(e) and "" in orjson.loads(e.legacy.body)["data"]["tags"])


def later(moment: str, ms: int) -> str:
    shifted = datetime.fromisoformat(moment) + timedelta(milliseconds=ms)
    return shifted.isoformat(timespec="milliseconds").replace("+00:00", "Z")


Change = Callable[[dict[str, Any]], None]
CHANGES: list[tuple[str, Change, set[PathKind]]] = [
    ("a tag renamed", lambda m: m["tags"].__setitem__(0, "Autre"), {("$.data.tags[*]", "value")}),
    ("a tag lost", lambda m: m["tags"].pop(), {("$.data.tags[*]", "missing")}),
    ("a tag added", lambda m: m["tags"].append("Autre"), {("$.data.tags[*]", "extra")}),
    ("tags reordered", lambda m: m["tags"].reverse(), {("$.data.tags", "order")}),
    (
        "an activity added",
        lambda m: m.update(activity=m["activity"] + ", Zumba"),
        {("$.data.activity", "value")},
    ),
    (
        "updatedAt 2 ms later",
        lambda m: m.update(updatedAt=later(m["updatedAt"], 2)),
        {("$.data.updatedAt", "value")},
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_the_serialization_rules_still_see_a_real_change(
    result: ScenarioResult, change: Change, expected: set[PathKind]
) -> None:
    """The rules that trim, deduplicate, sort and round explain only that: a real change still shows."""
    exchange = messy(result)
    assert exchange.comparison.matched
    document = orjson.loads(exchange.candidate.body)
    change(document["data"])
    changed = Observation(exchange.candidate.status, exchange.candidate.headers, orjson.dumps(document))
    found = compare(route_rule("mission-by-id").compare, exchange.legacy, changed)
    assert {d.key() for d in found.differences} == expected
