"""Real stores for every test folder: a SQLite file, and a throwaway PostgreSQL database (PG_DSN) per session.

Each Postgres test gets its own schema (via `?search_path=` in the store URL) in a database created for this
session and dropped at its end, so parallel runs and reruns never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from proxy.store import Store, open_store

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")

_UNREACHABLE: list[str] = []


def with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """The DSN of a database made for this session, or None (with the reason kept) when Postgres is down."""
    name = f"shadow_test_{secrets.token_hex(4)}"
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
    """A store URL on a fresh schema of the session database."""
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
    """Each store test runs once per implementation: the shared suite."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()
