"""Real stores for the reconcile tests: SecantusDB (or MONGODB_URI) and the PostgreSQL server (PG_DSN).

Each session uses its own MongoDB database and PostgreSQL schema and drops them at the end; each test
loads its own collection and table (named after the test), so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from reconcile_support import PG_DSN, Stores, execute, postgres_up

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:  # `examples/` is not part of the installed distribution
    sys.path.insert(0, REPO_ROOT)

from examples.engagement.mongo_server import running_mongo  # noqa: E402


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    """MONGODB_URI when set (a real mongod), else a SecantusDB server in memory on a free port."""
    with running_mongo() as server:
        yield server.uri


@pytest.fixture(scope="session")
def stores(mongo_uri: str) -> Iterator[Stores]:
    if not postgres_up():
        pytest.skip(f"no PostgreSQL at {PG_DSN}")
    suffix = f"{os.getpid()}"
    schema, database = f"reconcile_{suffix}", f"reconcile_{suffix}"
    asyncio.run(execute([f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"']))
    stores = Stores(mongo_uri, database, schema)
    try:
        yield stores
    finally:
        stores.client.drop_database(database)
        stores.client.close()
        asyncio.run(execute([f'DROP SCHEMA IF EXISTS "{schema}" CASCADE']))


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A collection and table name unique to the test."""
    return re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:60]
