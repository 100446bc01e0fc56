"""Field transforms are the comparators' normalizers: backfill conversions are accepted, bugs are not."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from reconcile_support import Stores

from proxy.cli import main

pytestmark = [pytest.mark.postgres, pytest.mark.mongo]

COLUMNS = (
    "id text, publisher_id text, close_to_transport boolean, remote text, posted_at timestamp(6), tags jsonb"
)
POSTED = datetime(2025, 3, 15, 10, 22, 0, 123000)
JOB = """
[[reconcile]]
name = "transforms"
batch_size = 2
mongo = {mongo} }
postgres = { dsn = "{dsn}", query = "SELECT * FROM {table}" }
key = { source = "_id", target = "id" }

[reconcile.fields]
"$.publisherId" = "publisher_id"
"$.closeToTransport" = "close_to_transport"
"$.remote" = "remote"
"$.postedAt" = "posted_at"
"$.tags" = "tags"

[[reconcile.compare]]
op = "value_map"
path = "$.closeToTransport"
map = { yes = true, no = false }
reason = "the backfill turned the yes/no strings into booleans"

[[reconcile.compare]]
op = "empty_equivalent"
path = "$.remote"
forms = ["empty_string", "null"]
reason = "'' is stored as NULL"

[[reconcile.compare]]
op = "timestamps"
path = "$.postedAt"
precision = "ms"
reason = "MongoDB keeps milliseconds; the column keeps microseconds"

[[reconcile.compare]]
op = "unordered"
path = "$.tags"
reason = "the join table has no order column"
"""


def mission(n: int) -> tuple[dict[str, Any], list[Any]]:
    oid, publisher = ObjectId(f"{n:024x}"), ObjectId(f"{n + 1000:024x}")
    flag = "yes" if n % 2 else "no"
    document = {
        "_id": oid,
        "publisherId": publisher,  # an ObjectId here, hex text in the column: equal as serialized
        "closeToTransport": flag,
        "remote": "",
        "postedAt": POSTED,
        "tags": ["a", "b", f"t{n}"],
    }
    posted = POSTED + timedelta(microseconds=456)  # below the declared precision
    row = [str(oid), str(publisher), flag == "yes", None, posted, json.dumps([f"t{n}", "b", "a"])]
    return document, row


def test_transforms_accept_the_backfill_conversions_and_still_report_real_changes(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    pairs = [mission(n) for n in range(6)]
    rows = [row for _, row in pairs]
    rows[3][2] = not rows[3][2]  # the flag really changed
    rows[4][3] = "full"  # remote was empty, now set
    stores.load_mongo(name, [document for document, _ in pairs])
    columns = COLUMNS
    stores.load_postgres(name, columns, rows, ",,,,,::jsonb")
    config = stores.config(tmp_path / "job.toml", name, JOB)
    out = tmp_path / "report.json"

    code = main(["reconcile", "--config", str(config), "--format", "json", "--out", str(out)])

    job = json.loads(out.read_text())["jobs"][0]
    assert code == 1
    assert (job["totals"]["matched"], job["totals"]["different"]) == (4, 2)
    differing = {e["key"]: [d["path"] for d in e["differences"]] for e in job["examples"]["different"]}
    assert differing == {f"{3:024x}": ["$.closeToTransport"], f"{4:024x}": ["$.remote"]}


def test_without_transforms_every_converted_field_differs(stores: Stores, name: str, tmp_path: Path) -> None:
    pairs = [mission(n) for n in range(2)]
    stores.load_mongo(name, [document for document, _ in pairs])
    columns = COLUMNS
    stores.load_postgres(name, columns, [row for _, row in pairs], ",,,,,::jsonb")
    config = stores.config(tmp_path / "job.toml", name, JOB.split("[[reconcile.compare]]")[0])
    out = tmp_path / "report.json"

    code = main(["reconcile", "--config", str(config), "--format", "json", "--out", str(out)])

    fields = {f["path"] for f in json.loads(out.read_text())["jobs"][0]["fields"]}
    assert code == 1
    assert fields == {"$.closeToTransport", "$.remote", "$.postedAt", "$.tags"}
