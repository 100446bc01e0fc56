"""What both services share because the real API shared it: auth header, query validation, errors, JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from multidict import MultiMapping

NO_PARTNER_MESSAGE = (
    "Vous n'avez pas encore accès à des missions. "
    "Contactez l'équipe API Engagement pour vous donner accès aux missions"
)
ARRAY_FILTERS = (
    "activity",
    "city",
    "clientId",
    "country",
    "departmentName",
    "domain",
    "organizationRNA",
    "organizationStatusJuridique",
    "publisher",
    "remote",
    "type",
)
STRING_FILTERS = (
    "createdAt",
    "distance",
    "keywords",
    "openToMinors",
    "reducedMobilityAccessible",
    "startAt",
    "text",
)


class QueryError(Exception):
    """A request parameter failed validation (the API's zod schema): answered 400 INVALID_QUERY."""

    code = "INVALID_QUERY"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    def payload(self) -> dict[str, Any]:
        return {"name": "ZodError", "issues": [{"path": [self.path], "message": self.message}]}


class BodyError(QueryError):
    """A write's JSON body is not an object: answered 400 INVALID_BODY."""

    code = "INVALID_BODY"


ACTIVITY_FIELDS = ("missionId", "clickId", "status", "clientEventId", "tag")


@dataclass(frozen=True, slots=True)
class DateFilter:
    """`gt:2025-01-01` or `lt:…`: anything else is silently ignored, as the API did."""

    operator: str  # "gt" | "lt"
    moment: datetime


@dataclass(frozen=True, slots=True)
class MissionQuery:
    """The validated query of `/v0/mission` and `/v0/mission/search`."""

    arrays: dict[str, list[str]] = field(default_factory=dict)
    strings: dict[str, str] = field(default_factory=dict)
    limit: int = 25
    skip: int = 0
    lat: float | None = None
    lon: float | None = None
    created_at: DateFilter | None = None
    start_at: DateFilter | None = None

    @property
    def keywords(self) -> str | None:
        return self.strings.get("keywords") or self.strings.get("text") or None

    @property
    def has_geo(self) -> bool:
        """`lat=0` or `lon=0` disables geo: the API tested them for truthiness."""
        return bool(self.lat) and bool(self.lon)


def api_key(request: web.Request) -> str | None:
    return request.headers.get("x-api-key") or request.headers.get("apikey")


def unauthorized() -> web.Response:
    return web.Response(status=401, text="Unauthorized")


def json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def error(status: int, code: str, message: Any = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "code": code}
    if message is not None:
        body["message"] = message
    return json(body, status)


def no_partner() -> web.Response:
    return error(400, "NO_PARTNER", NO_PARTNER_MESSAGE)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as JavaScript's Date#toJSON; naive values are taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(raw: str, name: str) -> float:
    """zod.coerce.number(): Number("") is 0, Number("x") is NaN and rejected."""
    text = raw.strip()
    try:
        value = float(text) if text else 0.0
    except ValueError:
        raise QueryError(name, "Expected number, received nan") from None
    if not math.isfinite(value):
        raise QueryError(name, "Expected number, received nan")
    return value


def bounded_int(query: MultiMapping[str], name: str, default: int, maximum: int | None) -> int:
    if name not in query:
        return default
    value = _number(query.getall(name)[-1], name)
    if value < 0:
        raise QueryError(name, "Number must be greater than or equal to 0")
    if maximum is not None and value > maximum:
        raise QueryError(name, f"Number must be less than or equal to {maximum}")
    return int(value)


def optional_string(query: MultiMapping[str], name: str) -> str | None:
    values = query.getall(name, [])
    if len(values) > 1:
        raise QueryError(name, "Expected string, received array")
    return values[0] if values else None


def array_values(query: MultiMapping[str], name: str) -> list[str] | None:
    """One value, a comma list, or a repeated parameter; values trimmed."""
    values = query.getall(name, [])
    if not values:
        return None
    if len(values) == 1:
        return [v.strip() for v in values[0].split(",")]
    return [v.strip() for v in values]


def date_filter(raw: str | None) -> DateFilter | None:
    if not raw or len(raw) <= 3:
        return None
    operator, text = raw[:3], raw[3:]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return DateFilter("gt" if operator == "gt:" else "lt", moment)


def parse_mission_query(query: MultiMapping[str]) -> MissionQuery:
    """Validate like the API's zod schema; raises QueryError."""
    arrays = {name: values for name in ARRAY_FILTERS if (values := array_values(query, name)) is not None}
    strings = {name: value for name in STRING_FILTERS if (value := optional_string(query, name)) is not None}
    lat, lon = optional_string(query, "lat"), optional_string(query, "lon")
    return MissionQuery(
        arrays=arrays,
        strings=strings,
        limit=bounded_int(query, "limit", 25, 10000),
        skip=bounded_int(query, "skip", 0, None),
        lat=None if lat is None else _number(lat, "lat"),
        lon=None if lon is None else _number(lon, "lon"),
        created_at=date_filter(strings.get("createdAt")),
        start_at=date_filter(strings.get("startAt")),
    )


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=orjson.loads)
    except ValueError:
        raise BodyError("body", "Expected a JSON object") from None
    if not isinstance(body, dict):
        raise BodyError("body", "Expected a JSON object")
    return body


def activity_fields(body: dict[str, Any]) -> dict[str, str]:
    """The fields an activity write may set; others are ignored."""
    return {k: str(body[k]) for k in ACTIVITY_FIELDS if body.get(k) is not None}


def partner_ids(query: MissionQuery, partners: list[str]) -> list[str]:
    """The caller's partners, narrowed by `publisher=` to the ones it may see."""
    asked = query.arrays.get("publisher")
    return partners if asked is None else [p for p in asked if p in partners]


def tracked_url(api_url: str, mission_id: str, caller_id: str) -> str:
    """The applicationUrl the API hands out: a redirect through the deployment's own host."""
    return f"{api_url}/r/{mission_id}/{caller_id}"


def facet_buckets(counts: list[tuple[Any, int]]) -> list[dict[str, Any]]:
    return [{"key": key, "doc_count": count} for key, count in counts]
