"""The legacy API Engagement service: aiohttp on MongoDB, with the old API's behaviours, quirks included.

Run: python -m examples.engagement.legacy --port 8001 --mongo-uri mongodb://127.0.0.1:27017 --db engagement
"""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from bson import ObjectId
from pymongo import AsyncMongoClient

from examples.engagement import api_common as api
from examples.engagement.geo import Point, app_distance_km
from examples.engagement.legacy_store import Document, LegacyStore, object_id, registry_filter

FALLBACK_URL = "https://www.jeveuxaider.gouv.fr/"
_TAIL_FIELDS = (
    "audience",
    "closeToTransport",
    "createdAt",
    "deleted",
    "deletedAt",
    "description",
    "domain",
    "duration",
    "endAt",
    "lastSyncAt",
    "openToMinors",
    "organizationCity",
    "organizationClientId",
    "organizationId",
    "organizationName",
    "organizationRNA",
    "organizationStatusJuridique",
    "places",
    "postedAt",
    "publisherId",
    "publisherLogo",
    "publisherName",
    "publisherUrl",
    "reducedMobilityAccessible",
    "remote",
    "softSkills",
    "requirements",
    "startAt",
    "statusCode",
    "statusComment",
    "statusCommentHistoric",
    "tags",
    "tasks",
    "title",
    "type",
    "updatedAt",
)
_ADDRESS_FIELDS = (
    ("address", "street"),
    ("city", "city"),
    ("postalCode", "postalCode"),
    ("departmentCode", "departmentCode"),
    ("departmentName", "departmentName"),
    ("country", "country"),
    ("location", "location"),
)


@dataclass(frozen=True, slots=True)
class LegacyOptions:
    """Deployment settings: the public URL that tracked application links embed."""

    api_url: str = "https://api.api-engagement.beta.gouv.fr"


STORE = web.AppKey("legacy_store", LegacyStore)
NATIVE_TEXT = web.AppKey("legacy_native_text", bool)
OPTIONS = web.AppKey("legacy_options", LegacyOptions)
CALLER = web.RequestKey("legacy_caller", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def jsonable(value: Any) -> Any:
    """BSON values as Express would send them: ObjectId as hex, dates as ISO strings."""
    if isinstance(value, datetime):
        return api.iso(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def mission_json(doc: Document, caller_id: str, api_url: str) -> dict[str, Any]:
    """The API's buildData: address fields from addresses[0], fields absent from the document omitted."""
    out: dict[str, Any] = {"_id": doc["_id"], "id": doc["_id"]}
    out.update({k: doc[k] for k in ("clientId", "activity") if k in doc})
    addresses = doc.get("addresses") or []
    if addresses:
        out.update({key: addresses[0][src] for key, src in _ADDRESS_FIELDS if src in addresses[0]})
    out["addresses"] = addresses
    out["applicationUrl"] = api.tracked_url(api_url, str(doc["_id"]), caller_id)
    out.update({k: doc[k] for k in _TAIL_FIELDS if k in doc})
    return jsonable(out)  # type: ignore[no-any-return]


def publisher_json(doc: Document) -> dict[str, Any]:
    return {
        "_id": str(doc["_id"]),
        "name": doc["name"],
        "category": doc.get("category"),
        "url": doc.get("url"),
        "logo": doc.get("logo"),
        "description": doc.get("description"),
        "widget": doc.get("role_annonceur_widget"),
        "api": doc.get("role_annonceur_api"),
        "campaign": doc.get("role_annonceur_campagne"),
        "annonceur": doc.get("role_promoteur"),
        "excludedOrganizations": [],
    }


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Express's error handler: validation is a 400, anything thrown below (CastError, Mongo errors) a 500."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except api.QueryError as exc:
        return api.error(400, exc.code, exc.payload())
    except Exception:
        return api.error(500, "SERVER_ERROR")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Passport's apikey strategy on the partner routes; the redirect routes are public."""
    if request.path.startswith("/r/"):
        return await handler(request)
    key = api.api_key(request)
    caller = await request.app[STORE].publisher_by_key(key) if key else None
    if caller is None:
        return api.unauthorized()
    request[CALLER] = caller
    return await handler(request)


def _caller(request: web.Request) -> tuple[str, list[str]]:
    caller = request[CALLER]
    return str(caller["_id"]), [p["publisherId"] for p in caller.get("publishers", [])]


async def list_missions(request: web.Request) -> web.Response:
    query = api.parse_mission_query(request.query)
    caller_id, partners = _caller(request)
    if not partners:
        return api.no_partner()
    result = await request.app[STORE].list_missions(query, api.partner_ids(query, partners))
    api_url = request.app[OPTIONS].api_url
    data = [mission_json(d, caller_id, api_url) for d in result.documents]
    return api.json(
        {"ok": True, "total": result.total, "data": data, "limit": query.limit, "skip": query.skip}
    )


async def search_missions(request: web.Request) -> web.Response:
    query = api.parse_mission_query(request.query)
    caller_id, partners = _caller(request)
    if not partners:
        return api.no_partner()
    result = await request.app[STORE].search_missions(query, api.partner_ids(query, partners))
    api_url = request.app[OPTIONS].api_url
    origin = Point(query.lat, query.lon) if query.lat is not None and query.lon is not None else None
    hits = [
        {**mission_json(d, caller_id, api_url), "_distance": _first_distance(origin, d)}
        for d in result.documents
    ]
    facets = {
        "departmentName": api.facet_buckets(result.facets["departmentName"]),
        "activities": api.facet_buckets(result.facets["activity"]),
        "domains": api.facet_buckets(result.facets["domain"]),
    }
    return api.json({"ok": True, "total": result.total, "hits": hits, "facets": facets})


def _first_distance(origin: Point | None, doc: Document) -> float | None:
    addresses = doc.get("addresses") or []
    location = addresses[0].get("location") if addresses else None
    return app_distance_km(origin, Point(location["lat"], location["lon"]) if location else None)


async def mission_by_id(request: web.Request) -> web.Response:
    doc = await request.app[STORE].mission_by_id(request.match_info["id"])
    if doc is None:
        return api.error(404, "NOT_FOUND")
    caller_id, _ = _caller(request)
    return api.json({"ok": True, "data": mission_json(doc, caller_id, request.app[OPTIONS].api_url)})


async def list_publishers(request: web.Request) -> web.Response:
    caller_id, _ = _caller(request)
    data = [publisher_json(p) for p in await request.app[STORE].publishers_listing(caller_id)]
    return api.json({"ok": True, "data": data, "total": len(data)})


async def publisher_by_id(request: web.Request) -> web.Response:
    caller_id, _ = _caller(request)
    doc = await request.app[STORE].publisher_by_id(request.match_info["id"], caller_id)
    if doc is None:
        return api.error(404, "NOT_FOUND", "Publisher not found")
    return api.json({"ok": True, "data": publisher_json(doc)})


async def search_organizations(request: web.Request) -> web.Response:
    q, rna, siret = (api.optional_string(request.query, n) for n in ("q", "rna", "siret"))
    limit, skip = (
        api.bounded_int(request.query, "limit", 25, 100),
        api.bounded_int(request.query, "skip", 0, None),
    )
    where = registry_filter(q, rna, siret, request.app[NATIVE_TEXT])
    docs, total = await request.app[STORE].search_registry(where, limit, skip)
    return api.json({"ok": True, "data": jsonable(docs), "total": total})


def _event(kind: str, mission: Document, from_publisher: str) -> Document:
    return {
        "_id": ObjectId(),
        "type": kind,
        "missionId": str(mission["_id"]),
        "missionClientId": mission.get("clientId"),
        "toPublisherId": mission.get("publisherId"),
        "fromPublisherId": from_publisher,
        "createdAt": datetime.now(UTC),
    }


async def redirect(request: web.Request) -> web.StreamResponse:
    """A click: record it, then send the visitor to the mission's own page with tracking parameters."""
    store = request.app[STORE]
    mission = await store.mission_for_redirect(request.match_info["missionId"])
    publisher = await store.publisher(request.match_info["publisherId"])
    if mission is None or publisher is None:
        raise web.HTTPFound(FALLBACK_URL)
    event = _event("click", mission, str(publisher["_id"]))
    await store.insert_event(event)
    raise web.HTTPFound(tracking_url(mission["applicationUrl"], str(event["_id"]), publisher["name"]))


def tracking_url(url: str, click_id: str, publisher_name: str) -> str:
    campaign = re.sub(r"[^a-z0-9]+", "-", publisher_name.lower()).strip("-")
    params = {
        "apiengagement_id": click_id,
        "utm_source": "api_engagement",
        "utm_medium": "api",
        "utm_campaign": campaign,
    }
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


async def impression(request: web.Request) -> web.Response:
    store = request.app[STORE]
    mission = await store.mission_for_redirect(request.match_info["missionId"])
    if mission is None:
        return api.error(404, "NOT_FOUND")
    event = _event("print", mission, request.match_info["publisherId"])
    await store.insert_event(event)
    return api.json({"ok": True, "data": jsonable(event)})


async def create_activity(request: web.Request) -> web.Response:
    body = await api.json_body(request)
    caller_id, _ = _caller(request)
    now = datetime.now(UTC)
    event = {
        "_id": ObjectId(),
        "type": "apply",
        **api.activity_fields(body),
        "fromPublisherId": caller_id,
        "createdAt": now,
        "updatedAt": now,
    }
    await request.app[STORE].insert_event(event)
    return api.json({"ok": True, "data": jsonable(event)})


async def update_activity(request: web.Request) -> web.Response:
    body = await api.json_body(request)
    event_id = object_id(request.match_info["id"], "Stats")
    changes = {**api.activity_fields(body), "updatedAt": datetime.now(UTC)}
    found = await request.app[STORE].update_event(event_id, changes)
    if found is None:
        return api.error(404, "NOT_FOUND")
    return api.json({"ok": True, "data": jsonable(found)})


def create_app(mongo_uri: str, database: str, options: LegacyOptions | None = None) -> web.Application:
    """The legacy service over `database`; the Mongo client lives in the app's cleanup context."""
    app = web.Application(middlewares=[errors, authenticate])
    app[OPTIONS] = options or LegacyOptions()

    async def mongo(app: web.Application) -> AsyncIterator[None]:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, tz_aware=True)
        app[STORE] = LegacyStore(client, database)
        app[NATIVE_TEXT] = await app[STORE].has_text_index()
        yield
        await client.close()

    app.cleanup_ctx.append(mongo)
    app.router.add_get("/v0/mission", list_missions)
    app.router.add_get("/v0/mission/search", search_missions)
    app.router.add_get("/v0/mission/{id}", mission_by_id)
    app.router.add_get("/v0/publisher", list_publishers)
    app.router.add_get("/v0/publisher/{id}", publisher_by_id)
    app.router.add_get("/v0/organization", search_organizations)
    app.router.add_get("/r/impression/{missionId}/{publisherId}", impression)
    app.router.add_get("/r/{missionId}/{publisherId}", redirect)
    app.router.add_post("/v2/activity", create_activity)
    app.router.add_put("/v2/activity/{id}", update_activity)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Legacy API Engagement (MongoDB)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--mongo-uri", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--api-url", help="public URL embedded in applicationUrl (default: this server)")
    args = parser.parse_args(argv)
    options = LegacyOptions(api_url=args.api_url or f"http://{args.host}:{args.port}")
    web.run_app(create_app(args.mongo_uri, args.db, options), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
