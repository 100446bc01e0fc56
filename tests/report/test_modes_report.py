"""Modes in the report: the current mode, the audit trail, candidate serving, routes not shadowed by design.

Pure pieces are table-driven; the report itself is built from real stores (SQLite, and Postgres for the
mode history) written the way the proxy writes them: mode changes through the store's compare-and-set.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from report_support import (
    DAY,
    HOUR,
    NOW,
    History,
    ModeChange,
    add_serving,
    switch_modes,
    write_histories,
)

from config.loader import parse_config
from config.model import Config, RouteRule
from proxy.commands.report import run_report
from proxy.readiness import ReadinessVerdict
from proxy.report import (
    Report,
    RouteMode,
    Serving,
    build_report,
    route_mode,
    serving_of,
    steps_back,
    why_not_compared,
)
from proxy.report_json import report_json
from proxy.store import open_store
from proxy.store.base import ALL_TIME, Window
from proxy.store.cutover import AuditEntry, CutoverTotals, RouteModeRow

UPSTREAMS = {"legacy": "http://legacy.internal", "candidate": "http://candidate.internal"}
CUTOVER = {"window": "7d", "min_samples": 10}


def config_of(*routes: dict[str, Any], **sections: Any) -> Config:
    return parse_config({"upstreams": UPSTREAMS, "cutover": CUTOVER, "routes": list(routes), **sections})


def rule(**keys: Any) -> RouteRule:
    return config_of({"name": "r", "path": "/r", **keys}).routes[0]


CONFIGURED = RouteMode("shadow", "config", "shadow")


def live(mode: str, actor: str = "bob") -> RouteMode:
    return RouteMode(mode, "store", "shadow", NOW, actor)


@pytest.mark.parametrize(
    ("mode", "keys", "default_rate", "why"),
    [
        (CONFIGURED, {}, 1.0, None),
        (
            RouteMode("legacy", "config", "legacy"),
            {"mode": "legacy"},
            1.0,
            "mode legacy: legacy serves alone",
        ),
        (live("legacy"), {}, 1.0, "mode legacy (switched live by bob): legacy serves alone"),
        (live("candidate"), {}, 1.0, "mode candidate (switched live by bob): the candidate serves alone"),
        (live("candidate_primary"), {}, 1.0, None),
        (CONFIGURED, {"methods": ["POST", "PUT"]}, 1.0, "writes only (POST, PUT) and mirror_writes is off"),
        (CONFIGURED, {"methods": ["POST"], "mirror_writes": True}, 1.0, None),
        (CONFIGURED, {"methods": ["GET", "POST"]}, 1.0, None),
        (CONFIGURED, {"methods": ["*"]}, 1.0, None),
        (CONFIGURED, {"sample_rate": 0.0}, 1.0, "sample_rate = 0: no request is mirrored"),
        (CONFIGURED, {"sample_rate": 0.01}, 1.0, None),
        (CONFIGURED, {}, 0.0, "[shadow] sample_rate = 0 (the route sets none)"),
        (CONFIGURED, {"sample_rate": 0.5}, 0.0, None),
        # candidate_primary with fallback to legacy calls legacy on every request, sampled or not
        (live("candidate_primary"), {"sample_rate": 0.0, "fallback": "legacy"}, 1.0, None),
        (live("candidate_primary"), {"sample_rate": 0.0}, 1.0, "sample_rate = 0"),
        (live("weird"), {}, 1.0, None),  # an unknown mode in the store is never taken for "not compared"
    ],
)
def test_why_a_route_is_not_compared(
    mode: RouteMode, keys: dict[str, Any], default_rate: float, why: str | None
) -> None:
    found = why_not_compared(mode, rule(**keys), default_rate)
    assert (found is None) == (why is None) and (why or "") in (found or "")


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        (RouteMode("shadow", "automatic"), None),  # an automatic route always mirrors its reads
        (RouteMode(), None),  # no config, no switch: nothing known, nothing claimed
        (RouteMode("legacy", "store", None, NOW, "ops"), "mode legacy (switched live by ops)"),
    ],
)
def test_routes_without_a_rule_are_judged_on_their_live_mode_only(mode: RouteMode, why: str | None) -> None:
    found = why_not_compared(mode, None, 0.0)
    assert (found is None) == (why is None) and (found or "").startswith(why or "")


ROW = RouteModeRow("r", "candidate", "shadow", NOW, "alice", "replica-a")


@pytest.mark.parametrize(
    ("keys", "row", "with_config", "expected"),
    [
        ({"mode": "legacy"}, None, True, RouteMode("legacy", "config", "legacy")),
        ({}, ROW, True, RouteMode("candidate", "store", "shadow", NOW, "alice")),
        (None, None, True, RouteMode("shadow", "automatic")),
        (None, ROW, False, RouteMode("candidate", "store", None, NOW, "alice")),
        (None, None, False, RouteMode()),
    ],
)
def test_the_current_mode_comes_from_the_store_else_the_config(
    keys: dict[str, Any] | None, row: RouteModeRow | None, with_config: bool, expected: RouteMode
) -> None:
    config = config_of() if with_config else None
    assert route_mode(rule(**keys) if keys is not None else None, row, config) == expected


def entry(before: str, after: str, actor: str = "alice") -> AuditEntry:
    return AuditEntry("id", NOW, "r", before, after, actor, "why", "replica-a")


@pytest.mark.parametrize(
    ("before", "after", "back"),
    [
        ("candidate", "candidate_primary", True),
        ("candidate_primary", "shadow", True),
        ("shadow", "legacy", True),
        ("candidate", "legacy", True),
        ("shadow", "candidate_primary", False),
        ("legacy", "shadow", False),
        ("shadow", "unknown-mode", False),
    ],
)
def test_a_rollback_is_a_step_toward_legacy(before: str, after: str, back: bool) -> None:
    assert steps_back(entry(before, after)) is back


def test_serving_adds_the_counters_and_counts_the_rollbacks() -> None:
    audit = [
        entry("shadow", "candidate_primary"),
        entry("candidate_primary", "shadow", "auto-rollback"),
        entry("shadow", "candidate_primary"),
        entry("candidate_primary", "shadow"),
    ]
    serving = serving_of(CutoverTotals("r", 200, 10, 4), audit)
    assert serving == Serving(200, 10, 4, rollbacks=2, automatic_rollbacks=1)
    assert serving.active and serving.failure_rate == 0.05
    assert not serving_of(None, []).active and serving_of(None, []).failure_rate is None


# --- The report on real stores ---------------------------------------------------------------------------

SEARCH = "GET /search"
HISTORY: tuple[ModeChange, ...] = (
    (6 * HOUR, "shadow", "candidate_primary", "alice", "pilot", {}),
    (5 * HOUR, "candidate_primary", "shadow", "auto-rollback", "error rate 8% over 5m", {"served": 50}),
    (3 * HOUR, "shadow", "candidate_primary", "alice", "fixed, retry", {}),
    (DAY * 30, "legacy", "shadow", "reload", "the config now names shadow", {}),  # a month back
)


async def report_on(url: str, config: Config, *routes: str, window: Window = ALL_TIME) -> Report:
    store = open_store(url, create=False)
    try:
        return await build_report(store, routes=routes, config=config, window=window, clock=lambda: NOW)
    finally:
        await store.close()


async def test_modes_audit_and_serving_reach_every_format(store_url: str) -> None:
    config = config_of(
        {"name": SEARCH, "path": "/search", "fallback": "legacy"}, {"name": "GET /a", "path": "/a"}
    )
    await write_histories(
        store_url, History().traffic(HOUR, 20, route=SEARCH), History().traffic(HOUR, 20, route="GET /a")
    )
    await switch_modes(store_url, SEARCH, sorted(HISTORY, key=lambda c: -c[0]))
    await add_serving(store_url, SEARCH, 2 * HOUR, {"served": 90, "candidate_failures": 3, "fallbacks": 3})
    await add_serving(store_url, SEARCH, HOUR, {"served": 10})
    report = await report_on(store_url, config)
    search, plain = report.routes[1], report.routes[0]
    assert search.route == SEARCH and search.mode == RouteMode(
        "candidate_primary", "store", "shadow", NOW - 3 * HOUR, "alice"
    )
    assert [(e.from_mode, e.to_mode, e.actor) for e in search.audit] == [
        ("legacy", "shadow", "reload"),
        ("shadow", "candidate_primary", "alice"),
        ("candidate_primary", "shadow", "auto-rollback"),
        ("shadow", "candidate_primary", "alice"),
    ]
    assert search.serving == Serving(100, 3, 3, rollbacks=1, automatic_rollbacks=1)
    assert (
        plain.mode == RouteMode("shadow", "config", "shadow")
        and plain.audit == ()
        and not plain.serving.active
    )
    body = report_json(report)
    assert [(e["at"], e["route"], e["from_mode"], e["to_mode"]) for e in body["audit"]][-1] == (
        "2023-11-18T01:00:00Z",
        SEARCH,
        "shadow",
        "candidate_primary",
    )
    assert body["audit"][2]["details"] == {"served": 50} and body["audit"][2]["actor"] == "auto-rollback"
    route = body["routes"][1]
    assert {k: route[k] for k in ("mode", "mode_source", "configured_mode", "mode_since", "mode_actor")} == {
        "mode": "candidate_primary",
        "mode_source": "store",
        "configured_mode": "shadow",
        "mode_since": "2023-11-18T01:00:00Z",
        "mode_actor": "alice",
    }
    assert route["serving"] == {
        "served": 100,
        "candidate_failures": 3,
        "fallbacks": 3,
        "candidate_failure_rate": 0.03,
        "rollbacks": 1,
        "automatic_rollbacks": 1,
    }
    assert route["audit"] == body["audit"] and body["routes"][0]["audit"] == []


async def test_the_audit_covers_the_report_s_period_and_routes(sqlite_url: str) -> None:
    config = config_of({"name": SEARCH, "path": "/search"}, {"name": "GET /a", "path": "/a"})
    await write_histories(sqlite_url, History().traffic(HOUR, 20, route="GET /a"))
    await switch_modes(sqlite_url, SEARCH, sorted(HISTORY, key=lambda c: -c[0]))
    await switch_modes(sqlite_url, "GET /a", [(HOUR, "shadow", "legacy", "ops", "incident", {})])
    recent = await report_on(sqlite_url, config, window=Window(NOW - DAY, NOW))
    assert [(e.route, e.actor) for e in recent.audit] == [
        (SEARCH, "alice"),
        (SEARCH, "auto-rollback"),
        (SEARCH, "alice"),
        ("GET /a", "ops"),
    ]
    only_a = await report_on(sqlite_url, config, "GET /a")
    assert [(e.route, e.to_mode) for e in only_a.audit] == [("GET /a", "legacy")]


# --- Not shadowed by design -----------------------------------------------------------------------------

ROUTES = (
    {"name": "GET /ready", "path": "/ready"},
    {"name": "GET /silent", "path": "/silent"},
    {"name": "GET /legacy", "path": "/legacy", "mode": "legacy"},
    {"name": "POST /orders", "path": "/orders", "methods": ["POST"]},
    {"name": "GET /unsampled", "path": "/unsampled", "sample_rate": 0.0},
    {"name": "GET /cut", "path": "/cut"},
)


@pytest.fixture
async def designed(sqlite_url: str) -> Config:
    """GET /ready is READY, GET /silent is silent; GET /cut was READY until switched to candidate."""
    await write_histories(
        sqlite_url,
        History().traffic(HOUR, 20, route="GET /ready"),
        History().traffic(DAY, 20, route="GET /cut"),
    )
    await switch_modes(
        sqlite_url, "GET /cut", [(HOUR, "shadow", "candidate_primary", "auto-promote", "READY", {})]
    )
    await switch_modes(
        sqlite_url, "GET /cut", [(HOUR / 2, "candidate_primary", "candidate", "auto-promote", "READY", {})]
    )
    return config_of(*ROUTES)


async def test_routes_not_compared_by_design_are_not_shadowed_not_blind(
    designed: Config, sqlite_url: str
) -> None:
    report = await report_on(sqlite_url, designed)
    verdicts = {r.route: r.verdict for r in report.routes}
    assert verdicts == {
        "GET /cut": ReadinessVerdict.NOT_SHADOWED,
        "GET /legacy": ReadinessVerdict.NOT_SHADOWED,
        "GET /ready": ReadinessVerdict.READY,
        "GET /silent": ReadinessVerdict.NO_DATA,
        "GET /unsampled": ReadinessVerdict.NOT_SHADOWED,
        "POST /orders": ReadinessVerdict.NOT_SHADOWED,
    }
    assert report.not_covered == ("GET /silent",)
    assert [r.route for r in report.gated] == ["GET /ready", "GET /silent"] and not report.all_ready
    cut = report.routes[0]
    assert cut.readiness is not None and cut.readiness.compared == 20  # the window's figures are kept
    assert [r.code for r in cut.readiness.reasons] == ["not_shadowed"] and cut.readiness.eta_seconds is None
    body = report_json(report)
    assert body["not_shadowed"] == [
        {
            "route": "GET /cut",
            "reason": "mode candidate (switched live by auto-promote): the candidate serves "
            "alone (cut over), legacy is not called",
        },
        {
            "route": "GET /legacy",
            "reason": "mode legacy: legacy serves alone, nothing is sent to the candidate",
        },
        {"route": "GET /unsampled", "reason": "sample_rate = 0: no request is mirrored"},
        {
            "route": "POST /orders",
            "reason": "writes only (POST) and mirror_writes is off: writes are never sent to the candidate",
        },
    ]
    assert body["not_covered"] == ["GET /silent"] and body["judged"] == ["GET /ready", "GET /silent"]
    assert {r["route"]: r["readiness"]["verdict"] for r in body["routes"]}["POST /orders"] == "NOT_SHADOWED"


def test_not_shadowed_routes_are_listed_apart_in_markdown_and_html(
    designed: Config, sqlite_url: str, tmp_path: Path
) -> None:
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    assert run_report(sqlite_url, designed, "md", (), False, str(md), clock=lambda: NOW) == 0
    assert run_report(sqlite_url, designed, "html", (), False, str(page), clock=lambda: NOW) == 0
    text = md.read_text()
    assert "**Not covered** (configured, no comparison in the cutover window): `GET /silent`." in text
    assert "- `GET /unsampled`: sample_rate = 0: no request is mirrored" in text
    assert "**NOT_SHADOWED** (not compared by design): writes only (POST)" in text
    assert "| GET /cut | 20 | 20 | 0 | 0 | 0 | 0 | 0 | 0.0% | NOT_SHADOWED | candidate |" in text
    html = page.read_text()
    listed = html[html.index('class="banner info not-shadowed"') :]
    listed = listed[: listed.index("</div>")]
    assert [n for n in ("GET /cut", "GET /legacy", "GET /unsampled", "POST /orders") if n in listed] == [
        "GET /cut",
        "GET /legacy",
        "GET /unsampled",
        "POST /orders",
    ]
    assert "GET /silent" not in listed and '<span class="badge NOT_SHADOWED">NOT SHADOWED</span>' in html
    assert "Not ready for cutover: 0 of 6 routes NOT READY, 1 without data, 4 not shadowed by design." in html


@dataclass(frozen=True)
class CheckCase:
    routes: tuple[dict[str, Any], ...]
    selected: tuple[str, ...]
    code: int
    says: str


CHECKS = {
    "not shadowed routes are not judged": CheckCase(
        ROUTES[:1] + ROUTES[2:5],
        (),
        0,
        "check: PASS (1 routes READY, 20 comparisons in their windows; not judged, not shadowed by design: "
        "GET /cut, GET /legacy, GET /unsampled, POST /orders)",  # GET /cut: not configured, cut over live
    ),
    "a silent compared route still fails": CheckCase(
        ROUTES[:3], (), 1, "GET /silent: not covered: no comparisons in the last 7d"
    ),
    "a not shadowed route named with --route is judged": CheckCase(
        ROUTES, ("GET /ready", "GET /legacy"), 1, "GET /legacy: not shadowed by design: mode legacy"
    ),
    "naming only ready routes passes": CheckCase(ROUTES, ("GET /ready",), 0, "check: PASS (1 routes READY"),
    "a cut-over route is not judged": CheckCase(
        (ROUTES[0], ROUTES[5]), (), 0, "not judged, not shadowed by design: GET /cut)"
    ),
}


@pytest.mark.parametrize("case", CHECKS.values(), ids=CHECKS.keys())
def test_check_skips_routes_not_shadowed_by_design_unless_named(
    case: CheckCase, designed: Config, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    code = run_report(
        sqlite_url, config_of(*case.routes), "json", case.selected, True, str(out), clock=lambda: NOW
    )
    err = capsys.readouterr().err
    assert (code, case.says in err) == (case.code, True), err
    assert json.loads(out.read_text())["all_ready"] is (case.code == 0)


async def test_a_route_switched_to_legacy_keeps_its_figures_and_comes_back(sqlite_url: str) -> None:
    config = config_of({"name": "GET /a", "path": "/a"})
    await write_histories(sqlite_url, History().traffic(DAY, 20, route="GET /a"))
    await switch_modes(sqlite_url, "GET /a", [(HOUR * 2, "shadow", "legacy", "ops", "incident 7", {})])
    [route] = (await report_on(sqlite_url, config)).routes
    assert route.verdict is ReadinessVerdict.NOT_SHADOWED and route.readiness is not None
    assert (
        route.why_not_shadowed.startswith("mode legacy (switched live by ops)")
        and route.readiness.compared == 20
    )
    await switch_modes(sqlite_url, "GET /a", [(HOUR, "legacy", "shadow", "ops", "incident over", {})])
    [route] = (await report_on(sqlite_url, config)).routes
    assert route.verdict is ReadinessVerdict.READY and route.serving.rollbacks == 1


def test_check_fails_when_nothing_is_compared(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(write_histories(sqlite_url))  # an empty store: only its schema
    config = config_of(*ROUTES[2:5])
    assert run_report(sqlite_url, config, "json", (), True, None, clock=lambda: NOW) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["all_ready"] is False
    assert (
        "check: FAIL: no compared route to judge; not judged, not shadowed by design: "
        "GET /legacy, GET /unsampled, POST /orders" in captured.err
    )
