"""Real stores for the report tests: a SQLite file and a throwaway Postgres schema."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from report_support import PG_DSN, with_database

_UNREACHABLE: list[str] = []


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A database made for this session (dropped at its end), or None when Postgres is down."""
    name = f"shadow_report_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _UNREACHABLE.append(f"PostgreSQL unreachable at {PG_DSN}: {exc}")
        yield None
        return
    try:
        yield with_database(PG_DSN, name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pg_url(pg_database: str | None) -> AsyncIterator[str]:
    if pg_database is None:
        pytest.skip(_UNREACHABLE[0])
    schema = f"t_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(pg_database, timeout=5)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{pg_database}?search_path={schema}"
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shadow.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url
