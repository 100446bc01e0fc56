"""Session fixtures for the e2e tests: one SecantusDB and one PostgreSQL schema holding a light dataset.

`examples/` is not installed, so the repository root goes on sys.path (and this folder, for e2e_support).
`MONGODB_URI` selects a real mongod, `PG_DSN` another PostgreSQL.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = str(Path(__file__).resolve().parents[2])
HERE = str(Path(__file__).resolve().parent)
for path in (REPO_ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from e2e_support import E2E_MISSIONS, PG_DSN, Stack, run_sync, unique_name  # noqa: E402

from examples.engagement.dataset import default_dataset  # noqa: E402
from examples.engagement.load_mongo import load_mongo  # noqa: E402
from examples.engagement.load_postgres import drop_schema, load_postgres  # noqa: E402
from examples.engagement.mongo_server import running_mongo  # noqa: E402


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """Both stores loaded from one light dataset; dropped (and SecantusDB stopped) at the end."""
    from pymongo import MongoClient

    dataset = default_dataset(E2E_MISSIONS)
    name = unique_name("engagement_e2e")
    with running_mongo() as mongo:
        load_mongo(mongo.uri, name, dataset)
        run_sync(load_postgres(PG_DSN, name, dataset))
        try:
            yield Stack(dataset, mongo.uri, name, PG_DSN, name)
        finally:
            run_sync(drop_schema(PG_DSN, name))
            client: MongoClient[dict[str, Any]] = MongoClient(mongo.uri)
            client.drop_database(name)
            client.close()
