"""The generated dataset is deterministic and carries every edge case the divergence classes need."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from examples.engagement.dataset import FROZEN_NOW, MIDNIGHTS, generate
from examples.engagement.geo import PARIS, Point, bounding_box, haversine_m
from examples.engagement.model import Dataset, Mission

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert generate(7) == generate(7)
    assert generate(7).missions != generate(8).missions


def test_sizes(dataset: Dataset) -> None:
    assert (len(dataset.publishers), len(dataset.organizations), len(dataset.registry)) == (50, 150, 300)
    assert len(dataset.missions) == 2000
    assert len({m.id for m in dataset.missions}) == 2000


def _share(dataset: Dataset, predicate: Callable[[Mission], bool]) -> float:
    return sum(map(predicate, dataset.missions)) / len(dataset.missions)


@pytest.mark.parametrize(
    ("edge_case", "predicate", "low", "high"),
    [
        ("startAt at a shared midnight", lambda m: m.start_at in MIDNIGHTS, 0.35, 0.47),
        ("no startAt", lambda m: m.start_at is None, 0.01, 0.03),
        ("several addresses", lambda m: len(m.addresses) > 1, 0.05, 0.09),
        ("no address", lambda m: not m.addresses, 0.01, 0.05),
        ("refused", lambda m: m.status_code == "REFUSED", 0.02, 0.06),
        ("deleted", lambda m: m.deleted, 0.01, 0.03),
        ("title with (H/F)", lambda m: "(H/F)" in m.title, 0.04, 0.12),
        ("title with 100%", lambda m: "100%" in m.title, 0.002, 0.05),
        ("title with aide_aux", lambda m: "aide_aux" in m.title, 0.001, 0.05),
        ("title with aide aux", lambda m: "aide aux" in m.title, 0.001, 0.05),
        ("title with an accent", lambda m: bool(re.search("[éèêàç]", m.title, re.I)), 0.3, 1.0),
        ("duplicated/blank tags", lambda m: "" in m.tags and len(set(m.tags)) < len(m.tags), 0.05, 0.15),
        ("two activities, unsorted", lambda m: m.activity != ", ".join(m.activity_names), 0.04, 0.12),
        ("address with empty parts", lambda m: any(a.postal_code == "" for a in m.addresses), 0.02, 0.1),
        ("sub-millisecond updatedAt", lambda m: m.updated_at.microsecond % 1000 >= 500, 0.3, 0.7),
    ],
)
def test_edge_case_shares(
    dataset: Dataset, edge_case: str, predicate: Callable[[Mission], bool], low: float, high: float
) -> None:
    assert low <= _share(dataset, predicate) <= high, edge_case


def test_publishers_keys_and_partners(dataset: Dataset) -> None:
    diffuseurs = [p for p in dataset.publishers if p.api_key]
    assert len(diffuseurs) == 6 and len(set(dataset.api_keys.values())) == 6
    assert [p.name for p in diffuseurs if not p.partner_ids] == ["Partenaire sans accès"]
    partners = {pid for p in diffuseurs for pid in p.partner_ids}
    assert all(pid in {p.id for p in dataset.publishers} for pid in partners)


def test_ids_are_hex_except_the_candidate_only_rows(dataset: Dataset) -> None:
    fresh = [m for m in dataset.missions if m.candidate_only]
    assert len(fresh) == 5 and all(UUID4.match(m.id) for m in fresh)
    assert all(HEX24.match(m.id) for m in dataset.missions if not m.candidate_only)
    listed = {pid for p in dataset.publishers for pid in p.partner_ids}
    assert all(m.publisher_id not in listed for m in fresh)  # reachable by id only


def test_renamed_organizations_keep_their_old_name_in_the_legacy_snapshot(dataset: Dataset) -> None:
    renamed = [o for o in dataset.organizations if o.name != o.snapshot_name]
    assert 2 <= len(renamed) <= 10
    assert any(m.organization_id in {o.id for o in renamed} for m in dataset.missions)


def test_probes_point_at_what_they_claim(dataset: Dataset) -> None:
    by_id = {m.id: m for m in dataset.missions}
    assert by_id[dataset.probes.refused_mission_id].status_code == "REFUSED"
    assert by_id[dataset.probes.deleted_mission_id].deleted
    assert by_id[dataset.probes.candidate_only_mission_id].candidate_only
    assert by_id[dataset.probes.accepted_mission_id].status_code == "ACCEPTED"


def _probe_point(dataset: Dataset, label: str) -> Point:
    mission = next(m for m in dataset.missions if m.id == dataset.probes.geo_mission_ids[label])
    location = mission.addresses[0].location
    assert location is not None
    return location


@pytest.mark.parametrize("km", [10, 25, 50])
def test_geo_probes_straddle_each_radius_and_the_box_corners(dataset: Dataset, km: int) -> None:
    box = bounding_box(PARIS, km)
    inside, outside = _probe_point(dataset, f"inside_{km}km"), _probe_point(dataset, f"outside_{km}km")
    corner, beyond = _probe_point(dataset, f"box_corner_{km}km"), _probe_point(dataset, f"outside_box_{km}km")
    assert haversine_m(PARIS, inside) < km * 1000 < haversine_m(PARIS, outside)
    assert box.contains(inside) and not box.contains(outside)
    assert box.contains(corner) and haversine_m(PARIS, corner) > km * 1000
    assert not box.contains(beyond) and haversine_m(PARIS, beyond) > km * 1000


def test_frozen_clock(dataset: Dataset) -> None:
    assert dataset.now == FROZEN_NOW
    assert all(m.created_at <= FROZEN_NOW for m in dataset.missions)


def test_a_lighter_dataset_keeps_every_edge_case() -> None:
    small = generate(mission_count=300)
    assert (
        len(small.missions) == 300
        and small.probes.geo_mission_ids.keys() == generate().probes.geo_mission_ids.keys()
    )
    titles = " ".join(m.title for m in small.missions)
    assert all(word in titles for word in ("aide_aux", "aide aux", "100%", "1000", "(H/F)"))
    assert any(m.start_at is None for m in small.missions) and any(
        len(m.addresses) > 1 for m in small.missions
    )
    assert any(m.deleted for m in small.missions) and any(m.status_code == "REFUSED" for m in small.missions)
