"""Key order edge cases on the real stores: collations, case, mixed ObjectId/UUID keys, composite keys."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from reconcile_support import Stores

from proxy.cli import main

pytestmark = [pytest.mark.postgres, pytest.mark.mongo]

JOB = """
[[reconcile]]
name = "keys"
batch_size = 2
mongo = {mongo} }
postgres = { dsn = "{dsn}", table = "{table}" }
key = { source = "_id", target = "id"LOWER }
fields = ["v"]
"""


def reconcile(stores: Stores, name: str, tmp_path: Path, body: str = JOB) -> tuple[int, dict[str, Any]]:
    config = stores.config(tmp_path / "job.toml", name, body.replace("LOWER", ""))
    out = tmp_path / "report.json"
    code = main(["reconcile", "--config", str(config), "--format", "json", "--out", str(out)])
    report = json.loads(out.read_text())
    return code, report["jobs"][0]


def outcome_keys(job: dict[str, Any], outcome: str) -> list[str]:
    return [example["key"] for example in job["examples"][outcome]]


def test_text_keys_follow_code_point_order_whatever_the_column_collation(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    # Under ICU collation "a-c" < "ab" < "B" (hyphens and case are minor); by code point "B" < "a-c" < "ab".
    keys = ["ab", "a-c", "B", "b", "Z", "_x", "a", "é", "e", "10", "9"]
    stores.load_mongo(name, [{"_id": key, "v": key} for key in keys])
    rows = [[key, key] for key in keys]
    stores.load_postgres(name, 'id text COLLATE "und-x-icu" PRIMARY KEY, v text', rows)

    code, job = reconcile(stores, name, tmp_path)

    assert (code, job["status"], job["totals"]["matched"]) == (0, "equal", len(keys))


def test_uppercase_hex_in_postgres_matches_objectids_with_lowercase(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    ids = [ObjectId(f"{n:02x}" + "ab" * 11) for n in (0x0A, 0xB0, 0xC3, 0x1F)]
    stores.load_mongo(name, [{"_id": oid, "v": n} for n, oid in enumerate(ids)])
    stores.load_postgres(name, "id text, v int", [[str(oid).upper(), n] for n, oid in enumerate(ids)])
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("LOWER", ", lowercase = true"))
    out = tmp_path / "lower.json"

    code = main(["reconcile", "--config", str(config), "--format", "json", "--out", str(out)])
    strict_code, strict = reconcile(stores, name, tmp_path)

    assert (code, json.loads(out.read_text())["jobs"][0]["totals"]["matched"]) == (0, 4)
    # Without lowercase the keys differ: each side's ids are reported, in order, never as an order error.
    assert (strict_code, strict["totals"]["missing"], strict["totals"]["extra"]) == (1, 4, 4)
    assert outcome_keys(strict, "extra") == sorted(str(oid).upper() for oid in ids)


def test_mixed_objectid_and_uuid_keys_are_merged_in_one_order(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    # MongoDB sorts every string before every ObjectId; the normalized order interleaves them.
    object_ids = [ObjectId(prefix + "0" * 22) for prefix in ("00", "3f", "9a", "c0", "ff")]
    uuids = [str(uuid.UUID(prefix + "0" * 30)) for prefix in ("01", "3e", "9b", "bf", "fe")]
    documents = [{"_id": oid, "v": str(oid)} for oid in object_ids] + [{"_id": u, "v": u} for u in uuids]
    stores.load_mongo(name, documents)
    rows = [[str(oid), str(oid)] for oid in object_ids] + [[u, u] for u in uuids if u != uuids[2]]
    rows.append(["ab" + "0" * 22, "only in postgres"])
    stores.load_postgres(name, "id text PRIMARY KEY, v text", rows)

    code, job = reconcile(stores, name, tmp_path)

    assert code == 1
    assert (job["totals"]["matched"], outcome_keys(job, "missing"), outcome_keys(job, "extra")) == (
        9,
        [uuids[2]],
        ["ab" + "0" * 22],
    )


def test_a_uuid_column_is_ordered_as_text(stores: Stores, name: str, tmp_path: Path) -> None:
    ids = sorted((uuid.uuid4() for _ in range(9)), key=lambda u: u.int)
    stores.load_mongo(name, [{"_id": str(u), "v": 1} for u in ids])
    stores.load_postgres(name, "id uuid PRIMARY KEY, v int", [[u, 1] for u in ids])

    code, job = reconcile(stores, name, tmp_path)

    assert (code, job["totals"]["matched"]) == (0, 9)


def test_composite_keys_with_an_integer_part_compare_numerically(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    pairs = [(publisher, seq) for publisher in ("p1", "p10", "p2") for seq in (2, 9, 10, 100)]
    stores.load_mongo(name, [{"publisher": {"id": p}, "seq": s, "v": f"{p}/{s}"} for p, s in pairs])
    rows = [[p, s, f"{p}/{s}"] for p, s in pairs if (p, s) != ("p10", 9)]
    stores.load_postgres(name, "publisher_id text, seq bigint, v text", rows)
    body = JOB.replace(
        'key = { source = "_id", target = "id"LOWER }',
        'key = [{ source = "publisher.id", target = "publisher_id" }, '
        '{ source = "seq", target = "seq", type = "int" }]',
    )

    code, job = reconcile(stores, name, tmp_path, body)

    assert (code, job["totals"]["matched"], outcome_keys(job, "missing")) == (1, 11, ["p10 | 9"])


def test_unkeyed_and_duplicate_records_are_counted_never_matched(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    oid = ObjectId("65f0" + "0" * 20)
    stores.load_mongo(name, [{"_id": oid, "v": "x"}, {"_id": str(oid), "v": "x"}, {"_id": 7, "v": "int id"}])
    stores.load_postgres(name, "id text, v text", [[str(oid), "x"], [None, "null id"]])

    code, job = reconcile(stores, name, tmp_path)

    assert code == 1
    totals = job["totals"]
    assert (totals["matched"], totals["duplicate"], totals["unkeyed"]) == (1, 1, 2)
    assert [(e["side"], e.get("postgres")) for e in job["examples"]["unkeyed"]] == [
        ("target", {"v": "null id"})
    ]
