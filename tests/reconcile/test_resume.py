"""A MongoDB read cut by a dropped connection resumes after the last key read, a bounded number of times."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
from reconcile_support import Stores, fail_next, failpoint_server

from proxy.cli import main
from proxy.reconcile import sources

pytestmark = [pytest.mark.postgres, pytest.mark.mongo]

KEYS = [f"k{n:03d}" for n in range(50)]
JOB = """
[[reconcile]]
name = "resume"
batch_size = 7
mongo = { uri = "URI", database = "resume", collection = "c" }
postgres = { dsn = "{dsn}", table = "{table}" }
key = { source = "_id", target = "id" }
fields = ["v"]
"""


@pytest.fixture(scope="module")
def faulty_mongo() -> Iterator[str]:
    with failpoint_server() as uri:
        yield uri


@pytest.fixture
def job(stores: Stores, name: str, tmp_path: Path, faulty_mongo: str) -> Path:
    with pymongo.MongoClient(faulty_mongo) as client:
        client.resume.c.drop()
        client.resume.c.insert_many([{"_id": key, "v": key} for key in KEYS])
    stores.load_postgres(name, "id text PRIMARY KEY, v text", [[key, key] for key in KEYS])
    return stores.config(tmp_path / "job.toml", name, JOB.replace("URI", faulty_mongo))


def test_dropped_connections_resume_after_the_last_key(job: Path, faulty_mongo: str, tmp_path: Path) -> None:
    fail_next(faulty_mongo, "getMore", times=2)
    out = tmp_path / "report.json"

    code = main(["reconcile", "--config", str(job), "--format", "json", "--out", str(out)])

    totals = json.loads(out.read_text())["jobs"][0]["totals"]
    assert code == 0
    assert (totals["source_read"], totals["matched"], totals["duplicate"]) == (50, 50, 0)


def test_a_connection_that_keeps_dropping_is_an_error(
    job: Path, faulty_mongo: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "RESUME_PAUSE", 0.01)
    fail_next(faulty_mongo, "find", times=10)

    code = main(["reconcile", "--config", str(job)])

    assert code == 2
    assert "query failed: AutoReconnect" in capsys.readouterr().err
