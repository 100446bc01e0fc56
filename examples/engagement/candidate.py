"""The candidate API Engagement service: aiohttp on PostgreSQL, with the reimplementation's behaviours.

Run: python -m examples.engagement.candidate --port 8002 --dsn postgresql://127.0.0.1/test --schema eng
Planted regression (e2e tests): --bug pagination_off_by_one|drop_field|timezone, or ENGAGEMENT_CANDIDATE_BUG.
"""

from __future__ import annotations

import argparse
import enum
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from asyncpg import Record

from examples.engagement import api_common as api
from examples.engagement.candidate_store import CandidateStore, MissionPage
from examples.engagement.geo import Point, app_distance_km
from examples.engagement.legacy import FALLBACK_URL, tracking_url

BUG_ENV = "ENGAGEMENT_CANDIDATE_BUG"
SERVER_ZONE = ZoneInfo("Europe/Paris")


class Bug(enum.StrEnum):
    """Deliberate regressions the e2e tests switch on to check the proxy reports them."""

    PAGINATION_OFF_BY_ONE = "pagination_off_by_one"  # skip > 0 skips one row too many
    DROP_FIELD = "drop_field"  # missions lose `places`
    TIMEZONE = "timezone"  # naive timestamps read as server-local time (Europe/Paris)


@dataclass(frozen=True, slots=True)
class CandidateOptions:
    """Deployment settings: its public URL (embedded in applicationUrl) and an optional planted bug."""

    api_url: str = "https://api-pg.api-engagement.beta.gouv.fr"
    bug: Bug | None = None


STORE = web.AppKey("candidate_store", CandidateStore)
OPTIONS = web.AppKey("candidate_options", CandidateOptions)
CALLER = web.RequestKey("candidate_caller", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Serializer:
    """Rows to the candidate's JSON: nulls rather than absent fields, booleans, `id`s in addresses."""

    def __init__(self, options: CandidateOptions, caller_id: str) -> None:
        self.options = options
        self.caller_id = caller_id

    def date(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        if self.options.bug is Bug.TIMEZONE:
            return api.iso(moment.replace(tzinfo=SERVER_ZONE))
        return api.iso(moment)

    def address(self, row: Record) -> dict[str, Any]:
        return {
            "id": str(row["id"]),
            "street": row["street"],
            "postalCode": row["postal_code"],
            "departmentName": row["department_name"],
            "departmentCode": row["department_code"],
            "city": row["city"],
            "region": row["region"],
            "country": row["country"],
            "location": _location(row),
        }

    def mission(self, row: Record, addresses: list[Record]) -> dict[str, Any]:
        first = addresses[0] if addresses else None
        out: dict[str, Any] = {
            "_id": row["id"],
            "id": row["id"],
            "clientId": row["client_id"],
            "activity": row["activity"],
            "address": first["street"] if first else None,
            "city": first["city"] if first else None,
            "postalCode": first["postal_code"] if first else None,
            "departmentCode": first["department_code"] if first else None,
            "departmentName": first["department_name"] if first else None,
            "country": first["country"] if first else None,
            "location": _location(first) if first else None,
            "addresses": [self.address(a) for a in addresses],
            "applicationUrl": api.tracked_url(self.options.api_url, row["id"], self.caller_id),
        }
        out.update(self._tail(row))
        if self.options.bug is Bug.DROP_FIELD:
            del out["places"]
        return out

    def _tail(self, row: Record) -> dict[str, Any]:
        return {
            "audience": row["audience"],
            "closeToTransport": row["close_to_transport"],
            "createdAt": self.date(row["created_at"]),
            "deleted": row["deleted_at"] is not None,
            "deletedAt": self.date(row["deleted_at"]),
            "description": row["description"],
            "domain": row["domain"],
            "duration": row["duration"],
            "endAt": self.date(row["end_at"]),
            "lastSyncAt": self.date(row["last_sync_at"]),
            "openToMinors": row["open_to_minors"],
            "organizationCity": row["organization_city"],
            "organizationClientId": row["organization_client_id"],
            "organizationId": row["publisher_organization_id"],
            "organizationName": row["organization_name"],
            "organizationRNA": row["organization_rna"],
            "organizationStatusJuridique": row["organization_status_juridique"],
            "places": row["places"],
            "postedAt": self.date(row["posted_at"]),
            "publisherId": row["publisher_id"],
            "publisherLogo": row["publisher_logo"],
            "publisherName": row["publisher_name"],
            "publisherUrl": row["publisher_url"],
            "reducedMobilityAccessible": row["reduced_mobility_accessible"],
            "remote": row["remote"],
            "softSkills": row["soft_skills"],
            "requirements": row["requirements"],
            "startAt": self.date(row["start_at"]),
            "statusCode": row["status_code"],
            "statusComment": row["status_comment"],
            "statusCommentHistoric": [],  # the history table was not migrated
            "tags": row["tags"],
            "tasks": row["tasks"],
            "title": row["title"],
            "type": row["type"],
            "updatedAt": self.date(row["updated_at"]),
        }

    def page(self, page: MissionPage) -> list[dict[str, Any]]:
        return [self.mission(r, page.addresses[r["id"]]) for r in page.rows]


def _location(row: Record) -> dict[str, float] | None:
    if row["location_lat"] is None or row["location_lon"] is None:
        return None
    return {"lat": row["location_lat"], "lon": row["location_lon"]}


def publisher_json(row: Record) -> dict[str, Any]:
    return {
        "_id": row["id"],
        "name": row["name"],
        "category": row["category"],
        "url": row["url"],
        "logo": row["logo"],
        "description": row["description"],
        "widget": False,
        "api": row["is_diffuseur"],
        "campaign": False,
        "annonceur": row["is_annonceur"],
        "excludedOrganizations": [],
    }


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
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
    if request.path.startswith("/r/"):
        return await handler(request)
    key = api.api_key(request)
    caller = await request.app[STORE].publisher_by_key(key) if key else None
    if caller is None:
        return api.unauthorized()
    request[CALLER] = dict(caller)
    return await handler(request)


def _serializer(request: web.Request) -> Serializer:
    return Serializer(request.app[OPTIONS], request[CALLER]["id"])


async def _page(request: web.Request) -> tuple[api.MissionQuery, MissionPage] | web.Response:
    query = api.parse_mission_query(request.query)
    store = request.app[STORE]
    partners = await store.partners_of(request[CALLER]["id"])
    if not partners:
        return api.no_partner()
    off_by_one = request.app[OPTIONS].bug is Bug.PAGINATION_OFF_BY_ONE and query.skip > 0
    page = await store.missions(
        query, api.partner_ids(query, partners), query.skip + 1 if off_by_one else query.skip
    )
    return query, page


async def list_missions(request: web.Request) -> web.Response:
    result = await _page(request)
    if isinstance(result, web.Response):
        return result
    query, page = result
    data = _serializer(request).page(page)
    return api.json({"ok": True, "total": page.total, "data": data, "limit": query.limit, "skip": query.skip})


async def search_missions(request: web.Request) -> web.Response:
    result = await _page(request)
    if isinstance(result, web.Response):
        return result
    query, page = result
    origin = Point(query.lat, query.lon) if query.lat is not None and query.lon is not None else None
    hits = [
        {**m, "_distance": app_distance_km(origin, _point(m["location"]))}
        for m in _serializer(request).page(page)
    ]
    facets = {
        "departmentName": _buckets(h["departmentName"] for h in hits),
        "activities": _buckets(name for h in hits for name in (h["activity"] or "").split(", ") if name),
        "domains": _buckets(h["domain"] for h in hits),
    }  # counted over the returned page only
    return api.json({"ok": True, "total": page.total, "hits": hits, "facets": facets})


def _point(location: dict[str, float] | None) -> Point | None:
    return Point(location["lat"], location["lon"]) if location else None


def _buckets(keys: Iterable[Any]) -> list[dict[str, Any]]:
    counts = Counter(keys)
    return api.facet_buckets(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


async def mission_by_id(request: web.Request) -> web.Response:
    """Refused, deleted, unknown and malformed ids are all a plain 404."""
    page = await request.app[STORE].visible_mission(request.match_info["id"])
    if not page.rows:
        return api.error(404, "NOT_FOUND")
    return api.json({"ok": True, "data": _serializer(request).page(page)[0]})


async def list_publishers(request: web.Request) -> web.Response:
    data = [publisher_json(r) for r in await request.app[STORE].publishers_listing(request[CALLER]["id"])]
    return api.json({"ok": True, "data": data, "total": len(data)})


async def publisher_by_id(request: web.Request) -> web.Response:
    rows = await request.app[STORE].publishers_listing(request[CALLER]["id"], request.match_info["id"])
    if not rows:
        return api.error(404, "NOT_FOUND", "Publisher not found")
    return api.json({"ok": True, "data": publisher_json(rows[0])})


async def search_organizations(request: web.Request) -> web.Response:
    q, rna, siret = (api.optional_string(request.query, n) for n in ("q", "rna", "siret"))
    limit, skip = (
        api.bounded_int(request.query, "limit", 25, 100),
        api.bounded_int(request.query, "skip", 0, None),
    )
    rows = await request.app[STORE].search_registry(q, rna, siret, limit, skip)
    data = [
        {
            "_id": r["id"],
            "rna": r["rna"],
            "siret": r["siret"],
            "title": r["title"],
            "names": r["names"],
            "createdAt": api.iso(r["created_at"]),
            "updatedAt": api.iso(r["updated_at"]),
        }
        for r in rows
    ]
    return api.json({"ok": True, "data": data})


def event_json(row: Record) -> dict[str, Any]:
    return {
        "_id": str(row["id"]),
        "type": row["type"],
        "missionId": row["mission_id"],
        "fromPublisherId": row["from_publisher_id"],
        "toPublisherId": row["to_publisher_id"],
        "status": row["status"],
        "createdAt": api.iso(row["created_at"]),
        "updatedAt": api.iso(row["updated_at"]) if row["updated_at"] else None,
    }


async def redirect(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    mission = await store.any_mission(request.match_info["missionId"])
    publisher = await store.publisher(request.match_info["publisherId"])
    if mission is None or publisher is None:
        raise web.HTTPFound(FALLBACK_URL)
    fields = {
        "missionId": mission["id"],
        "toPublisherId": mission["publisher_id"],
        "fromPublisherId": publisher["id"],
    }
    event = await store.insert_event("click", fields)
    raise web.HTTPFound(tracking_url(mission["application_url"], str(event["id"]), publisher["name"]))


async def impression(request: web.Request) -> web.Response:
    store = request.app[STORE]
    mission = await store.any_mission(request.match_info["missionId"])
    if mission is None:
        return api.error(404, "NOT_FOUND")
    fields = {
        "missionId": mission["id"],
        "toPublisherId": mission["publisher_id"],
        "fromPublisherId": request.match_info["publisherId"],
    }
    return api.json({"ok": True, "data": event_json(await store.insert_event("print", fields))})


async def create_activity(request: web.Request) -> web.Response:
    fields = {**api.activity_fields(await api.json_body(request)), "fromPublisherId": request[CALLER]["id"]}
    fields.setdefault("status", "PENDING")
    return api.json({"ok": True, "data": event_json(await request.app[STORE].insert_event("apply", fields))})


async def update_activity(request: web.Request) -> web.Response:
    fields = api.activity_fields(await api.json_body(request))
    row = await request.app[STORE].update_event(request.match_info["id"], fields)
    if row is None:
        return api.error(404, "NOT_FOUND")
    return api.json({"ok": True, "data": event_json(row)})


def create_app(dsn: str, schema: str, options: CandidateOptions | None = None) -> web.Application:
    """The candidate service over `schema`; the asyncpg pool lives in the app's cleanup context."""
    app = web.Application(middlewares=[errors, authenticate])
    app[OPTIONS] = options or CandidateOptions()

    async def postgres(app: web.Application) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=5, server_settings={"search_path": schema})
        app[STORE] = CandidateStore(pool)
        yield
        await pool.close()

    app.cleanup_ctx.append(postgres)
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
    parser = argparse.ArgumentParser(description="Candidate API Engagement (PostgreSQL)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--api-url", help="public URL embedded in applicationUrl (default: this server)")
    parser.add_argument("--bug", choices=[b.value for b in Bug], default=os.environ.get(BUG_ENV) or None)
    args = parser.parse_args(argv)
    options = CandidateOptions(
        args.api_url or f"http://{args.host}:{args.port}", Bug(args.bug) if args.bug else None
    )
    web.run_app(create_app(args.dsn, args.schema, options), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
