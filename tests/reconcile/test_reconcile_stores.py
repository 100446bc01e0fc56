"""`shadow-proxy reconcile` on the real stores: equal data, each class of difference, --since, formats."""

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

BASE = datetime(2025, 3, 15, 10, 22, 0, 123000)
COLUMNS = (
    "id text PRIMARY KEY, title text, places int, price numeric, deleted boolean, posted_at timestamp(3), "
    "tags jsonb, location jsonb, note text, updated_at timestamp(3)"
)
TYPES = ",,,,,,::jsonb,::jsonb,,"
JOB = """
[[reconcile]]
name = "{name}"
batch_size = 3
mongo = {mongo}, updated_at = "updatedAt" }
postgres = { dsn = "{dsn}", table = "{table}", updated_at = "updated_at" }
key = { source = "_id", target = "id" }
[reconcile.fields]
"$.title" = "title"
"$.places" = "places"
"$.price" = "price"
"$.deleted" = "deleted"
"$.postedAt" = "posted_at"
"$.tags" = "tags"
"$.location.lat" = "$.location.lat"
"$.note" = "note"
"""


def mission(n: int) -> tuple[dict[str, Any], list[Any]]:
    """One document and the row a correct backfill writes for it."""
    oid = ObjectId(f"{0x65F0_0000 + n:08x}" + "a1b2c3d4e5f6a7b8")
    posted, updated = BASE + timedelta(days=n), BASE + timedelta(hours=n)
    document = {
        "_id": oid,
        "title": f"Mission {n}",
        "places": n,
        "price": 12.5 + n,
        "deleted": n % 2 == 0,
        "postedAt": posted,
        "tags": ["aide", f"t{n}"],
        "location": {"lat": 48.85 + n / 100, "lon": 2.35},
        "note": None,
        "updatedAt": updated,
    }
    location = json.dumps({"lat": 48.85 + n / 100, "lon": 2.35})
    row = [str(oid), f"Mission {n}", n, 12.5 + n, n % 2 == 0, posted, json.dumps(["aide", f"t{n}"]), location]
    return document, [*row, None, updated]


def load(
    stores: Stores, name: str, count: int, edit: Any = None
) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    pairs = [mission(n) for n in range(count)]
    documents, rows = [d for d, _ in pairs], [r for _, r in pairs]
    if edit is not None:
        edit(documents, rows)
    stores.load_mongo(name, documents)
    stores.load_postgres(name, COLUMNS, rows, TYPES)
    return documents, rows


def run(config: Path, *extra: str) -> int:
    return main(["reconcile", "--config", str(config), *extra])


def run_json(config: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = run(config, "--format", "json", "--out", str(out), *extra)
    return code, json.loads(out.read_text())


def test_identical_data_exits_0(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load(stores, name, 10)
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{name}", name))

    assert run(config) == 0

    report = capsys.readouterr().out
    assert f"## {name}: EQUAL" in report
    assert "| matched | 10 |" in report


def _break_one_per_type(documents: list[dict[str, Any]], rows: list[list[Any]]) -> None:
    rows[1][1] = "Mission one"  # string
    rows[2][2] = 20  # integer
    rows[3][3] = 99.9  # number
    rows[4][4] = not rows[4][4]  # boolean
    rows[5][5] = rows[5][5] + timedelta(milliseconds=1)  # date
    rows[6][6] = json.dumps(["aide"])  # array
    rows[7][7] = json.dumps({"lat": 1.0, "lon": 2.35})  # nested value
    rows[8][8] = "now set"  # null vs value
    del rows[9]  # missing in PostgreSQL
    documents.pop(0)  # so row 0 is extra in PostgreSQL


def test_each_missing_extra_and_changed_field_is_reported_with_key_and_path(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    load(stores, name, 12, _break_one_per_type)
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{name}", name))

    code, report = run_json(config, tmp_path)

    assert code == 1
    job = report["jobs"][0]
    keys = [str(mission(n)[0]["_id"]) for n in range(12)]
    assert job["totals"] | {"source_read": 11, "target_read": 11} == job["totals"]
    assert (job["totals"]["missing"], job["totals"]["extra"], job["totals"]["different"]) == (1, 1, 8)
    assert [e["key"] for e in job["examples"]["missing"]] == [keys[9]]
    assert [e["key"] for e in job["examples"]["extra"]] == [keys[0]]
    differing = {
        e["key"]: [(d["path"], d["kind"]) for d in e["differences"]] for e in job["examples"]["different"]
    }
    assert differing == {
        keys[1]: [("$.title", "value")],
        keys[2]: [("$.places", "value")],
        keys[3]: [("$.price", "value")],
        keys[4]: [("$.deleted", "value")],
        keys[5]: [("$.postedAt", "value")],
        keys[6]: [("$.tags[*]", "missing")],
        keys[7]: [("$.location.lat", "value")],
        keys[8]: [("$.note", "type")],
    }
    by_path = {f["path"]: (f["count"], f["keys"]) for f in job["fields"]}
    assert by_path["$.title"] == (1, [keys[1]])
    first = job["examples"]["different"][0]["differences"][0]
    assert (first["mongo"], first["postgres"]) == ("Mission 1", "Mission one")


def test_a_collection_larger_than_the_batch_size_is_read_whole(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    def edit(documents: list[dict[str, Any]], rows: list[list[Any]]) -> None:
        for n in (0, 7, 50, 96):  # first, mid-batch, batch edges, last
            rows[n][1] = "changed"

    load(stores, name, 97, edit)
    body = JOB.replace("{name}", name).replace("batch_size = 3", "batch_size = 4")
    config = stores.config(tmp_path / "job.toml", name, body)

    code, report = run_json(config, tmp_path)

    totals = report["jobs"][0]["totals"]
    assert code == 1
    assert (totals["source_read"], totals["target_read"], totals["matched"], totals["different"]) == (
        97,
        97,
        93,
        4,
    )
    assert report["jobs"][0]["fields"][0]["keys"] == [str(mission(n)[0]["_id"]) for n in (0, 7, 50, 96)]


def test_since_restricts_both_sides_to_recent_changes(stores: Stores, name: str, tmp_path: Path) -> None:
    def edit(documents: list[dict[str, Any]], rows: list[list[Any]]) -> None:
        rows[2][1] = "old change"  # updated at hour 2: before --since, not checked
        rows[8][1] = "recent change"  # hour 8: checked
        del rows[9]  # hour 9: recent, missing

    load(stores, name, 10, edit)
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{name}", name))

    code, report = run_json(config, tmp_path, "--since", (BASE + timedelta(hours=5)).isoformat() + "Z")

    job = report["jobs"][0]
    assert code == 1
    assert (job["totals"]["source_read"], job["totals"]["target_read"]) == (5, 4)
    assert [e["key"] for e in job["examples"]["different"]] == [str(mission(8)[0]["_id"])]
    assert [e["key"] for e in job["examples"]["missing"]] == [str(mission(9)[0]["_id"])]


def test_since_without_updated_at_is_an_error(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load(stores, name, 2)
    body = JOB.replace("{name}", name).replace(', updated_at = "updatedAt" }', " }")
    config = stores.config(tmp_path / "job.toml", name, body)

    assert run(config, "--since", "2025-01-01") == 2
    assert "--since needs mongo.updated_at" in capsys.readouterr().err


def test_whole_document_mode_compares_every_column_by_name(stores: Stores, name: str, tmp_path: Path) -> None:
    stores.load_mongo(name, [{"_id": "a", "x": 1, "y": [1, 2]}, {"_id": "b", "x": 2, "y": []}])
    stores.load_postgres(name, "id text, x int, y jsonb", [["a", 1, "[1, 2]"], ["b", 2, "[3]"]], ",,::jsonb")
    body = """
[[reconcile]]
name = "whole"
mongo = {mongo} }
postgres = { dsn = "{dsn}", table = "{table}" }
key = { source = "_id", target = "id" }
"""
    config = stores.config(tmp_path / "job.toml", name, body)

    code, report = run_json(config, tmp_path)

    assert code == 1
    assert [(f["path"], f["kind"], f["keys"]) for f in report["jobs"][0]["fields"]] == [
        ("$.y[*]", "extra", ["b"])
    ]


def test_reports_render_in_markdown_and_self_contained_html(
    stores: Stores, name: str, tmp_path: Path
) -> None:
    load(stores, name, 4, lambda documents, rows: rows[1].__setitem__(1, "<b>changed</b>"))
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{name}", name))

    assert run(config, "--format", "html", "--out", str(tmp_path / "r.html")) == 1
    assert run(config, "--format", "md", "--out", str(tmp_path / "r.md")) == 1

    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert "&lt;b&gt;changed&lt;/b&gt;" in page and "<b>changed" not in page
    assert "src=" not in page and "href=" not in page  # nothing to fetch
    markdown = (tmp_path / "r.md").read_text()
    assert f'| {mission(1)[0]["_id"]} | $.title | value | "Mission 1" | "<b>changed</b>" |' in markdown
