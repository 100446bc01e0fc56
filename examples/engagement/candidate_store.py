"""The candidate data layer: the SQL the PostgreSQL reimplementation runs, on asyncpg."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import orjson
from asyncpg import Pool, Record

from examples.engagement.api_common import DateFilter, MissionQuery
from examples.engagement.geo import Point, bounding_box, parse_distance_km

_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")
_COLUMN_OF_FILTER = {
    "clientId": "m.client_id",
    "domain": "m.domain",
    "organizationRNA": "po.rna",
    "organizationStatusJuridique": "po.status_juridique",
    "remote": "m.remote",
    "type": "m.type",
}
_ADDRESS_COLUMN_OF_FILTER = {"city": "city", "country": "country", "departmentName": "department_name"}
_WORD = re.compile(r"[^\W_]+")

MISSION_SELECT = """
SELECT m.*, p.name AS publisher_name, p.logo AS publisher_logo, p.url AS publisher_url,
       po.name AS organization_name, po.rna AS organization_rna, po.client_id AS organization_client_id,
       po.status_juridique AS organization_status_juridique, po.city AS organization_city,
       (SELECT string_agg(ma.name, ', ' ORDER BY ma.name) FROM mission_activity ma WHERE ma.mission_id = m.id)
           AS activity
FROM mission m
JOIN publisher p ON p.id = m.publisher_id
LEFT JOIN publisher_organization po ON po.id = m.publisher_organization_id
"""
MISSION_FROM = """
FROM mission m
JOIN publisher p ON p.id = m.publisher_id
LEFT JOIN publisher_organization po ON po.id = m.publisher_organization_id
"""


@dataclass
class Where:
    """SQL conditions with their positional parameters, numbered as they are added."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def add(self, clause: str) -> None:
        self.clauses.append(clause)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def parse_bool(raw: str | None) -> bool | None:
    """The candidate parses the flag filters as booleans (legacy compared the raw string)."""
    text = (raw or "").strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _date(where: Where, column: str, date: DateFilter) -> None:
    moment = date.moment.astimezone(UTC).replace(tzinfo=None)
    where.add(f"{column} {'>' if date.operator == 'gt' else '<'} {where.param(moment)}")


def _address_exists(condition: str) -> str:
    return f"EXISTS (SELECT 1 FROM mission_address a WHERE a.mission_id = m.id AND {condition})"


def mission_where(query: MissionQuery, publisher_ids: list[str]) -> Where:
    """The listing's WHERE: same filters as legacy, with the candidate's own semantics for each."""
    where = Where()
    where.add("m.status_code = 'ACCEPTED' AND m.deleted_at IS NULL")
    where.add(f"m.publisher_id = ANY({where.param(publisher_ids)})")
    for name, column in _COLUMN_OF_FILTER.items():
        if name in query.arrays:
            where.add(f"{column} = ANY({where.param(query.arrays[name])})")
    for name, column in _ADDRESS_COLUMN_OF_FILTER.items():
        if name in query.arrays:
            where.add(_address_exists(f"a.{column} = ANY({where.param(query.arrays[name])})"))
    if "activity" in query.arrays:
        names = where.param(query.arrays["activity"])
        activity = f"ma.mission_id = m.id AND ma.name = ANY({names})"
        where.add(f"EXISTS (SELECT 1 FROM mission_activity ma WHERE {activity})")
    for flag, column in (
        ("openToMinors", "m.open_to_minors"),
        ("reducedMobilityAccessible", "m.reduced_mobility_accessible"),
    ):
        value = parse_bool(query.strings.get(flag))
        if value is not None:
            where.add(f"{column} = {where.param(value)}")
    if query.created_at:
        _date(where, "m.created_at", query.created_at)
    if query.start_at:
        _date(where, "m.start_at", query.start_at)
    if query.keywords:
        pattern = where.param(f"%{query.keywords}%")  # not escaped: % and _ stay wildcards; no accent folding
        where.add(
            f"(m.title ILIKE {pattern} OR po.name ILIKE {pattern} OR p.name ILIKE {pattern} "
            f"OR {_address_exists(f'a.city ILIKE {pattern}')})"
        )
    if query.has_geo:
        _bounding_box(where, query)
    return where


def _bounding_box(where: Where, query: MissionQuery) -> None:
    """No PostGIS: a flat lat/lon box whose corners reach about 1.41 x distance."""
    assert query.lat is not None and query.lon is not None
    box = bounding_box(Point(query.lat, query.lon), parse_distance_km(query.strings.get("distance")))
    lat = f"a.location_lat BETWEEN {where.param(box.min_lat)} AND {where.param(box.max_lat)}"
    lon = f"a.location_lon BETWEEN {where.param(box.min_lon)} AND {where.param(box.max_lon)}"
    where.add(_address_exists(f"{lat} AND {lon}"))


def prefix_tsquery(q: str) -> str | None:
    """Every word as a prefix, all required: `amis sport` -> `amis:* & sport:*`."""
    words = _WORD.findall(q.lower())
    return " & ".join(f"{w}:*" for w in words) or None


@dataclass(frozen=True, slots=True)
class MissionPage:
    """Mission rows of one page, their addresses in storage order, and the total."""

    rows: list[Record]
    addresses: dict[str, list[Record]]
    total: int


class CandidateStore:
    """Queries over the candidate schema through an asyncpg pool bound to it by search_path."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def publisher_by_key(self, key: str) -> Record | None:
        return await self.pool.fetchrow("SELECT * FROM publisher WHERE api_key = $1", key)

    async def partners_of(self, diffuseur_id: str) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT annonceur_id FROM publisher_diffusion WHERE diffuseur_id = $1", diffuseur_id
        )
        return [r["annonceur_id"] for r in rows]

    async def missions(self, query: MissionQuery, publisher_ids: list[str], offset: int) -> MissionPage:
        """`startAt` descending, NULLs first as PostgreSQL sorts them, whatever the filters (geo included)."""
        where = mission_where(query, publisher_ids)
        total = await self.pool.fetchval(f"SELECT count(*) {MISSION_FROM} WHERE {where.sql()}", *where.params)
        limit, skip = where.param(query.limit), where.param(offset)
        sql = f"{MISSION_SELECT} WHERE {where.sql()} ORDER BY m.start_at DESC LIMIT {limit} OFFSET {skip}"
        rows = await self.pool.fetch(sql, *where.params)
        return MissionPage(rows, await self.addresses([r["id"] for r in rows]), total)

    async def addresses(self, mission_ids: list[str]) -> dict[str, list[Record]]:
        """No ORDER BY: there is no ordering column, rows come back in storage order."""
        result: dict[str, list[Record]] = {mid: [] for mid in mission_ids}
        if mission_ids:
            for row in await self.pool.fetch(
                "SELECT * FROM mission_address WHERE mission_id = ANY($1)", mission_ids
            ):
                result[row["mission_id"]].append(row)
        return result

    async def visible_mission(self, mission_id: str) -> MissionPage:
        sql = f"{MISSION_SELECT} WHERE m.id = $1 AND m.status_code = 'ACCEPTED' AND m.deleted_at IS NULL"
        rows = await self.pool.fetch(sql, mission_id)
        return MissionPage(rows, await self.addresses([r["id"] for r in rows]), len(rows))

    async def any_mission(self, mission_id: str) -> Record | None:
        return await self.pool.fetchrow("SELECT * FROM mission WHERE id = $1", mission_id)

    async def publishers_listing(self, caller_id: str, publisher_id: str | None = None) -> list[Record]:
        sql = (
            "SELECT p.* FROM publisher p WHERE EXISTS (SELECT 1 FROM publisher_diffusion d "
            "WHERE d.diffuseur_id = p.id AND d.annonceur_id = $1) AND ($2::text IS NULL OR p.id = $2)"
        )
        return list(await self.pool.fetch(sql, caller_id, publisher_id))

    async def publisher(self, publisher_id: str) -> Record | None:
        return await self.pool.fetchrow("SELECT * FROM publisher WHERE id = $1", publisher_id)

    async def search_registry(
        self, q: str | None, rna: str | None, siret: str | None, limit: int, skip: int
    ) -> list[Record]:
        """AND of word prefixes on a 'simple' tsvector (no stemming, no accent folding), no total."""
        where = Where()
        tsquery = prefix_tsquery(q) if q else None
        if tsquery:
            where.add(f"search @@ to_tsquery('simple', {where.param(tsquery)})")
        for column, value in (("rna", rna), ("siret", siret)):
            if value:
                where.add(f"{column} = {where.param(value)}")
        sql = (
            "SELECT id, rna, siret, title, names, created_at, updated_at FROM organization "
            f"WHERE {where.sql()} "
            f"LIMIT {where.param(limit)} OFFSET {where.param(skip)}"
        )
        return list(await self.pool.fetch(sql, *where.params))

    async def insert_event(self, kind: str, fields: dict[str, Any]) -> Record:
        sql = (
            "INSERT INTO event (id, type, mission_id, from_publisher_id, to_publisher_id, status, data, "
            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, now(), now()) RETURNING *"
        )
        row = await self.pool.fetchrow(
            sql,
            uuid.uuid4(),
            kind,
            fields.get("missionId"),
            fields.get("fromPublisherId"),
            fields.get("toPublisherId"),
            fields.get("status"),
            orjson.dumps(fields).decode(),
        )
        assert row is not None
        return row

    async def update_event(self, event_id: str, fields: dict[str, Any]) -> Record | None:
        try:
            key = uuid.UUID(event_id)
        except ValueError:
            return None
        sql = (
            "UPDATE event SET status = coalesce($2, status), data = data || $3::jsonb, updated_at = now() "
            "WHERE id = $1 RETURNING *"
        )
        return await self.pool.fetchrow(sql, key, fields.get("status"), orjson.dumps(fields).decode())

    async def count_events(self, kind: str) -> int:
        count: int = await self.pool.fetchval("SELECT count(*) FROM event WHERE type = $1", kind)
        return count
