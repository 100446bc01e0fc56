"""The planted candidate regressions change exactly what they claim to, and nothing when switched off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from engagement_support import Client

from examples.engagement.candidate import Bug
from examples.engagement.model import Dataset

pytestmark = pytest.mark.postgres
Auth = Callable[..., dict[str, str]]
Maker = Callable[..., Awaitable[Client]]
TIE_FREE = "/v0/mission?startAt=gt:2025-10-02&limit=5"  # after the last shared midnight: no ties to reorder


async def get(client: Client, path: str, auth: Auth) -> Any:
    response = await client.get(path, headers=auth())
    assert response.status == 200
    return await response.json()


def ids(body: dict[str, Any]) -> list[str]:
    return [m["_id"] for m in body["data"]]


async def test_pagination_off_by_one_skips_one_row_past_the_first_page(
    make_candidate: Maker, candidate_client: Client, auth: Auth
) -> None:
    buggy = await make_candidate(bug=Bug.PAGINATION_OFF_BY_ONE)
    assert ids(await get(buggy, TIE_FREE, auth)) == ids(await get(candidate_client, TIE_FREE, auth))
    page_two = await get(buggy, f"{TIE_FREE}&skip=5", auth)
    assert ids(page_two) == ids(await get(candidate_client, f"{TIE_FREE}&skip=6", auth))
    assert page_two["skip"] == 5


async def test_drop_field_removes_places_only(
    make_candidate: Maker, candidate_client: Client, auth: Auth
) -> None:
    buggy = await make_candidate(bug=Bug.DROP_FIELD)
    broken, fine = await get(buggy, TIE_FREE, auth), await get(candidate_client, TIE_FREE, auth)
    assert all("places" not in m for m in broken["data"]) and all("places" in m for m in fine["data"])
    assert [{k: v for k, v in m.items() if k != "places"} for m in fine["data"]] == broken["data"]


async def test_timezone_shifts_every_date_by_the_paris_offset(
    make_candidate: Maker, candidate_client: Client, legacy_client: Client, auth: Auth, dataset: Dataset
) -> None:
    path = f"/v0/mission/{dataset.probes.accepted_mission_id}"
    buggy = (await get(await make_candidate(bug=Bug.TIMEZONE), path, auth))["data"]
    fine = (await get(candidate_client, path, auth))["data"]
    legacy = (await get(legacy_client, path, auth))["data"]
    assert legacy["startAt"] == fine["startAt"] == "2025-06-15T00:00:00.000Z"
    assert buggy["startAt"] == "2025-06-14T22:00:00.000Z"  # CEST, UTC+2
    assert buggy["createdAt"] != fine["createdAt"] and buggy["title"] == fine["title"]


def test_bug_names_are_the_cli_values() -> None:
    assert {b.value for b in Bug} == {"pagination_off_by_one", "drop_field", "timezone"}
