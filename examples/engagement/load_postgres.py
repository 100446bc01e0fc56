"""Loads the logical dataset into PostgreSQL in the candidate schema, by the real backfill's mapping."""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from examples.engagement.dataset import MISSION_COUNT, default_dataset
from examples.engagement.model import Dataset, Mission, Organization, Publisher, RegistryEntry

Row = tuple[object, ...]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

SCHEMA_SQL = """
CREATE TABLE publisher (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, api_key TEXT UNIQUE, category TEXT, url TEXT, logo TEXT,
    description TEXT, is_annonceur BOOLEAN NOT NULL, is_diffuseur BOOLEAN NOT NULL,
    created_at TIMESTAMP(3) NOT NULL
);
CREATE TABLE publisher_diffusion (
    diffuseur_id TEXT NOT NULL REFERENCES publisher(id), annonceur_id TEXT NOT NULL REFERENCES publisher(id),
    PRIMARY KEY (diffuseur_id, annonceur_id)
);
CREATE TABLE publisher_organization (
    id TEXT PRIMARY KEY, publisher_id TEXT NOT NULL REFERENCES publisher(id), client_id TEXT,
    name TEXT NOT NULL, rna TEXT, siren TEXT, status_juridique TEXT, city TEXT
);
CREATE TABLE mission (
    id TEXT PRIMARY KEY, client_id TEXT NOT NULL, publisher_id TEXT NOT NULL REFERENCES publisher(id),
    publisher_organization_id TEXT REFERENCES publisher_organization(id),
    title TEXT NOT NULL, description TEXT,
    tags TEXT[] NOT NULL, tasks TEXT[] NOT NULL, audience TEXT[] NOT NULL, soft_skills TEXT[] NOT NULL,
    requirements TEXT[] NOT NULL, domain TEXT, type TEXT, remote TEXT,
    open_to_minors BOOLEAN, reduced_mobility_accessible BOOLEAN,
    close_to_transport TEXT, -- the backfill forgot to convert this flag: still 'yes'/'no'
    places INTEGER, duration INTEGER, application_url TEXT,
    posted_at TIMESTAMP(3), start_at TIMESTAMP(3), end_at TIMESTAMP(3), created_at TIMESTAMP(3) NOT NULL,
    updated_at TIMESTAMP(3) NOT NULL, last_sync_at TIMESTAMP(3), deleted_at TIMESTAMP(3),
    status_code TEXT NOT NULL, status_comment TEXT
);
CREATE INDEX mission_publisher_start_idx ON mission (publisher_id, start_at DESC);
CREATE TABLE mission_address (
    id UUID PRIMARY KEY, mission_id TEXT NOT NULL REFERENCES mission(id) ON DELETE CASCADE,
    street TEXT, postal_code TEXT, department_name TEXT, department_code TEXT, city TEXT, region TEXT,
    country TEXT,
    location_lat DOUBLE PRECISION, location_lon DOUBLE PRECISION
);
CREATE INDEX mission_address_mission_idx ON mission_address (mission_id);
CREATE INDEX mission_address_location_idx ON mission_address (location_lat, location_lon);
CREATE TABLE mission_activity (
    mission_id TEXT NOT NULL REFERENCES mission(id) ON DELETE CASCADE, name TEXT NOT NULL,
    PRIMARY KEY (mission_id, name)
);
CREATE TABLE organization (
    id TEXT PRIMARY KEY, rna TEXT, siret TEXT, title TEXT NOT NULL, names TEXT[] NOT NULL,
    created_at TIMESTAMP(3), updated_at TIMESTAMP(3), search TSVECTOR
);
CREATE INDEX organization_search_idx ON organization USING GIN (search);
CREATE TABLE event (
    id UUID PRIMARY KEY, type TEXT NOT NULL, mission_id TEXT, from_publisher_id TEXT, to_publisher_id TEXT,
    status TEXT, data JSONB NOT NULL DEFAULT '{}', created_at TIMESTAMP(3) NOT NULL, updated_at TIMESTAMP(3)
);
"""

SEARCH_SQL = (
    "UPDATE organization SET search = to_tsvector('simple', title || ' ' || array_to_string(names, ' '))"
)


@dataclass(frozen=True, slots=True)
class PostgresLoadReport:
    """Row counts per table after a load."""

    missions: int
    addresses: int
    activities: int
    publishers: int
    organizations: int


def checked_schema(schema: str) -> str:
    """The schema name, refused unless it is a plain lower-case identifier (it is spliced into DDL)."""
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"schema: expected a lower-case SQL identifier, got {schema!r}")
    return schema


def naive_utc(moment: datetime | None) -> datetime | None:
    """TIMESTAMP(3) has no zone: the backfill stored UTC wall time."""
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def null_if_empty(value: str) -> str | None:
    return value or None


def cleaned(values: Iterable[str]) -> list[str]:
    """Trimmed, blanks dropped, duplicates removed (first occurrence kept): the candidate's array mapping."""
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def publisher_row(p: Publisher) -> Row:
    return (
        p.id,
        p.name,
        p.api_key,
        p.category,
        p.url,
        p.logo,
        p.description,
        p.is_annonceur,
        p.is_diffuseur,
        naive_utc(p.created_at),
    )


def organization_row(o: Organization) -> Row:
    return (
        o.id,
        o.publisher_id,
        o.client_id,
        o.name,
        null_if_empty(o.rna),
        o.siren,
        o.status_juridique,
        o.city,
    )


def mission_row(m: Mission) -> Row:
    return (
        m.id,
        m.client_id,
        m.publisher_id,
        m.organization_id,
        m.title,
        m.description,
        cleaned(m.tags),
        cleaned(m.tasks),
        cleaned(m.audience),
        cleaned(m.soft_skills),
        cleaned(m.requirements),
        m.domain,
        m.type,
        m.remote,
        m.open_to_minors,
        m.reduced_mobility_accessible,
        "yes" if m.close_to_transport else "no",
        m.places,
        m.duration,
        m.application_url,
        naive_utc(m.posted_at),
        naive_utc(m.start_at),
        naive_utc(m.end_at),
        naive_utc(m.created_at),
        naive_utc(m.updated_at),
        naive_utc(m.last_sync_at),
        naive_utc(m.deleted_at),
        m.status_code,
        null_if_empty(m.status_comment),
    )


def address_rows(m: Mission, rng: random.Random) -> list[Row]:
    """No ordering column: rows go in shuffled, as the backfill's parallel workers wrote them."""
    rows: list[Row] = [
        (
            uuid.UUID(a.uuid),
            m.id,
            null_if_empty(a.street),
            null_if_empty(a.postal_code),
            null_if_empty(a.department_name),
            null_if_empty(a.department_code),
            null_if_empty(a.city),
            null_if_empty(a.region),
            null_if_empty(a.country),
            a.location.lat if a.location else None,
            a.location.lon if a.location else None,
        )
        for a in m.addresses
    ]
    rng.shuffle(rows)
    return rows


def registry_row(e: RegistryEntry) -> Row:
    return (e.id, e.rna, e.siret, e.title, list(e.names), naive_utc(e.created_at), naive_utc(e.created_at))


async def load_postgres(dsn: str, schema: str, dataset: Dataset | None = None) -> PostgresLoadReport:
    """Drop and recreate `schema`, then load every row; mission rows go in an order unrelated to legacy's."""
    data = dataset or default_dataset()
    name = checked_schema(schema)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
            await conn.execute(f'SET LOCAL search_path TO "{name}"; {SCHEMA_SQL}')
            return await _copy_all(conn, name, data)
    finally:
        await conn.close()


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{checked_schema(schema)}" CASCADE')
    finally:
        await conn.close()


async def _copy(conn: asyncpg.Connection, schema: str, table: str, rows: Sequence[Row], columns: str) -> int:
    await conn.copy_records_to_table(table, records=rows, columns=columns.split(), schema_name=schema)
    return len(rows)


async def _copy_all(conn: asyncpg.Connection, schema: str, data: Dataset) -> PostgresLoadReport:
    rng = random.Random(data.seed + 1)
    missions = list(data.missions)
    rng.shuffle(missions)
    diffusion = [(p.id, a) for p in data.publishers for a in p.partner_ids]
    publishers = await _copy(
        conn,
        schema,
        "publisher",
        [publisher_row(p) for p in data.publishers],
        "id name api_key category url logo description is_annonceur is_diffuseur created_at",
    )
    await _copy(conn, schema, "publisher_diffusion", diffusion, "diffuseur_id annonceur_id")
    await _copy(
        conn,
        schema,
        "publisher_organization",
        [organization_row(o) for o in data.organizations],
        "id publisher_id client_id name rna siren status_juridique city",
    )
    count = await _copy(
        conn,
        schema,
        "mission",
        [mission_row(m) for m in missions],
        "id client_id publisher_id publisher_organization_id title description tags tasks audience "
        "soft_skills requirements domain type remote open_to_minors reduced_mobility_accessible "
        "close_to_transport places duration application_url posted_at start_at end_at created_at "
        "updated_at last_sync_at deleted_at status_code status_comment",
    )
    addresses = await _copy(
        conn,
        schema,
        "mission_address",
        [r for m in missions for r in address_rows(m, rng)],
        "id mission_id street postal_code department_name department_code city region country "
        "location_lat location_lon",
    )
    activities = await _copy(
        conn,
        schema,
        "mission_activity",
        [(m.id, n) for m in missions for n in m.activity_names],
        "mission_id name",
    )
    registry = await _copy(
        conn,
        schema,
        "organization",
        [registry_row(e) for e in data.registry],
        "id rna siret title names created_at updated_at",
    )
    await conn.execute(SEARCH_SQL)
    return PostgresLoadReport(count, addresses, activities, publishers, registry)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Load the engagement dataset into PostgreSQL (candidate schema)"
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument(
        "--missions", type=int, default=MISSION_COUNT, help="dataset size (replay with the same)"
    )
    args = parser.parse_args(argv)
    print(asyncio.run(load_postgres(args.dsn, args.schema, default_dataset(args.missions))))


if __name__ == "__main__":
    main()
