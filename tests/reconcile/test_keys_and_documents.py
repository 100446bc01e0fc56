"""Pure pieces: key normalization and ordering, document serialization, the field projection."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from bson import Decimal128, Int64, ObjectId

from config.model import FieldMap, KeyKind, KeyPart
from proxy.reconcile.documents import Projection, plain, to_json
from proxy.reconcile.errors import redact
from proxy.reconcile.keys import mongo_partitions, postgres_order, source_key, target_key

TEXT = KeyPart("_id", "id")
LOWER = KeyPart("_id", "id", lowercase=True)
INT = KeyPart("n", "n", KeyKind.INT)


@pytest.mark.parametrize(
    ("part", "value", "expected"),
    [
        (TEXT, ObjectId("65f0aabbccddeeff00112233"), ("65f0aabbccddeeff00112233",)),
        (TEXT, "ABC", ("ABC",)),
        (LOWER, "ABC", ("abc",)),
        (TEXT, uuid.UUID(int=1), ("00000000-0000-0000-0000-000000000001",)),
        (TEXT, 7, None),
        (TEXT, None, None),
        (INT, 7, (7,)),
        (INT, Int64(2**40), (2**40,)),
        (INT, 3.0, (3,)),
        (INT, 3.5, None),
        (INT, Decimal("12"), (12,)),
        (INT, Decimal128("12"), (12,)),
        (INT, True, None),
        (INT, "7", None),
    ],
)
def test_key_parts_normalize_or_refuse(part: KeyPart, value: Any, expected: tuple[Any, ...] | None) -> None:
    assert source_key([part], {part.source: value}) == expected
    assert target_key([part], {part.target: value}) == expected


def test_absent_and_nested_key_parts() -> None:
    parts = [KeyPart("publisher.id", "publisher_id"), INT]
    assert source_key(parts, {"publisher": {"id": "p1"}, "n": 2}) == ("p1", 2)
    assert source_key(parts, {"publisher": "p1", "n": 2}) is None
    assert target_key(parts, {"publisher_id": "p1"}) is None


def test_objectid_byte_order_is_lowercase_hex_order() -> None:
    rng = random.Random(7)
    ids = [ObjectId(bytes(rng.randrange(256) for _ in range(12))) for _ in range(500)]
    assert [str(oid) for oid in sorted(ids, key=lambda oid: oid.binary)] == sorted(str(oid) for oid in ids)


def test_mongo_reads_one_partition_per_key_type_combination() -> None:
    assert mongo_partitions([TEXT]) == [{"_id": {"$type": "objectId"}}, {"_id": {"$type": "string"}}]
    assert mongo_partitions([TEXT, INT]) == [
        {"_id": {"$type": "objectId"}, "n": {"$type": "number"}},
        {"_id": {"$type": "string"}, "n": {"$type": "number"}},
    ]


def test_postgres_orders_text_by_byte_and_ints_numerically() -> None:
    assert postgres_order([TEXT, INT]) == '(src."id")::text COLLATE "C", src."n"'
    assert postgres_order([LOWER]) == 'lower(src."id"::text) COLLATE "C"'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ObjectId("65f0aabbccddeeff00112233"), "65f0aabbccddeeff00112233"),
        (datetime(2025, 3, 15, 10, 22, 0, 123000), "2025-03-15T10:22:00.123000Z"),
        (datetime(2025, 3, 15, 10, 22, tzinfo=UTC), "2025-03-15T10:22:00Z"),
        (Decimal("12.50"), 12.5),
        (Decimal("12"), 12),
        (Decimal128("0.1"), 0.1),
        (Int64(5), 5),
        (uuid.UUID(int=255), "00000000-0000-0000-0000-0000000000ff"),
        (b"\x00\xff", "AP8="),
        ({"b": 1, "a": [None, True]}, {"a": [None, True], "b": 1}),
    ],
)
def test_values_serialize_as_an_api_would(value: Any, expected: Any) -> None:
    assert plain(value) == expected


def test_serialization_is_canonical_whatever_the_key_order() -> None:
    assert to_json({"b": 1, "a": {"d": 2, "c": 3}}) == to_json({"a": {"c": 3, "d": 2}, "b": 1})
    assert orjson.loads(to_json({"b": 1})) == {"b": 1}


def test_projection_puts_each_mapped_value_at_its_document_path() -> None:
    projection = Projection.build(
        [
            FieldMap("$.title", "$.title"),
            FieldMap("$.location.lat", "$.location_lat"),
            FieldMap("$.x", "$.j.x"),
        ],
        [TEXT],
    )
    document = {"_id": "a", "title": "T", "location": {"lat": 1.5, "lon": 2}, "other": 1}
    row = {"id": "a", "title": "T", "location_lat": 1.5, "j": {"x": None}}

    assert projection.source(document) == {"title": "T", "location": {"lat": 1.5}}
    assert projection.target(row) == {"title": "T", "location": {"lat": 1.5}, "x": None}


def test_without_fields_everything_but_the_key_is_compared() -> None:
    projection = Projection.build([], [TEXT, KeyPart("scope.id", "scope_id")])
    assert projection.source({"_id": "a", "scope": {"id": 1}, "v": 2}) == {"scope": {"id": 1}, "v": 2}
    assert projection.target({"id": "a", "scope_id": 1, "v": 2}) == {"v": 2}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mongodb://user:pw@host:27017/db", "mongodb://user:***@host:27017/db"),
        ("postgresql://postgres@127.0.0.1/test", "postgresql://postgres@127.0.0.1/test"),
        ("mongodb+srv://u:p%40ss@cluster/x", "mongodb+srv://u:***@cluster/x"),
    ],
)
def test_passwords_never_reach_messages(url: str, expected: str) -> None:
    assert redact(url) == expected
