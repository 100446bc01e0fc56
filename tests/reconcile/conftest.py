"""Real stores for the reconcile tests: SecantusDB (or MONGODB_URI) and the PostgreSQL server (PG_DSN).

Each session uses its own MongoDB database and PostgreSQL schema and drops them at the end; each test
loads its own collection and table (named after the test), so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Iterator

import pytest
from reconcile_support import PG_DSN, SECANTUSD, Stores, execute, free_port, postgres_up, wait_for_mongo


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    """MONGODB_URI when set (a real mongod), else a SecantusDB server in memory on a free port."""
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    port = free_port()
    command = [str(SECANTUSD), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"]
    command += ["--log-level", "WARNING"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        wait_for_mongo(uri, server, time.monotonic() + 30)
        yield uri
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
