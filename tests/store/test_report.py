"""`shadow-proxy report`: its JSON matches what was recorded, the formats render, the exit codes hold.

The command runs its own event loop (asyncio.run), so these tests are synchronous and record the same way.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from store_support import T0, candidate_error, free_port, matched, value_divergence

from config.model import Config, CutoverSettings, RouteRule, StoreSettings
from proxy.cli import main
from proxy.commands.report import run_report
from proxy.recorder import StoreRecorder
from proxy.records import Exchange
from proxy.redact import Redactor
from proxy.store import open_store

SETTINGS = StoreSettings(flush_interval=3600)


def record(url: str, instance_id: str, exchanges: list[Exchange]) -> None:
    asyncio.run(_record(url, instance_id, exchanges))


async def _record(url: str, instance_id: str, exchanges: list[Exchange]) -> None:
    recorder = StoreRecorder(open_store(url), SETTINGS, Redactor(), instance_id)
    await recorder.start()
    for item in exchanges:
        recorder.record(item)
    await recorder.close()


def history() -> list[Exchange]:
    """GET /get: 7 matched, 3 diverged (2 on $.ok, 1 on $.name); GET /items: 2 matched."""
    items = [matched() for _ in range(7)]
    items += [value_divergence(path=p, rid=f"r{n}") for n, p in enumerate(["$.ok", "$.name", "$.ok"])]
    items += [matched("GET /items") for _ in range(2)]
    return items


def report(url: str, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = main(["report", "--store", url, "--format", "json", "--out", str(out), *args])
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_report_json_matches_what_was_recorded_across_instances(store_url: str, tmp_path: Path) -> None:
    half = history()
    record(store_url, "replica-a", half)
    record(store_url, "replica-b", half)
    code, body = report(store_url, tmp_path)
    assert code == 0
    routes = {r["route"]: r for r in body["routes"]}
    get = routes["GET /get"]
    assert {
        k: get[k] for k in ("compared", "matched", "diverged", "candidate_errors", "dropped", "too_large")
    } == {
        "compared": 20,
        "matched": 14,
        "diverged": 6,
        "candidate_errors": 0,
        "dropped": 0,
        "too_large": 0,
    }
    assert get["differences"] == [
        {"path": "$.ok", "kind": "value", "count": 4},
        {"path": "$.name", "kind": "value", "count": 2},
    ]
    assert [(s["count"], s["examples"], s["paths"]) for s in get["signatures"]] == [
        (4, 4, [{"path": "$.ok", "kind": "value"}]),
        (2, 2, [{"path": "$.name", "kind": "value"}]),
    ]
    assert get["divergence_rate"] == 0.3 and get["covered"] is True
    assert get["latency"]["legacy"]["count"] == 20 and get["latency"]["candidate"]["p95_ms"] == 25.0
    assert routes["GET /items"]["compared"] == 4
    assert [i["instance_id"] for i in body["instances"]] == ["replica-a", "replica-b"]
    assert body["schema_version"] >= 1 and body["generated_at"].endswith("Z")


def check(url: str, config: Config, *routes: str) -> int:
    """`report --check` as of one minute after T0, under `config`'s cutover settings."""
    return run_report(url, config, "json", routes, True, None, clock=lambda: T0 + 60)


def test_check_passes_only_without_divergence_or_candidate_error(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    one_is_enough = Config(legacy="http://legacy", cutover=CutoverSettings(min_samples=1))
    record(sqlite_url, "a", [matched(), matched("GET /items")])
    assert check(sqlite_url, one_is_enough) == 0
    assert "check: PASS (2 routes READY, 2 comparisons in their windows)" in capsys.readouterr().err
    record(sqlite_url, "a", [candidate_error("GET /items")])
    assert check(sqlite_url, one_is_enough) == 1
    assert "GET /items: candidate_errors: candidate error rate 50.00%" in capsys.readouterr().err
    assert check(sqlite_url, one_is_enough, "GET /get") == 0
    record(sqlite_url, "a", [value_divergence()])
    assert check(sqlite_url, one_is_enough, "GET /get") == 1
    assert "GET /get: divergence: 1 unexplained divergences in 2 comparisons" in capsys.readouterr().err


def test_check_demands_the_window_s_minimum_sample(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record(sqlite_url, "a", [matched() for _ in range(3)])
    assert check(sqlite_url, Config(legacy="http://legacy")) == 1
    assert "GET /get: too_few_samples: 3 comparisons in the last 7d, 1,000 needed" in capsys.readouterr().err
    assert check(sqlite_url, Config(legacy="http://legacy", cutover=CutoverSettings(min_samples=3))) == 0
    assert run_report(sqlite_url, None, "json", (), True, None) == 1  # today, T0 is far outside the window


def test_configured_routes_without_traffic_are_not_covered(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(sqlite_url, "a", [matched("GET /get")])
    silent = RouteRule(name="GET /silent", methods=frozenset({"GET"}), path="/silent")
    config = Config(legacy="http://legacy", routes=(silent,))
    out = tmp_path / "r.json"
    assert run_report(sqlite_url, config, "json", (), True, str(out), clock=lambda: T0 + 60) == 1
    body = json.loads(out.read_text())
    routes = {r["route"]: r for r in body["routes"]}
    assert routes["GET /silent"]["covered"] is False and routes["GET /silent"]["configured"] is True
    assert routes["GET /silent"]["readiness"]["verdict"] == "NO_DATA"
    assert body["not_covered"] == ["GET /silent"] and body["all_ready"] is False
    assert "GET /silent: not covered" in capsys.readouterr().err


def test_markdown_and_html(sqlite_url: str, tmp_path: Path) -> None:
    record(sqlite_url, "a", history())
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    assert run_report(sqlite_url, None, "md", (), False, str(md)) == 0
    assert run_report(sqlite_url, None, "html", (), False, str(page)) == 0
    text = md.read_text()
    assert "| GET /get | 10 | 7 | 3 | 0 | 0 | 0 | 0 | 30.0% |" in text
    assert text.index("`$.ok` | value | 2") < text.index("`$.name` | value | 1")
    html = page.read_text()
    assert '<a href="#route-1">GET /get</a></td><td><span class="badge NO_DATA">NO DATA</span>' in html
    assert '<div class="label">compared</div><div class="value">10</div>' in html
    assert "<script" not in html and "http" not in html


def test_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    cases = {
        "mysql://nowhere": "unknown store URL",
        f"sqlite:///{tmp_path}/absent.db": "no store at",
        f"sqlite:///{empty}": "not a shadow-proxy store",
        f"postgresql://postgres@127.0.0.1:{free_port()}/x": "ConnectionRefusedError",
    }
    for url, message in cases.items():
        assert main(["report", "--store", url]) == 2, url
        assert message in capsys.readouterr().err
    assert not (tmp_path / "absent.db").exists()


async def _migrate(url: str) -> None:
    store = open_store(url)
    await store.migrate()
    await store.close()


def test_an_empty_store_says_so(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_migrate(sqlite_url))
    assert run_report(sqlite_url, None, "json", (), False, None) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["routes"] == [] and "no comparisons recorded" in captured.err
    assert run_report(sqlite_url, None, "json", (), True, None) == 1


def test_route_filter_lists_exactly_the_named_routes(sqlite_url: str, tmp_path: Path) -> None:
    record(sqlite_url, "a", history())
    _, body = report(sqlite_url, tmp_path, "--route", "GET /items", "--route", "GET /none")
    assert [(r["route"], r["covered"]) for r in body["routes"]] == [
        ("GET /items", True),
        ("GET /none", False),
    ]
    assert T0  # the history is pinned to T0, far from the report's own clock
