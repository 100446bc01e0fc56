"""Both loaders round-trip the dataset with the backfill's mapping, and reloading is idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from bson import ObjectId
from engagement_support import PG_DSN, run_sync, unique_name
from pymongo import MongoClient

from examples.engagement.load_mongo import MongoLoadReport, load_mongo
from examples.engagement.load_postgres import PostgresLoadReport, drop_schema, load_postgres
from examples.engagement.model import Dataset, Mission
from examples.engagement.mongo_server import MongoServer

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def mongo(mongo_server: MongoServer, mongo_db: str) -> Iterator[Any]:
    client: MongoClient[Doc] = MongoClient(mongo_server.uri, tz_aware=True)
    yield client[mongo_db]
    client.close()


def first(dataset: Dataset, predicate: Any) -> Mission:
    return next(m for m in dataset.missions if not m.candidate_only and predicate(m))


@pytest.mark.mongo
class TestMongo:
    def test_counts_leave_out_candidate_only_rows(
        self, mongo: Any, dataset: Dataset, mongo_loaded: tuple[str, MongoLoadReport]
    ) -> None:
        fresh = sum(m.candidate_only for m in dataset.missions)
        assert mongo.missions.count_documents({}) == len(dataset.missions) - fresh == mongo_loaded[1].missions
        assert mongo.publishers.count_documents({}) == 50
        assert mongo.organizations.count_documents({}) == 300

    def test_flags_are_yes_no_strings_and_missing_start_is_absent(self, mongo: Any, dataset: Dataset) -> None:
        mission = first(dataset, lambda m: m.start_at is None)
        doc = mongo.missions.find_one({"_id": ObjectId(mission.id)})
        assert doc["openToMinors"] in ("yes", "no") and doc["closeToTransport"] in ("yes", "no")
        assert "startAt" not in doc and doc["deletedAt"] is None

    def test_addresses_keep_empty_parts_and_carry_geo_points(self, mongo: Any, dataset: Dataset) -> None:
        mission = first(dataset, lambda m: any(a.postal_code == "" for a in m.addresses))
        doc = mongo.missions.find_one({"_id": ObjectId(mission.id)})
        partial = next(a for a in doc["addresses"] if a["postalCode"] == "")
        assert partial["departmentName"] == "" and isinstance(partial["_id"], ObjectId)
        located = next(a for a in mission.addresses if a.location)
        stored = next(a for a in doc["addresses"] if str(a["_id"]) == located.mongo_id)
        assert located.location is not None
        assert stored["geoPoint"]["coordinates"] == [located.location.lon, located.location.lat]
        assert doc["city"] == doc["addresses"][0]["city"]

    def test_dates_are_truncated_to_milliseconds(self, mongo: Any, dataset: Dataset) -> None:
        mission = first(dataset, lambda m: m.updated_at.microsecond % 1000 >= 500)
        doc = mongo.missions.find_one({"_id": ObjectId(mission.id)})
        assert doc["updatedAt"].microsecond == mission.updated_at.microsecond // 1000 * 1000

    def test_indexes(self, mongo: Any, mongo_loaded: tuple[str, MongoLoadReport]) -> None:
        keys = [spec["key"] for spec in mongo.missions.index_information().values()]
        assert [("addresses.geoPoint", "2dsphere")] in keys
        has_text = any(
            k == "text" for spec in mongo.organizations.index_information().values() for _, k in spec["key"]
        )
        assert has_text is mongo_loaded[1].text_index
        assert mongo.organizations.find_one({"_keywords": "ami"}) is not None

    def test_reload_is_idempotent(self, mongo_server: MongoServer, dataset: Dataset) -> None:
        name = unique_name("engagement_reload")
        first_load, second_load = (
            load_mongo(mongo_server.uri, name, dataset),
            load_mongo(mongo_server.uri, name, dataset),
        )
        client: MongoClient[Doc] = MongoClient(mongo_server.uri)
        try:
            assert first_load == second_load
            assert client[name].missions.count_documents({}) == first_load.missions
        finally:
            client.drop_database(name)
            client.close()


async def fetch(schema: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(PG_DSN, server_settings={"search_path": schema})
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@pytest.mark.postgres
class TestPostgres:
    def test_counts(self, pg_loaded: tuple[str, PostgresLoadReport], dataset: Dataset) -> None:
        report = pg_loaded[1]
        assert report.missions == len(dataset.missions)
        assert report.addresses == sum(len(m.addresses) for m in dataset.missions)
        assert report.activities == sum(len(m.activity_names) for m in dataset.missions)

    async def test_booleans_nulls_and_the_forgotten_flag(self, pg_schema: str, dataset: Dataset) -> None:
        mission = first(dataset, lambda m: m.start_at is None and m.status_comment == "")
        [row] = await fetch(pg_schema, "SELECT * FROM mission WHERE id = $1", mission.id)
        assert row["open_to_minors"] is mission.open_to_minors
        assert row["close_to_transport"] == ("yes" if mission.close_to_transport else "no")
        assert row["start_at"] is None and row["status_comment"] is None

    async def test_empty_address_parts_become_null(self, pg_schema: str, dataset: Dataset) -> None:
        mission = first(dataset, lambda m: any(a.postal_code == "" for a in m.addresses))
        rows = await fetch(pg_schema, "SELECT * FROM mission_address WHERE mission_id = $1", mission.id)
        assert any(r["postal_code"] is None and r["department_name"] is None for r in rows)
        assert {str(r["id"]) for r in rows} == {a.uuid for a in mission.addresses}

    async def test_arrays_cleaned_and_activities_split(self, pg_schema: str, dataset: Dataset) -> None:
        mission = first(dataset, lambda m: "" in m.tags and "," in m.activity)
        [row] = await fetch(pg_schema, "SELECT tags FROM mission WHERE id = $1", mission.id)
        assert "" not in row["tags"] and len(set(row["tags"])) == len(row["tags"])
        names = await fetch(
            pg_schema, "SELECT name FROM mission_activity WHERE mission_id = $1 ORDER BY name", mission.id
        )
        assert tuple(r["name"] for r in names) == mission.activity_names

    async def test_timestamps_are_rounded_to_milliseconds(self, pg_schema: str, dataset: Dataset) -> None:
        mission = first(
            dataset, lambda m: m.updated_at.microsecond % 1000 >= 500 and m.updated_at.microsecond < 999_000
        )
        [row] = await fetch(pg_schema, "SELECT updated_at FROM mission WHERE id = $1", mission.id)
        assert row["updated_at"].tzinfo is None
        assert row["updated_at"].microsecond == (mission.updated_at.microsecond // 1000 + 1) * 1000

    async def test_candidate_only_rows_have_uuid_ids(self, pg_schema: str) -> None:
        rows = await fetch(pg_schema, "SELECT id FROM mission WHERE id !~ '^[0-9a-f]{24}$'")
        assert len(rows) == 5

    async def test_registry_search_vector(self, pg_schema: str) -> None:
        rows = await fetch(
            pg_schema, "SELECT title FROM organization WHERE search @@ to_tsquery('simple', 'amis:*')"
        )
        assert rows and all("amis" in r["title"].lower() or "amicale" in r["title"].lower() for r in rows)

    def test_reload_is_idempotent(self, dataset: Dataset) -> None:
        name = unique_name("engagement_reload")
        try:
            assert run_sync(load_postgres(PG_DSN, name, dataset)) == run_sync(
                load_postgres(PG_DSN, name, dataset)
            )
        finally:
            run_sync(drop_schema(PG_DSN, name))
