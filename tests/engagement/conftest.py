"""Session fixtures for the engagement example: one SecantusDB, one loaded database, one throwaway schema.

`examples/` is not installed, so the repository root goes on sys.path. `MONGODB_URI` selects a real mongod,
`PG_DSN` another PostgreSQL.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = str(Path(__file__).resolve().parents[2])
HERE = str(Path(__file__).resolve().parent)  # for engagement_support, whatever pytest's import mode
for path in (REPO_ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from engagement_support import PG_DSN, Client, ClientMaker, run_sync, unique_name  # noqa: E402

from examples.engagement import candidate, legacy  # noqa: E402
from examples.engagement.dataset import default_dataset  # noqa: E402
from examples.engagement.load_mongo import MongoLoadReport, load_mongo  # noqa: E402
from examples.engagement.load_postgres import PostgresLoadReport, drop_schema, load_postgres  # noqa: E402
from examples.engagement.model import Dataset  # noqa: E402
from examples.engagement.mongo_server import MongoServer, running_mongo  # noqa: E402


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return default_dataset()


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    with running_mongo() as server:
        yield server


@pytest.fixture(scope="session")
def mongo_loaded(mongo_server: MongoServer, dataset: Dataset) -> Iterator[tuple[str, MongoLoadReport]]:
    """The dataset in a database of its own, dropped at the end of the session."""
    from pymongo import MongoClient

    name = unique_name("engagement_test")
    report = load_mongo(mongo_server.uri, name, dataset)
    yield name, report
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_server.uri)
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="session")
def mongo_db(mongo_loaded: tuple[str, MongoLoadReport]) -> str:
    return mongo_loaded[0]


@pytest.fixture(scope="session")
def pg_loaded(dataset: Dataset) -> Iterator[tuple[str, PostgresLoadReport]]:
    """The dataset in a throwaway schema, dropped at the end of the session."""
    name = unique_name("engagement_test")
    report = run_sync(load_postgres(PG_DSN, name, dataset))
    yield name, report
    run_sync(drop_schema(PG_DSN, name))


@pytest.fixture(scope="session")
def pg_schema(pg_loaded: tuple[str, PostgresLoadReport]) -> str:
    return pg_loaded[0]


@pytest.fixture
async def legacy_client(aiohttp_client: ClientMaker, mongo_server: MongoServer, mongo_db: str) -> Client:
    return await aiohttp_client(legacy.create_app(mongo_server.uri, mongo_db))


@pytest.fixture
def make_candidate(aiohttp_client: ClientMaker, pg_schema: str) -> Callable[..., Awaitable[Client]]:
    async def make(**options: Any) -> Client:
        return await aiohttp_client(
            candidate.create_app(PG_DSN, pg_schema, candidate.CandidateOptions(**options))
        )

    return make


@pytest.fixture
async def candidate_client(make_candidate: Callable[..., Awaitable[Client]]) -> Client:
    return await make_candidate()


@pytest.fixture
def auth(dataset: Dataset) -> Callable[..., dict[str, str]]:
    """The `x-api-key` header of a diffuseur, Leboncoin (partner of every visible annonceur) by default."""

    def headers(name: str = "Leboncoin") -> dict[str, str]:
        return {"x-api-key": dataset.api_keys[name]}

    return headers
