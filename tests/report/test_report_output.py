"""The report on a realistic store: readiness in JSON, the self-contained HTML page, markdown, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from report_support import NOW, seed_demo

from config.model import Config
from proxy.commands.report import run_report

SEARCH, ITEMS, HEALTH = "GET /search", "GET /items/{id}", "GET /health"
ORDERS, EXPORT = "POST /orders", "GET /export"  # not shadowed by design: writes only, mode legacy


@pytest.fixture
async def demo(sqlite_url: str) -> Config:
    return await seed_demo(sqlite_url)


def render(
    url: str, config: Config | None, fmt: str, tmp_path: Path, *routes: str, check: bool = False
) -> tuple[int, str]:
    out = tmp_path / f"report.{fmt}"
    code = run_report(url, config, fmt, routes, check, str(out), clock=lambda: NOW)
    return code, out.read_text(encoding="utf-8")


def routes_of(text: str) -> dict[str, dict[str, Any]]:
    return {route["route"]: route for route in json.loads(text)["routes"]}


def test_json_carries_readiness_per_route_and_the_blind_routes(
    demo: Config, sqlite_url: str, tmp_path: Path
) -> None:
    code, text = render(sqlite_url, demo, "json", tmp_path)
    body, routes = json.loads(text), routes_of(text)
    assert code == 0 and body["not_covered"] == [HEALTH] and body["all_ready"] is False
    assert [r["route"] for r in body["not_shadowed"]] == [EXPORT, ORDERS]
    assert body["judged"] == [HEALTH, ITEMS, SEARCH] and len(body["audit"]) == 3
    assert [routes[name]["readiness"]["verdict"] for name in (HEALTH, ITEMS, SEARCH)] == [
        "NO_DATA",
        "READY",
        "NOT_READY",
    ]
    search = routes[SEARCH]["readiness"]
    assert [r["code"] for r in search["reasons"]] == ["too_few_samples", "divergence", "latency"]
    assert search["reasons"][0] == {
        "code": "too_few_samples",
        "message": "486 comparisons in the last 7d, 1,000 needed",
        "actual": 486,
        "limit": 1000,
    }
    assert (search["window"], search["window_seconds"], search["min_samples"]) == ("7d", 604800.0, 1000)
    assert search["since_last_divergence"] == {"at": "2023-11-18T03:50:00Z", "seconds": 600.0, "requests": 0}
    assert search["unexplained_divergences"] == 6 and search["latency"]["ratio"] == pytest.approx(
        4.02, abs=0.01
    )
    assert search["eta_seconds"] == pytest.approx(7 * 86400 - 600)
    assert routes[HEALTH]["readiness"]["min_samples"] == 10  # the route's own [routes.cutover]
    assert routes[ITEMS]["readiness"]["eta_seconds"] == 0


def test_json_lists_dead_rules_series_and_example_ids(demo: Config, sqlite_url: str, tmp_path: Path) -> None:
    search = routes_of(render(sqlite_url, demo, "json", tmp_path)[1])[SEARCH]
    assert search["dead_rules"] == [
        {"rule": "compare[1]:ignore", "reason": "legacy once had a debug block", "compared": 486}
    ]
    assert search["rules"] == [{"rule": "compare[0]:ignore", "hits": 6, "ignored": 6}]
    [signature] = search["signatures"]
    assert signature["count"] == 6 and signature["examples"] == 5 and len(signature["example_id"]) == 32
    series = search["series"]
    assert sum(point["compared"] for point in series) == 486 and sum(p["diverged"] for p in series) == 6
    assert series == sorted(series, key=lambda point: point["start"])
    assert search["latency"]["candidate"]["p95_estimate_ms"] == 97.5


def test_html_is_one_self_contained_page_with_charts_and_linked_examples(
    demo: Config, sqlite_url: str, tmp_path: Path
) -> None:
    code, page = render(sqlite_url, demo, "html", tmp_path)
    assert code == 0
    for outside in ("<script", "http", "src=", "url(", "@import", "<link"):
        assert outside not in page, outside  # nothing is fetched, nothing runs
    assert "Not ready for cutover: 1 of 5 routes NOT READY, 1 without data, 2 not shadowed by design." in page
    assert '<span class="badge NOT_READY">NOT READY</span>' in page
    assert (
        page.count('<svg class="chart"') == 4 and "<polyline" in page
    )  # two routes with traffic, two charts
    [signature] = re.findall(r'href="#ex-([0-9a-f]{16})"', page)
    assert f'id="ex-{signature}"' in page
    example = page[page.index(f'id="ex-{signature}"') :]
    assert '<mark class="del">3</mark>' in example and '<mark class="ins">1</mark>' in example
    assert "Desk &lt;lamp&gt;" in example and "Desk <lamp>" not in page  # store text is escaped
    assert "Normalized by the route&#x27;s rules" in example
    normalized = example[example.index("Normalized") :]
    assert "took_ms" not in normalized  # the route's ignore rule ran on the stored example


def test_html_shows_modes_their_changes_and_candidate_serving(
    demo: Config, sqlite_url: str, tmp_path: Path
) -> None:
    page = render(sqlite_url, demo, "html", tmp_path)[1]
    changes = page[page.index("<h2>Mode changes</h2>") : page.index('<h2 id="route-1">')]
    rows = re.findall(r"<tr><td>([^<]+)</td><td><a href=\"#route-\d\">GET /search</a>", changes)
    assert rows == ["2023-11-17T23:00:00Z", "2023-11-18T00:00:00Z", "2023-11-18T02:00:00Z"]
    assert "candidate_failures 4, served 50" in changes  # the numbers behind the automatic rollback
    search = page[page.index('<h2 id="route-4">') : page.index('<h2 id="route-5">')]
    assert (
        '<span class="mode candidate_primary">candidate primary</span> \u00b7 switched live by alice'
        in search
    )
    assert '<div class="label">fallbacks to legacy</div><div class="value">5</div>' in search
    assert '<div class="label">rollbacks</div><div class="value">1 (1 automatic)</div>' in search
    assert search.count('<line class="mark"') == 6  # three changes on each of the two charts
    items = page[page.index('<h2 id="route-3">') : page.index('<h2 id="route-4">')]
    assert "Candidate serving" not in items and "no mode change recorded" in items
    listed = page[page.index("Not shadowed by design") :]
    listed = listed[: listed.index("</div>")]
    assert (
        "<code>GET /export</code>: mode legacy" in listed
        and "<code>POST /orders</code>: writes only" in listed
    )
    assert "GET /health" not in listed


def test_markdown_states_the_verdicts_and_reasons(demo: Config, sqlite_url: str, tmp_path: Path) -> None:
    text = render(sqlite_url, demo, "md", tmp_path)[1]
    assert "| GET /search | 486 | 480 | 6 | 0 | 0 | 0 | 0 | 1.2% | NOT_READY |" in text
    assert "**Not covered** (configured, no comparison in the cutover window): `GET /health`." in text
    assert "- `divergence`: 6 unexplained divergences in 486 comparisons (1.23%, allowed 0%)" in text
    assert "Dead rules (never acted in 486 comparisons): `compare[1]:ignore`." in text
    assert "| GET /search | 486 | 480 | 6 | 0 | 0 | 0 | 0 | 1.2% | NOT_READY | candidate_primary |" in text
    assert "| POST /orders | 0 | 0 | 0 | 0 | 0 | 0 | 0 | - | NOT_SHADOWED | shadow |" in text
    assert (
        "Mode: `candidate_primary` (switched live by alice at 2023-11-18T02:00:00Z; the config names shadow)."
        in text
    )
    assert (
        "Candidate serving: 120 requests served by the candidate, 6 failed (5.0%), 5 answered by legacy "
        "instead (fallback); rollbacks: 1 (1 automatic)." in text
    )
    assert (
        "| 2023-11-18T00:00:00Z | candidate_primary | shadow | auto-rollback | "
        "candidate error rate 8.0% (4 of 50) over 5m exceeds 5.0% |" in text
    )
    assert "- `GET /export`: mode legacy: legacy serves alone, nothing is sent to the candidate" in text


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ((ITEMS,), 0),
        ((SEARCH,), 1),
        ((HEALTH,), 1),
        ((ITEMS, SEARCH), 1),
        ((), 1),
        (("GET /nowhere",), 1),
        ((ORDERS,), 1),  # named, so judged: a route not compared cannot be READY
        ((ITEMS, EXPORT), 1),
    ],
)
def test_check_exit_codes(
    demo: Config, sqlite_url: str, tmp_path: Path, routes: tuple[str, ...], expected: int
) -> None:
    assert render(sqlite_url, demo, "json", tmp_path, *routes, check=True)[0] == expected


def test_check_is_2_when_the_store_cannot_be_read(tmp_path: Path) -> None:
    assert run_report(f"sqlite:///{tmp_path}/none.db", None, "md", (), True, None) == 2
    assert run_report("sqlite://:memory:", None, "md", (), True, None) == 2  # no schema: not a store
