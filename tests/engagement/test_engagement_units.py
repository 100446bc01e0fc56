"""Pure pieces of the engagement example: parsing, analyzers, query builders, mappings (no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from multidict import MultiDict, MultiDictProxy

from examples.engagement import api_common as api
from examples.engagement.candidate_store import mission_where, parse_bool, prefix_tsquery
from examples.engagement.french import keywords
from examples.engagement.geo import PARIS, bounding_box, haversine_m, parse_distance_km
from examples.engagement.legacy_store import CastError, diacritic_sensitive_regex, mission_filter, object_id
from examples.engagement.load_postgres import checked_schema, cleaned, naive_utc


def query(*pairs: tuple[str, str]) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(pairs))


@pytest.mark.parametrize(
    ("raw", "km"),
    [
        (None, 50.0),
        ("", 50.0),
        ("0", 10.0),
        ("0km", 10.0),
        ("25km", 25.0),
        ("500m", 0.5),
        ("12", 12.0),
        ("x", 50.0),
    ],
)
def test_distance(raw: str | None, km: float) -> None:
    assert parse_distance_km(raw) == km


def test_bounding_box_corners_reach_about_1_41_times_the_distance() -> None:
    from examples.engagement.geo import Point

    box = bounding_box(PARIS, 10)
    corner = Point(box.max_lat, box.max_lon)
    assert 1.38 < haversine_m(PARIS, corner) / 10_000 < 1.44


@pytest.mark.parametrize(
    ("text", "stems"),
    [
        ("Les Amis de la Forêt", ["ami", "foret"]),
        ("amies sportives", ["ami", "sportiv"]),
        ("Club sportif", ["club", "sportif"]),
        ("des et de", []),
    ],
)
def test_french_keywords(text: str, stems: list[str]) -> None:
    assert keywords(text) == stems


@pytest.mark.parametrize(
    ("text", "regex"),
    [("benevolat", "b[eéèêë]n[eéèêë]v[oôö]l[aàâä]t"), ("(H/F", "(H/F"), ("100%", "100%")],
)
def test_diacritic_regex_escapes_nothing(text: str, regex: str) -> None:
    assert diacritic_sensitive_regex(text) == regex


def test_object_id_cast_error_names_the_model() -> None:
    with pytest.raises(CastError, match='Cast to ObjectId failed for value "abc"'):
        object_id("abc", "Mission")


@pytest.mark.parametrize(
    ("pairs", "arrays", "limit", "skip"),
    [
        ((), {}, 25, 0),
        ((("domain", "sport"),), {"domain": ["sport"]}, 25, 0),
        ((("domain", "sport, sante"),), {"domain": ["sport", "sante"]}, 25, 0),
        ((("domain", "sport"), ("domain", " sante ")), {"domain": ["sport", "sante"]}, 25, 0),
        ((("limit", "0"), ("skip", "50")), {}, 0, 50),
        ((("limit", ""),), {}, 0, 0),
        ((("limit", "10000"),), {}, 10000, 0),
    ],
)
def test_mission_query(
    pairs: tuple[tuple[str, str], ...], arrays: dict[str, list[str]], limit: int, skip: int
) -> None:
    parsed = api.parse_mission_query(query(*pairs))
    assert (parsed.arrays, parsed.limit, parsed.skip) == (arrays, limit, skip)


@pytest.mark.parametrize(
    ("pairs", "path"),
    [
        ((("limit", "abc"),), "limit"),
        ((("limit", "10001"),), "limit"),
        ((("skip", "-1"),), "skip"),
        ((("keywords", "a"), ("keywords", "b")), "keywords"),
        ((("lat", "north"),), "lat"),
    ],
)
def test_mission_query_rejections(pairs: tuple[tuple[str, str], ...], path: str) -> None:
    with pytest.raises(api.QueryError) as caught:
        api.parse_mission_query(query(*pairs))
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("pairs", "has_geo"),
    [
        ((("lat", "48.8"), ("lon", "2.3")), True),
        ((("lat", "0"), ("lon", "2.3")), False),
        ((("lat", "48.8"),), False),
    ],
)
def test_geo_needs_both_non_zero(pairs: tuple[tuple[str, str], ...], has_geo: bool) -> None:
    assert api.parse_mission_query(query(*pairs)).has_geo is has_geo


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("gt:2025-01-01", ("gt", datetime(2025, 1, 1, tzinfo=UTC))),
        ("lt:2025-01-01T10:00:00Z", ("lt", None)),
        ("gt:", None),
        ("2025", None),
        ("gt:not-a-date", None),
    ],
)
def test_date_filter(raw: str, expected: tuple[str, datetime | None] | None) -> None:
    parsed = api.date_filter(raw)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None and parsed.operator == expected[0]
        assert expected[1] is None or parsed.moment == expected[1]


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2025, 3, 15, 10, 22, tzinfo=UTC), "2025-03-15T10:22:00.000Z"),
        (datetime(2025, 3, 15, 10, 22, 0, 123999), "2025-03-15T10:22:00.123Z"),
    ],
)
def test_iso_dates_have_milliseconds(moment: datetime, text: str) -> None:
    assert api.iso(moment) == text


def test_legacy_filter_compares_flags_raw_and_builds_regex_or() -> None:
    parsed = api.parse_mission_query(query(("openToMinors", "true"), ("keywords", "(H/F"), ("city", "Paris")))
    where: dict[str, Any] = mission_filter(parsed, ["p1"])
    assert where["openToMinors"] == "true"
    assert where["addresses.city"] == "Paris"
    assert {"title": {"$regex": "(H/F", "$options": "i"}} in where["$or"]


def test_candidate_where_parses_flags_and_keeps_wildcards() -> None:
    parsed = api.parse_mission_query(query(("openToMinors", "true"), ("keywords", "aide_aux")))
    where = mission_where(parsed, ["p1"])
    assert True in where.params and "%aide_aux%" in where.params
    assert "ILIKE" in where.sql()


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("yes", True), ("no", False), ("0", False), ("maybe", None)]
)
def test_candidate_bool(raw: str, value: bool | None) -> None:
    assert parse_bool(raw) is value


@pytest.mark.parametrize(
    ("q", "tsquery"), [("amis sport", "amis:* & sport:*"), ("Forêt", "forêt:*"), ("!!", None)]
)
def test_prefix_tsquery(q: str, tsquery: str | None) -> None:
    assert prefix_tsquery(q) == tsquery


def test_backfill_mapping_helpers() -> None:
    assert cleaned(["a", " a ", "", "b", "a"]) == ["a", "b"]
    assert naive_utc(datetime(2025, 1, 1, tzinfo=UTC)) == datetime(2025, 1, 1)
    with pytest.raises(ValueError, match="schema"):
        checked_schema('x"; DROP TABLE mission; --')
