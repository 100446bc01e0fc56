"""`[[reconcile]]` parsing: the job values a table becomes, and keyed errors for what is wrong."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from bson import ObjectId

from config.loader import ConfigError, parse_config
from config.model import FieldMap, KeyKind, KeyPart, ReconcileJob
from config.reader import Section
from config.reconcile_section import parse_reconcile

FULL = """
[[reconcile]]
name = "missions"
batch_size = 500
examples = 3
mongo = { uri = "mongodb://127.0.0.1:27017", database = "engagement", collection = "missions", \
filter = { deleted = false }, projection = { title = 1 }, updated_at = "updatedAt" }
postgres = { dsn = "postgresql://postgres@127.0.0.1:5432/test", query = "SELECT * FROM mission;", \
updated_at = "updated_at" }
key = { source = "_id", target = "id" }
fields = { "$.title" = "title", "organization.name" = "$.org.name" }
"""


def parse(text: str, **flags: Any) -> tuple[tuple[ReconcileJob, ...], list[str]]:
    errors: list[str] = []
    jobs = parse_reconcile(Section(tomllib.loads(text), "", errors), **flags)
    return jobs, errors


def test_a_full_job() -> None:
    (job,), errors = parse(FULL)

    assert errors == []
    assert (job.name, job.batch_size, job.examples) == ("missions", 500, 3)
    assert (job.mongo.database, job.mongo.collection, job.mongo.updated_at) == (
        "engagement",
        "missions",
        "updatedAt",
    )
    assert (dict(job.mongo.filter), dict(job.mongo.projection)) == ({"deleted": False}, {"title": 1})
    assert job.postgres.query == "SELECT * FROM mission"  # the semicolon would break the wrapping query
    assert job.key == (KeyPart("_id", "id", KeyKind.TEXT, False),)
    assert job.fields == (FieldMap("$.title", "$.title"), FieldMap("$.organization.name", "$.org.name"))
    assert job.compare.normalizers == ()


def test_flags_override_the_file_addresses() -> None:
    (job,), errors = parse(FULL, mongo_uri="mongodb://other:1", postgres_dsn="postgresql://x@y/z")
    assert errors == []
    assert (job.mongo.uri, job.postgres.dsn) == ("mongodb://other:1", "postgresql://x@y/z")


def test_shorthands_table_fields_list_composite_key_and_extended_json_filter() -> None:
    text = """
[[reconcile]]
name = "n"
postgres = { dsn = "postgresql://h/d", table = "public.mission" }
key = [{ source = "p", target = "p" }, { source = "n", target = "n", type = "int" }]
fields = ["title", "$.a.b"]
[reconcile.mongo]
uri = "mongodb://h"
database = "d"
collection = "c"
filter = '{"p": {"$oid": "65f0aabbccddeeff00112233"}}'
"""
    (job,), errors = parse(text)

    assert errors == []
    assert job.mongo.filter == {"p": ObjectId("65f0aabbccddeeff00112233")}
    assert job.postgres.query == 'SELECT * FROM "public"."mission"'
    assert [part.kind for part in job.key] == [KeyKind.TEXT, KeyKind.INT]
    assert job.fields == (FieldMap("$.title", "$.title"), FieldMap("$.a.b", "$.a.b"))


@pytest.mark.parametrize(
    ("replace", "by", "error"),
    [
        ('name = "missions"', 'name = ""', "reconcile[0].name: required"),
        (
            'key = { source = "_id", target = "id" }',
            "key = []",
            "reconcile[0].key: expected a table or a non-empty",
        ),
        (
            'target = "id" }',
            'target = "id", lowercase = 1 }',
            "reconcile[0].key.lowercase: expected a boolean",
        ),
        ('target = "id" }', 'target = "id", type = "int", lowercase = true }', "only applies to text keys"),
        (
            '"$.title" = "title"',
            '"$.title" = 3',
            "reconcile[0].fields.'$.title': expected a string, got integer",
        ),
        ('"$.title" = "title"', '"$..title" = "title"', "expected a field name or a path like '$.a.b'"),
        (
            'query = "SELECT * FROM mission;"',
            'table = "a b"',
            "reconcile[0].postgres.table: expected a table name",
        ),
        ('query = "SELECT', 'table = "t", query = "SELECT', "give either query or table"),
        ("batch_size = 500", "batch_size = 0", "reconcile[0].batch_size: must be >= 1"),
        (
            "filter = { deleted = false }",
            'filter = "{nope"',
            "reconcile[0].mongo.filter: not valid MongoDB Extended JSON",
        ),
        (
            'updated_at = "updatedAt"',
            'updated_at = "a..b"',
            "reconcile[0].mongo.updated_at: expected a field name",
        ),
        (
            'uri = "mongodb://127.0.0.1:27017", ',
            "",
            "reconcile[0].mongo.uri: required (or pass --mongo-uri URI)",
        ),
        ('database = "engagement", ', "", "reconcile[0].mongo.database: required"),
        ('dsn = "postgresql://postgres@127.0.0.1:5432/test"', 'dsn = "mysql://x"', "expected postgresql://"),
    ],
)
def test_keyed_errors(replace: str, by: str, error: str) -> None:
    assert replace in FULL
    _, errors = parse(FULL.replace(replace, by, 1))
    assert any(error in e for e in errors), errors


def test_duplicate_job_names_are_an_error() -> None:
    _, errors = parse(FULL + FULL)
    assert errors == ["reconcile[1].name: duplicate reconcile job name 'missions'"]


def test_the_main_config_loader_reads_reconcile_jobs() -> None:
    data = tomllib.loads(FULL)
    data["upstreams"] = {"legacy": "http://127.0.0.1:9000"}

    config = parse_config(data)

    assert [job.name for job in config.reconcile] == ["missions"]
    with pytest.raises(ConfigError, match=r"reconcile\[0\]\.key: required"):
        parse_config({"upstreams": {"legacy": "http://x"}, "reconcile": [{"name": "x"}]})
