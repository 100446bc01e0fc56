"""The legacy data layer: the MongoDB queries the old API ran, on pymongo's asyncio client."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient

from examples.engagement.api_common import DateFilter, MissionQuery
from examples.engagement.french import keywords as stems
from examples.engagement.geo import MONGO_EARTH_RADIUS_M, Point, bounding_box, parse_distance_km

Document = dict[str, Any]
Stage = dict[str, Any]
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_FIELD_OF_FILTER = {
    "activity": "activity",
    "city": "addresses.city",
    "clientId": "clientId",
    "country": "addresses.country",
    "departmentName": "addresses.departmentName",
    "domain": "domain",
    "organizationRNA": "organizationRNA",
    "organizationStatusJuridique": "organizationStatusJuridique",
    "remote": "remote",
    "type": "type",
}
_DIACRITICS = {"a": "[aàâä]", "e": "[eéèêë]", "i": "[iîï]", "o": "[oôö]", "u": "[uùûü]", "c": "[cç]"}


class CastError(Exception):
    """Mongoose could not cast a path parameter to an ObjectId: the API answered 500."""

    def __init__(self, value: str, model: str) -> None:
        super().__init__(
            f'Cast to ObjectId failed for value "{value}" (type string) at path "_id" for model "{model}"'
        )


def object_id(value: str, model: str) -> ObjectId:
    if not _OBJECT_ID.match(value):
        raise CastError(value, model)
    return ObjectId(value)


def diacritic_sensitive_regex(text: str) -> str:
    """The API's helper: widens vowels to accented classes and escapes nothing, so `(H/F` is invalid."""
    return "".join(_DIACRITICS.get(c, c) for c in text)


def _array_match(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else {"$in": values}


def _date_match(date: DateFilter) -> Stage:
    return {"$gt" if date.operator == "gt" else "$lt": date.moment}


def mission_filter(query: MissionQuery, publisher_ids: list[str]) -> Document:
    """The `$match` of the mission listing: accepted, not deleted, from the caller's partners, filtered."""
    where: Document = {"statusCode": "ACCEPTED", "deletedAt": None, "publisherId": {"$in": publisher_ids}}
    for name, path in _FIELD_OF_FILTER.items():
        if name in query.arrays:
            where[path] = _array_match(query.arrays[name])
    for flag in ("openToMinors", "reducedMobilityAccessible"):
        if query.strings.get(flag):
            where[flag] = query.strings[flag]  # compared raw: "true" never equals the stored "yes"
    if query.created_at:
        where["createdAt"] = _date_match(query.created_at)
    if query.start_at:
        where["startAt"] = _date_match(query.start_at)
    if query.keywords:
        regex = {"$regex": diacritic_sensitive_regex(query.keywords), "$options": "i"}
        where["$or"] = [{f: regex} for f in ("title", "organizationName", "publisherName", "city")]
    return where


def _haversine_expr(lat: float, lon: float) -> Stage:
    """Metres from (lat, lon) to `$$a.location`, on MongoDB's sphere; null without a location."""
    la, lo = "$$a.location.lat", "$$a.location.lon"
    half_dlat = {"$divide": [{"$subtract": [{"$degreesToRadians": la}, math.radians(lat)]}, 2]}
    half_dlon = {"$divide": [{"$subtract": [{"$degreesToRadians": lo}, math.radians(lon)]}, 2]}
    h = {
        "$add": [
            {"$pow": [{"$sin": half_dlat}, 2]},
            {
                "$multiply": [
                    math.cos(math.radians(lat)),
                    {"$cos": {"$degreesToRadians": la}},
                    {"$pow": [{"$sin": half_dlon}, 2]},
                ]
            },
        ]
    }
    return {"$multiply": [2 * MONGO_EARTH_RADIUS_M, {"$asin": {"$sqrt": {"$min": [h, 1]}}}]}


def geo_stages(query: MissionQuery) -> list[Stage]:
    """Sphere membership and distance order, as `$geoNear` on `addresses.geoPoint` gives them.

    SecantusDB answers geo operators on array paths with nothing, so the distance to the nearest address is
    computed in the pipeline after a coarse box prefilter; membership and order match `$geoNear`'s.
    """
    assert query.lat is not None and query.lon is not None
    km = parse_distance_km(query.strings.get("distance"))
    box = bounding_box(Point(query.lat, query.lon), km * 1.05)
    near = {
        "$elemMatch": {
            "location.lat": {"$gte": box.min_lat, "$lte": box.max_lat},
            "location.lon": {"$gte": box.min_lon, "$lte": box.max_lon},
        }
    }
    distances = {"$map": {"input": "$addresses", "as": "a", "in": _haversine_expr(query.lat, query.lon)}}
    return [
        {"$match": {"addresses": near}},
        {"$addFields": {"_geoDistance": {"$min": distances}}},
        {"$match": {"_geoDistance": {"$lte": km * 1000}}},
        {"$sort": {"_geoDistance": 1}},
    ]


def ordered_match(query: MissionQuery, publisher_ids: list[str]) -> list[Stage]:
    """Match then order: by distance with geo, else `startAt` descending (missing dates last)."""
    stages: list[Stage] = [{"$match": mission_filter(query, publisher_ids)}]
    return stages + (geo_stages(query) if query.has_geo else [{"$sort": {"startAt": -1}}])


def _group(path: str) -> list[Stage]:
    return [{"$group": {"_id": path, "count": {"$sum": 1}}}, {"$sort": {"count": -1}}]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A page of missions, the total, and (for /search) facet buckets over the whole result set."""

    documents: list[Document]
    total: int
    facets: dict[str, list[tuple[Any, int]]]


class LegacyStore:
    """The collections the legacy API reads and the `stats` collection it writes events to."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self.db = client[database]

    async def publisher_by_key(self, key: str) -> Document | None:
        return await self.db.publishers.find_one({"apikey": key})

    async def list_missions(self, query: MissionQuery, publisher_ids: list[str]) -> SearchResult:
        page = [{"$skip": query.skip}, {"$limit": query.limit}]  # $limit 0 is a server error, as in the API
        pipeline = [
            *ordered_match(query, publisher_ids),
            {"$facet": {"data": page, "total": [{"$count": "count"}]}},
        ]
        result = await (await self.db.missions.aggregate(pipeline)).to_list()
        total = result[0]["total"][0]["count"] if result[0]["total"] else 0
        return SearchResult(result[0]["data"], total, {})

    async def search_missions(self, query: MissionQuery, publisher_ids: list[str]) -> SearchResult:
        """One round trip for the API's three: page (a `find`: limit 0 means no limit), total, facets."""
        page: list[Stage] = [{"$skip": query.skip}] + ([{"$limit": query.limit}] if query.limit else [])
        facets = {
            "hits": page,
            "total": [{"$count": "count"}],
            "domain": _group("$domain"),
            "activity": _group("$activity"),
            "departmentName": _group("$departmentName"),
        }
        pipeline = [*ordered_match(query, publisher_ids), {"$facet": facets}]
        result = (await (await self.db.missions.aggregate(pipeline)).to_list())[0]
        buckets = {
            name: [(b["_id"], b["count"]) for b in result[name]]
            for name in ("domain", "activity", "departmentName")
        }
        total = result["total"][0]["count"] if result["total"] else 0
        return SearchResult(result["hits"], total, buckets)

    async def mission_by_id(self, mission_id: str) -> Document | None:
        """No status filter: refused and deleted missions are served."""
        return await self.db.missions.find_one({"_id": object_id(mission_id, "Mission")})

    async def publishers_listing(self, caller_id: str) -> list[Document]:
        return await self.db.publishers.find({"publishers.publisherId": caller_id}).to_list()

    async def publisher_by_id(self, publisher_id: str, caller_id: str) -> Document | None:
        oid = object_id(publisher_id, "Publisher")
        return await self.db.publishers.find_one({"_id": oid, "publishers.publisherId": caller_id})

    async def mission_for_redirect(self, mission_id: str) -> Document | None:
        if not _OBJECT_ID.match(mission_id):
            return None
        return await self.db.missions.find_one({"_id": ObjectId(mission_id)})

    async def publisher(self, publisher_id: str) -> Document | None:
        if not _OBJECT_ID.match(publisher_id):
            return None
        return await self.db.publishers.find_one({"_id": ObjectId(publisher_id)})

    async def has_text_index(self) -> bool:
        indexes = await self.db.organizations.index_information()
        return any(any(kind == "text" for _, kind in spec["key"]) for spec in indexes.values())

    async def search_registry(self, where: Document, limit: int, skip: int) -> tuple[list[Document], int]:
        cursor = self.db.organizations.find(where, {"_keywords": 0}).skip(skip).limit(limit)
        return await cursor.to_list(), await self.db.organizations.count_documents(where)

    async def insert_event(self, event: Document) -> None:
        await self.db.stats.insert_one(event)

    async def update_event(self, event_id: ObjectId, changes: Document) -> Document | None:
        stats = self.db.stats
        return await stats.find_one_and_update({"_id": event_id}, {"$set": changes}, return_document=True)

    async def count_events(self, kind: str) -> int:
        return await self.db.stats.count_documents({"type": kind})


def registry_filter(q: str | None, rna: str | None, siret: str | None, native_text: bool) -> Document:
    """OR of stemmed words: `$text` where the server has a text index, else its stand-in on stored stems."""
    where: Document = {}
    if q:
        where.update({"$text": {"$search": q}} if native_text else {"_keywords": {"$in": stems(q)}})
    if rna:
        where["rna"] = rna
    if siret:
        where["siret"] = siret
    return where
