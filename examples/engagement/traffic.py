"""The partner traffic mix: a deterministic, weighted sequence of realistic requests over the dataset."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from examples.engagement import vocabulary as voc
from examples.engagement.model import Dataset, Mission

Headers = tuple[tuple[str, str], ...]
Params = list[tuple[str, str]]

# Dominated by the listing, then search, by id, organizations, publishers; a few probes and writes.
KIND_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("list", 20),
    ("paginated", 12),
    ("filtered", 14),
    ("geo", 10),
    ("search", 12),
    ("by_id", 10),
    ("organization", 6),
    ("publishers", 4),
    ("error", 7),
    ("write", 5),
)
KEY_WEIGHTS = {
    "Leboncoin": 40,
    "Welcome to the Jungle": 25,
    "HelloAsso": 14,
    "Mairie de Paris": 10,
    "Ma Boussole Aidants": 9,
    "Partenaire sans accès": 2,
}
KEYWORDS = (
    "repas",
    "Bénévolat",
    "benevolat",
    "(H/F)",
    "(H/F",
    "100%",
    "aide_aux",
    "aide aux",
    "jardin",
    "Sonde",
)
DISTANCES = (None, "0", "10km", "25km", "50km", "500m", "0km")


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One request of the mix, ready to send to any base URL."""

    kind: str
    method: str
    path: str  # path and query string
    headers: Headers = ()
    body: bytes | None = None


class TrafficPlan:
    """Builds the mix from one seed: the same seed always gives the same requests in the same order."""

    def __init__(self, dataset: Dataset, seed: int = 1, include_writes: bool = True) -> None:
        self.data = dataset
        self.rng = random.Random(seed)
        self.kinds = [(k, w) for k, w in KIND_WEIGHTS if include_writes or k != "write"]
        self.visible = [
            m
            for m in dataset.missions
            if m.status_code == "ACCEPTED" and not m.deleted and not m.candidate_only
        ]
        self.builders: dict[str, Callable[[], PlannedRequest]] = {
            "list": self._list,
            "paginated": self._paginated,
            "filtered": self._filtered,
            "geo": self._geo,
            "search": self._search,
            "by_id": self._by_id,
            "organization": self._organization,
            "publishers": self._publishers,
            "error": self._error,
            "write": self._write,
        }

    def requests(self, count: int) -> list[PlannedRequest]:
        kinds, weights = zip(*self.kinds, strict=True)
        return [self.builders[kind]() for kind in self.rng.choices(kinds, weights=weights, k=count)]

    def _key(self) -> Headers:
        names = list(KEY_WEIGHTS)
        name = self.rng.choices(names, weights=[KEY_WEIGHTS[n] for n in names])[0]
        header = "x-api-key" if self.rng.random() < 0.8 else "apikey"
        return ((header, self.data.api_keys[name]),)

    def _get(
        self, kind: str, path: str, params: Params | None = None, headers: Headers | None = None
    ) -> PlannedRequest:
        query = f"?{urlencode(params)}" if params else ""
        return PlannedRequest(kind, "GET", path + query, self._key() if headers is None else headers)

    def _list(self) -> PlannedRequest:
        params = [] if self.rng.random() < 0.6 else [("limit", str(self.rng.choice((10, 25, 50))))]
        return self._get("list", "/v0/mission", params)

    def _paginated(self) -> PlannedRequest:
        limit = self.rng.choice((10, 25, 25, 50))
        return self._get(
            "paginated",
            "/v0/mission",
            [("limit", str(limit)), ("skip", str(limit * self.rng.randrange(1, 12)))],
        )

    def _filter_params(self) -> Params:
        choices: list[Callable[[], Params]] = [
            lambda: [("domain", self.rng.choice(voc.DOMAINS))],
            lambda: [("domain", ",".join(self.rng.sample(voc.DOMAINS, 2)))],
            lambda: [("domain", d) for d in self.rng.sample(voc.DOMAINS, 2)],
            lambda: [("activity", self.rng.choice(voc.ACTIVITIES))],
            lambda: [("city", self.rng.choice(voc.CITIES).name)],
            lambda: [("departmentName", self.rng.choice(voc.CITIES).department_name)],
            lambda: [("remote", self.rng.choice(("no", "possible", "full")))],
            lambda: [("type", "volontariat_service_civique")],
            lambda: [("openToMinors", self.rng.choice(("yes", "no", "true")))],
            lambda: [("createdAt", "gt:2025-01-01")],
            lambda: [("startAt", self.rng.choice(("lt:2025-07-01", "gt:2025-06-15T00:00:00.000Z")))],
            lambda: [("keywords", self.rng.choice(KEYWORDS))],
            lambda: [("country", "FR")],
            lambda: [("publisher", self.rng.choice(self.visible).publisher_id)],
        ]
        picked = self.rng.sample(choices, self.rng.choice((1, 1, 2)))
        return [p for build in picked for p in build()]

    def _filtered(self) -> PlannedRequest:
        return self._get("filtered", "/v0/mission", self._filter_params())

    def _geo_params(self) -> Params:
        city = voc.CITIES[0] if self.rng.random() < 0.6 else self.rng.choice(voc.CITIES)
        params = [("lat", f"{city.center.lat:.4f}"), ("lon", f"{city.center.lon:.4f}")]
        if self.rng.random() < 0.05:
            params[0] = ("lat", "0")  # disables geo, as in the API
        distance = self.rng.choice(DISTANCES)
        return params + ([("distance", distance)] if distance else [])

    def _geo(self) -> PlannedRequest:
        return self._get("geo", "/v0/mission", self._geo_params())

    def _search(self) -> PlannedRequest:
        params: Params = [("limit", str(self.rng.choice((10, 20, 25))))]
        if self.rng.random() < 0.5:
            params += self._geo_params()
        if self.rng.random() < 0.4:
            params.append((self.rng.choice(("text", "keywords")), self.rng.choice(KEYWORDS)))
        if self.rng.random() < 0.3:
            params += self._filter_params()
        return self._get("search", "/v0/mission/search", params)

    def _by_id(self) -> PlannedRequest:
        probes = self.data.probes
        roll = self.rng.random()
        if roll < 0.8:
            mission_id = self.rng.choice(self.visible).id
        else:
            mission_id = self.rng.choice(
                (
                    probes.refused_mission_id,
                    probes.deleted_mission_id,
                    probes.candidate_only_mission_id,
                    "abc",
                    "0" * 24,
                )
            )
        return self._get("by_id", f"/v0/mission/{mission_id}")

    def _organization(self) -> PlannedRequest:
        entry = self.rng.choice(self.data.registry)
        roll = self.rng.random()
        if roll < 0.7:
            words = entry.title.split()
            params = [("q", " ".join(self.rng.sample(words, min(len(words), self.rng.choice((1, 2))))))]
        else:
            params = [("rna", entry.rna)] if roll < 0.85 else [("siret", entry.siret)]
        return self._get("organization", "/v0/organization", [*params, ("limit", "10")])

    def _publishers(self) -> PlannedRequest:
        if self.rng.random() < 0.6:
            return self._get("publishers", "/v0/publisher")
        return self._get("publishers", f"/v0/publisher/{self.rng.choice(self.data.publishers).id}")

    def _error(self) -> PlannedRequest:
        roll = self.rng.randrange(6)
        if roll == 0:
            return self._get("error", "/v0/mission", headers=())
        if roll == 1:
            return self._get("error", "/v0/mission", headers=(("x-api-key", "not-a-key"),))
        probe = (("limit", "0"),), (("type", "foo"),), (("limit", "abc"),), (("limit", "20000"),)
        return self._get("error", "/v0/mission", list(probe[roll - 2]))

    def _write(self) -> PlannedRequest:
        mission: Mission = self.rng.choice(self.visible)
        diffuseur = self.rng.choice([p for p in self.data.publishers if p.api_key and p.partner_ids])
        roll = self.rng.random()
        if roll < 0.45:
            return PlannedRequest("write", "GET", f"/r/impression/{mission.id}/{diffuseur.id}")
        if roll < 0.9:
            return PlannedRequest("write", "GET", f"/r/{mission.id}/{diffuseur.id}")
        body = orjson.dumps({"missionId": mission.id, "clickId": f"{self.rng.getrandbits(64):016x}"})
        headers = (*self._key(), ("content-type", "application/json"))
        return PlannedRequest("write", "POST", "/v2/activity", headers, body)
