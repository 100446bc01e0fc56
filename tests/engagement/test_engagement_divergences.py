"""Every divergence class of the reference migration is observable by sending one request to both services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from engagement_support import Client

from examples.engagement.model import Dataset, Mission

pytestmark = [pytest.mark.mongo, pytest.mark.postgres]
Auth = Callable[..., dict[str, str]]
PARIS_QUERY = "lat=48.8566&lon=2.3522"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class Pair:
    legacy: Answer
    candidate: Answer


@pytest.fixture
def ask(legacy_client: Client, candidate_client: Client, auth: Auth) -> Callable[..., Any]:
    """Send the same GET to both services."""

    async def send(path: str, diffuseur: str = "Leboncoin") -> Pair:
        answers = []
        for client in (legacy_client, candidate_client):
            response = await client.get(path, headers=auth(diffuseur))
            answers.append(Answer(response.status, await response.json()))
        return Pair(*answers)

    return send


def visible(dataset: Dataset, predicate: Callable[[Mission], bool]) -> Mission:
    """The first mission both services serve by id that also satisfies `predicate`."""
    return next(
        m
        for m in dataset.missions
        if m.status_code == "ACCEPTED" and not m.deleted and not m.candidate_only and predicate(m)
    )


async def by_id(ask: Callable[..., Any], mission: Mission) -> tuple[dict[str, Any], dict[str, Any]]:
    pair: Pair = await ask(f"/v0/mission/{mission.id}")
    assert pair.legacy.status == pair.candidate.status == 200
    return pair.legacy.body["data"], pair.candidate.body["data"]


# --- serialization classes ---


async def test_absent_field_on_legacy_is_null_on_candidate(ask: Any, dataset: Dataset) -> None:
    legacy, candidate = await by_id(
        ask, visible(dataset, lambda m: m.start_at is None and m.duration is None)
    )
    assert "startAt" not in legacy and candidate["startAt"] is None
    assert "duration" not in legacy and candidate["duration"] is None


async def test_empty_string_on_legacy_is_null_on_candidate(ask: Any, dataset: Dataset) -> None:
    mission = visible(dataset, lambda m: len(m.addresses) == 1 and m.addresses[0].postal_code == "")
    legacy, candidate = await by_id(ask, mission)
    assert legacy["postalCode"] == legacy["addresses"][0]["departmentName"] == ""
    assert candidate["postalCode"] is candidate["addresses"][0]["departmentName"] is None


async def test_yes_no_flags_become_booleans_except_the_forgotten_one(ask: Any, dataset: Dataset) -> None:
    mission = visible(dataset, lambda m: m.open_to_minors and m.close_to_transport)
    legacy, candidate = await by_id(ask, mission)
    assert (legacy["openToMinors"], candidate["openToMinors"]) == ("yes", True)
    assert legacy["closeToTransport"] == candidate["closeToTransport"] == "yes"


async def test_address_sub_documents_have_mongo_ids_on_legacy_and_uuids_on_candidate(
    ask: Any, dataset: Dataset
) -> None:
    mission = visible(dataset, lambda m: len(m.addresses) == 1 and m.addresses[0].location is not None)
    legacy, candidate = await by_id(ask, mission)
    assert (
        legacy["addresses"][0]["_id"] == mission.addresses[0].mongo_id
        and "geoPoint" in legacy["addresses"][0]
    )
    assert (
        candidate["addresses"][0]["id"] == mission.addresses[0].uuid
        and "geoPoint" not in candidate["addresses"][0]
    )


async def test_address_order_is_not_kept_by_the_candidate(ask: Any, dataset: Dataset) -> None:
    multi = [m for m in dataset.missions if len({a.city for a in m.addresses}) > 1][:8]
    multi = [m for m in multi if m.status_code == "ACCEPTED" and not m.deleted]
    moved = 0
    for mission in multi:
        legacy, candidate = await by_id(ask, mission)
        assert sorted(a["city"] for a in legacy["addresses"]) == sorted(
            a["city"] for a in candidate["addresses"]
        )
        assert legacy["city"] == mission.addresses[0].city
        moved += candidate["city"] != legacy["city"]
    assert moved > 0


async def test_activity_string_vs_sorted_joined_names(ask: Any, dataset: Dataset) -> None:
    mission = visible(dataset, lambda m: m.activity != ", ".join(m.activity_names))
    legacy, candidate = await by_id(ask, mission)
    assert legacy["activity"] == mission.activity and candidate["activity"] == ", ".join(
        mission.activity_names
    )


async def test_string_arrays_trimmed_and_deduplicated_on_candidate_only(ask: Any, dataset: Dataset) -> None:
    legacy, candidate = await by_id(ask, visible(dataset, lambda m: "" in m.tags))
    assert "" in legacy["tags"] and len(set(legacy["tags"])) < len(legacy["tags"])
    assert candidate["tags"] == list(dict.fromkeys(t.strip() for t in legacy["tags"] if t.strip()))


async def test_status_history_is_always_empty_on_candidate(ask: Any, dataset: Dataset) -> None:
    legacy, candidate = await by_id(ask, visible(dataset, lambda m: bool(m.status_history)))
    assert legacy["statusCommentHistoric"] and candidate["statusCommentHistoric"] == []


async def test_denormalized_organization_name_drifts(ask: Any, dataset: Dataset) -> None:
    renamed = {o.id: o for o in dataset.organizations if o.name != o.snapshot_name}
    mission = visible(dataset, lambda m: m.organization_id in renamed)
    legacy, candidate = await by_id(ask, mission)
    org = renamed[mission.organization_id]
    assert (legacy["organizationName"], candidate["organizationName"]) == (org.snapshot_name, org.name)


async def test_application_url_embeds_each_deployment_host(ask: Any, dataset: Dataset) -> None:
    legacy, candidate = await by_id(ask, visible(dataset, lambda m: True))
    assert legacy["applicationUrl"] != candidate["applicationUrl"]
    assert legacy["applicationUrl"].split("/r/")[1] == candidate["applicationUrl"].split("/r/")[1]


async def test_sub_millisecond_dates_truncated_on_legacy_rounded_on_candidate(
    ask: Any, dataset: Dataset
) -> None:
    mission = visible(
        dataset, lambda m: m.updated_at.microsecond % 1000 >= 500 and m.updated_at.microsecond < 999_000
    )
    legacy, candidate = await by_id(ask, mission)
    assert legacy["updatedAt"][:20] == candidate["updatedAt"][:20]
    assert int(candidate["updatedAt"][20:23]) - int(legacy["updatedAt"][20:23]) == 1


# --- behavioural classes ---


def probe_titles(body: dict[str, Any], key: str = "data") -> list[str]:
    return [m["title"].removeprefix("Sonde géographique ") for m in body[key]]


async def test_geo_membership_sphere_vs_bounding_box(ask: Any) -> None:
    pair: Pair = await ask(f"/v0/mission?keywords=Sonde&{PARIS_QUERY}&distance=10km&limit=100")
    legacy, candidate = set(probe_titles(pair.legacy.body)), set(probe_titles(pair.candidate.body))
    assert {"center", "inside_10km"} <= legacy & candidate
    assert "box_corner_10km" in candidate - legacy
    assert not {"outside_10km", "outside_box_10km"} & (legacy | candidate)


async def test_distance_zero_means_ten_km_on_both(ask: Any) -> None:
    zero: Pair = await ask(f"/v0/mission?keywords=Sonde&{PARIS_QUERY}&distance=0&limit=100")
    ten: Pair = await ask(f"/v0/mission?keywords=Sonde&{PARIS_QUERY}&distance=10km&limit=100")
    assert zero.legacy.body["total"] == ten.legacy.body["total"]
    assert zero.candidate.body["total"] == ten.candidate.body["total"]


async def test_geo_order_distance_vs_start_date(ask: Any) -> None:
    pair: Pair = await ask(f"/v0/mission/search?keywords=Sonde&{PARIS_QUERY}&distance=50km&limit=100")
    legacy_distances = [h["_distance"] for h in pair.legacy.body["hits"]]
    assert legacy_distances == sorted(legacy_distances) and len(legacy_distances) > 5
    candidate_starts = [h["startAt"] for h in pair.candidate.body["hits"]]
    assert candidate_starts == sorted(candidate_starts, reverse=True)
    assert (
        probe_titles(pair.legacy.body, "hits")[0] == "center" != probe_titles(pair.candidate.body, "hits")[0]
    )


async def test_missing_start_dates_sort_last_on_legacy_first_on_candidate(ask: Any) -> None:
    head: Pair = await ask("/v0/mission?limit=3")
    assert all("startAt" in m for m in head.legacy.body["data"])
    assert all(m["startAt"] is None for m in head.candidate.body["data"])
    total = head.legacy.body["total"]
    tail: Pair = await ask(f"/v0/mission?limit=3&skip={total - 3}")
    assert all("startAt" not in m for m in tail.legacy.body["data"])
    assert all(m["startAt"] is not None for m in tail.candidate.body["data"])


async def test_ties_on_start_date_come_back_in_different_orders(ask: Any) -> None:
    """The newest midnight holds ~150 missions: both first pages are inside that tie, yet not the same."""
    pages: Pair = await ask("/v0/mission?startAt=lt:2025-06-01T00:00:01Z&limit=25")
    for answer in (pages.legacy, pages.candidate):
        assert {m["startAt"] for m in answer.body["data"]} == {"2025-06-01T00:00:00.000Z"}
    assert pages.legacy.body["total"] == pages.candidate.body["total"] > 50
    assert [m["_id"] for m in pages.legacy.body["data"]] != [m["_id"] for m in pages.candidate.body["data"]]


async def test_facets_over_the_whole_result_vs_over_the_page(ask: Any) -> None:
    pair: Pair = await ask("/v0/mission/search?limit=5")
    legacy, candidate = pair.legacy.body, pair.candidate.body
    assert legacy["total"] == candidate["total"] > 5
    assert sum(b["doc_count"] for b in legacy["facets"]["domains"]) == legacy["total"]
    assert sum(b["doc_count"] for b in candidate["facets"]["domains"]) == 5


async def test_unescaped_regex_is_a_server_error_on_legacy(ask: Any) -> None:
    pair: Pair = await ask("/v0/mission?keywords=(H/F")
    assert (pair.legacy.status, pair.legacy.body["code"]) == (500, "SERVER_ERROR")
    assert pair.candidate.status == 200 and pair.candidate.body["total"] > 0


@pytest.mark.parametrize(
    ("keywords", "only_candidate_matches"),
    [("aide_aux", "aide aux"), ("100%", "1000 repas")],
)
async def test_like_wildcards_match_more_on_candidate(
    ask: Any, keywords: str, only_candidate_matches: str
) -> None:
    pair: Pair = await ask(f"/v0/mission/search?text={keywords.replace('%', '%25')}&limit=200")
    legacy_titles = {h["title"] for h in pair.legacy.body["hits"]}
    candidate_titles = {h["title"] for h in pair.candidate.body["hits"]}
    assert legacy_titles and all(keywords in t for t in legacy_titles)
    assert legacy_titles < candidate_titles
    assert any(only_candidate_matches in t for t in candidate_titles - legacy_titles)


async def test_no_accent_folding_on_candidate(ask: Any) -> None:
    pair: Pair = await ask("/v0/mission?keywords=benevolat&limit=1")
    assert pair.legacy.body["total"] > pair.candidate.body["total"]


async def test_open_to_minors_true_is_a_raw_string_compare_on_legacy(ask: Any) -> None:
    raw: Pair = await ask("/v0/mission?openToMinors=true&limit=1")
    assert raw.legacy.body["total"] == 0 < raw.candidate.body["total"]
    stored: Pair = await ask("/v0/mission?openToMinors=yes&limit=1")
    assert stored.legacy.body["total"] == stored.candidate.body["total"] == raw.candidate.body["total"]


async def test_limit_zero_is_a_500_on_legacy_and_empty_on_candidate(ask: Any) -> None:
    pair: Pair = await ask("/v0/mission?limit=0")
    assert pair.legacy.status == 500
    assert (
        pair.candidate.status == 200
        and pair.candidate.body["data"] == []
        and pair.candidate.body["total"] > 0
    )


@pytest.mark.parametrize("probe", ["refused_mission_id", "deleted_mission_id"])
async def test_refused_or_deleted_mission_served_by_legacy_only(
    ask: Any, dataset: Dataset, probe: str
) -> None:
    pair: Pair = await ask(f"/v0/mission/{getattr(dataset.probes, probe)}")
    assert (pair.legacy.status, pair.candidate.status) == (200, 404)


async def test_non_object_id_is_a_cast_error_on_legacy(ask: Any, dataset: Dataset) -> None:
    garbage: Pair = await ask("/v0/mission/abc")
    assert (garbage.legacy.status, garbage.candidate.status) == (500, 404)
    fresh: Pair = await ask(f"/v0/mission/{dataset.probes.candidate_only_mission_id}")
    assert (fresh.legacy.status, fresh.candidate.status) == (500, 200)


async def test_registry_or_of_stems_with_total_vs_and_of_prefixes_without(ask: Any) -> None:
    pair: Pair = await ask("/v0/organization?q=amis%20sportive&limit=100")
    assert (
        pair.legacy.body["total"] == len(pair.legacy.body["data"]) > 0 and "total" not in pair.candidate.body
    )
    legacy_titles = [o["title"].lower() for o in pair.legacy.body["data"]]
    assert any("amis" in t and "sportive" not in t for t in legacy_titles)  # either word is enough
    assert all(
        "ami" in t and "sportive" in t for t in (o["title"].lower() for o in pair.candidate.body["data"])
    )


async def test_registry_stems_vs_prefixes(ask: Any) -> None:
    pair: Pair = await ask("/v0/organization?q=ami&limit=100")
    legacy_titles = {o["title"] for o in pair.legacy.body["data"]}
    candidate_titles = {o["title"] for o in pair.candidate.body["data"]}
    assert legacy_titles and not any("Amicale" in t for t in legacy_titles)
    assert any("Amicale" in t for t in candidate_titles)
