"""Errors exit 2 with a message naming what is wrong: bad config, unreachable servers, bad queries."""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from reconcile_support import Stores

from proxy.cli import main

JOB = """
[[reconcile]]
name = "errors"
mongo = {mongo} }
postgres = { dsn = "{dsn}", table = "{table}" }
key = { source = "_id", target = "id" }
fields = ["v"]
"""


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but never listening: connections to it are refused for as long as the test runs."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


def run(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["reconcile", "--config", str(config), *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[reconcile]]\nname = 'x'\n", "reconcile[0].key: required"),
        ("[[reconcile]]\nname = 'x'\n", "reconcile[0].mongo.uri: required (or pass --mongo-uri URI)"),
        ("[[reconcile]]\nname = 'x'\n", "reconcile[0].postgres: needs a query (a SELECT) or a table"),
        (
            "[[reconcile]]\nkey = { source = '_id', target = 'id', type = 'uuid' }",
            "reconcile[0].key.type: expected",
        ),
        ("[[reconcile]]\nfields = { '$.a[*]' = 'a' }", "reconcile[0].fields.'$.a[*]': expected a field name"),
        ("[[reconcile]]\nmongo = { uri = 'http://x' }", "reconcile[0].mongo.uri: expected mongodb://"),
        ("[[reconcile]]\nbatchsize = 1", "reconcile[0].batchsize: unknown key (did you mean 'batch_size'?)"),
        ("[other]\nx = 1\n", "reconcile: no [[reconcile]] job in this file"),
        ("[[reconcile]\n", "<toml>:"),
    ],
)
def test_bad_config_lists_keyed_errors_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)

    code, err = run(config, capsys)

    assert code == 2
    assert expected in err


def test_an_unknown_job_is_named_with_the_known_ones(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = stores.config(tmp_path / "job.toml", name, JOB)

    code, err = run(config, capsys, "--job", "nope")

    assert code == 2
    assert "--job: no reconcile job named 'nope' (jobs: errors)" in err


# pymongo's async monitor can leave a socket unclosed when the client closes during a refused connect
# (pool_shared._create_connection closes it on OSError, not on cancellation); collect it here, where it
# belongs, rather than let it surface as an unraisable warning in whichever test runs the GC next.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_unreachable_mongodb_is_named(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], closed_port: int
) -> None:
    stores.load_postgres(name, "id text, v text", [])
    config = stores.config(tmp_path / "job.toml", name, JOB)
    uri = f"mongodb://reader:secret@127.0.0.1:{closed_port}/?serverSelectionTimeoutMS=200"

    code, err = run(config, capsys, "--mongo-uri", uri)
    gc.collect()

    assert code == 2
    assert f"MongoDB mongodb://reader:***@127.0.0.1:{closed_port}/" in err and "is unreachable" in err
    assert "secret" not in err


def test_an_unreachable_postgres_is_named(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], closed_port: int
) -> None:
    stores.load_mongo(name, [])
    config = stores.config(tmp_path / "job.toml", name, JOB)
    dsn = f"postgresql://postgres:pw@127.0.0.1:{closed_port}/test"

    code, err = run(config, capsys, "--postgres-dsn", dsn)

    assert code == 2
    assert f"PostgreSQL postgresql://postgres:***@127.0.0.1:{closed_port}/test is unreachable" in err


def test_both_sides_failing_are_both_named(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{table}", "no_such_schema.t"))
    stores.client[stores.database][name].drop()

    code, err = run(config, capsys)

    assert code == 2
    assert "the collection does not exist" in err
    assert 'relation "no_such_schema.t" does not exist' in err


def test_a_query_without_the_key_or_a_mapped_column_is_named(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.load_mongo(name, [{"_id": "a", "v": "x"}])
    stores.load_postgres(name, "ident text, w text", [["a", "x"]])
    body = JOB.replace('table = "{table}"', 'query = "SELECT ident AS id, w FROM {table};"')
    config = stores.config(tmp_path / "job.toml", name, body)

    code, err = run(config, capsys)

    assert code == 2
    assert "the postgres query has no fields column 'v' (its columns: id, w)" in err


def test_a_bad_since_is_an_error(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = stores.config(tmp_path / "job.toml", name, JOB)

    code, err = run(config, capsys, "--since", "yesterday")

    assert code == 2
    assert "--since: expected an ISO-8601 timestamp" in err
