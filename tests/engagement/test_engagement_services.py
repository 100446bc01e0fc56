"""Each service answers each endpoint of the partner API, with the envelope and errors the API had."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from engagement_support import Client

from examples.engagement import candidate, legacy
from examples.engagement.model import Dataset

pytestmark = [pytest.mark.mongo, pytest.mark.postgres]
Auth = Callable[..., dict[str, str]]
SERVICES = ("legacy", "candidate")


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest) -> Client:
    client: Client = request.getfixturevalue(f"{request.param}_client")
    return client


async def events(service: Client, kind: str) -> int:
    """Events of `kind` in the service's own store (Mongo `stats` or Postgres `event`)."""
    app = service.app
    assert app is not None
    store = app[legacy.STORE] if legacy.STORE in app else app[candidate.STORE]
    count: int = await store.count_events(kind)
    return count


def mission_path(dataset: Dataset) -> str:
    return f"/v0/mission/{dataset.probes.accepted_mission_id}"


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/v0/mission?limit=3", {"ok", "total", "data", "limit", "skip"}),
        ("/v0/mission/search?limit=3", {"ok", "total", "hits", "facets"}),
        ("/v0/publisher", {"ok", "data", "total"}),
        ("/v0/organization?rna=W000000000", {"ok", "data"}),
    ],
)
async def test_listing_envelopes(service: Client, auth: Auth, path: str, envelope: set[str]) -> None:
    response = await service.get(path, headers=auth())
    body = await response.json()
    assert response.status == 200 and body["ok"] is True
    assert envelope <= set(body)


async def test_mission_by_id(service: Client, auth: Auth, dataset: Dataset) -> None:
    response = await service.get(mission_path(dataset), headers=auth())
    body = await response.json()
    assert response.status == 200
    assert body["data"]["_id"] == dataset.probes.accepted_mission_id
    assert body["data"]["title"] == "Sonde géographique center"


async def test_publisher_by_id(service: Client, auth: Auth, dataset: Dataset) -> None:
    mairie = next(p for p in dataset.publishers if p.name == "Mairie de Paris")
    listing = await (await service.get("/v0/publisher", headers=auth("Mairie de Paris"))).json()
    assert {p["name"] for p in listing["data"]} == {"Leboncoin", "HelloAsso"}
    leboncoin = next(p["_id"] for p in listing["data"] if p["name"] == "Leboncoin")
    found = await service.get(f"/v0/publisher/{leboncoin}", headers=auth("Mairie de Paris"))
    assert found.status == 200 and (await found.json())["data"]["name"] == "Leboncoin"
    missing = await service.get(f"/v0/publisher/{mairie.id}", headers=auth("Mairie de Paris"))
    assert missing.status == 404 and (await missing.json())["code"] == "NOT_FOUND"


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "not-a-key"}, {"apikey": ""}])
async def test_missing_or_unknown_key_is_a_plain_401(service: Client, headers: dict[str, str]) -> None:
    response = await service.get("/v0/mission", headers=headers)
    assert (response.status, await response.text()) == (401, "Unauthorized")


async def test_apikey_header_also_authenticates(service: Client, dataset: Dataset) -> None:
    response = await service.get("/v0/mission?limit=1", headers={"apikey": dataset.api_keys["HelloAsso"]})
    assert response.status == 200


async def test_no_partner(service: Client, auth: Auth) -> None:
    response = await service.get("/v0/mission", headers=auth("Partenaire sans accès"))
    assert response.status == 400 and (await response.json())["code"] == "NO_PARTNER"


@pytest.mark.parametrize("query", ["limit=abc", "limit=10001", "skip=-3", "keywords=a&keywords=b"])
async def test_invalid_query(service: Client, auth: Auth, query: str) -> None:
    response = await service.get(f"/v0/mission?{query}", headers=auth())
    body: dict[str, Any] = await response.json()
    assert response.status == 400 and body["ok"] is False and body["code"] == "INVALID_QUERY"


async def test_unknown_type_matches_nothing_on_both(service: Client, auth: Auth) -> None:
    body = await (await service.get("/v0/mission?type=foo", headers=auth())).json()
    assert (body["total"], body["data"]) == (0, [])


async def test_dates_are_iso_utc_with_milliseconds(service: Client, auth: Auth, dataset: Dataset) -> None:
    body = await (await service.get(mission_path(dataset), headers=auth())).json()
    assert body["data"]["startAt"] == "2025-06-15T00:00:00.000Z"


async def test_filters_narrow_the_listing(service: Client, auth: Auth) -> None:
    everything = await (await service.get("/v0/mission?limit=1", headers=auth())).json()
    narrowed = await (
        await service.get("/v0/mission?domain=sport,sante&remote=no&limit=50", headers=auth())
    ).json()
    assert 0 < narrowed["total"] < everything["total"]
    assert all(m["domain"] in ("sport", "sante") and m["remote"] == "no" for m in narrowed["data"])


async def test_pagination_pages_do_not_overlap(service: Client, auth: Auth) -> None:
    """Outside tie groups pages are disjoint: `startAt>=` keeps the ties-free part of the listing."""
    path = "/v0/mission?startAt=gt:2025-10-02&limit=10"
    first = await (await service.get(path, headers=auth())).json()
    second = await (await service.get(path + "&skip=10", headers=auth())).json()
    assert first["total"] == second["total"] > 20
    assert not {m["_id"] for m in first["data"]} & {m["_id"] for m in second["data"]}


async def test_click_redirects_with_tracking_and_records_it(service: Client, dataset: Dataset) -> None:
    diffuseur = next(p for p in dataset.publishers if p.name == "Leboncoin")
    mission = next(m for m in dataset.missions if m.id == dataset.probes.accepted_mission_id)
    before = await events(service, "click")
    response = await service.get(f"/r/{mission.id}/{diffuseur.id}", allow_redirects=False)
    assert await events(service, "click") == before + 1
    location = response.headers["Location"]
    assert response.status == 302 and location.startswith(mission.application_url + "?")
    assert "apiengagement_id=" in location and "utm_source=api_engagement" in location
    unknown = await service.get(f"/r/{'0' * 24}/{diffuseur.id}", allow_redirects=False)
    assert unknown.status == 302 and "apiengagement_id" not in unknown.headers["Location"]
    assert await events(service, "click") == before + 1


async def test_impression_records_a_print_event(service: Client, dataset: Dataset) -> None:
    mission_id = dataset.probes.accepted_mission_id
    before = await events(service, "print")
    response = await service.get(f"/r/impression/{mission_id}/{dataset.publishers[0].id}")
    body = await response.json()
    assert await events(service, "print") == before + 1
    assert (
        response.status == 200 and body["data"]["type"] == "print" and body["data"]["missionId"] == mission_id
    )


async def test_activity_create_then_update(service: Client, auth: Auth, dataset: Dataset) -> None:
    mission_id = dataset.probes.accepted_mission_id
    created = await service.post(
        "/v2/activity", json={"missionId": mission_id, "clickId": "c1"}, headers=auth()
    )
    data = (await created.json())["data"]
    assert await events(service, "apply") >= 1
    assert created.status == 200 and data["type"] == "apply" and data["_id"]
    updated = await service.put(f"/v2/activity/{data['_id']}", json={"status": "VALIDATED"}, headers=auth())
    assert updated.status == 200 and (await updated.json())["data"]["status"] == "VALIDATED"
    rejected = await service.post("/v2/activity", data=b"[1, 2]", headers=auth())
    assert rejected.status == 400 and (await rejected.json())["code"] == "INVALID_BODY"
