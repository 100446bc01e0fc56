"""Automatic promotion and rollback: the pure decision (table-driven), then the pilot on real histories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from cutover_support import AiohttpServer, Side, StartProxy, config_of, primary, rule, side_app, url_of

from config.model import CutoverSettings, Mode, Promote, RollbackSettings
from proxy.promotion import AutoSettings, ReadinessView, decide
from proxy.store import open_store
from proxy.store.base import Batch, RouteMinute, minute_of
from proxy.tally import RecentStats

DAY = 86400.0
NOW = 1_800_000_000.0
READY = ReadinessView("READY", compared=1500, unexplained=0)
NOT_READY = ReadinessView("NOT_READY", compared=1500, unexplained=2, reasons=("divergence: 2",))
BOUNDS = RollbackSettings(
    window=300.0, min_samples=20, max_divergence_rate=0.05, max_candidate_error_rate=0.05
)
AUTO = AutoSettings(promote=True, window=7 * DAY)
BOTH = AutoSettings(promote=True, window=7 * DAY, rollback=BOUNDS)
ROLLBACK_ONLY = AutoSettings(rollback=BOUNDS)
CLEAN = RecentStats(served=100, compared=100)
FAILING = RecentStats(served=40, candidate_failures=10, fallbacks=10, compared=40)
DIVERGING = RecentStats(served=40, compared=40, diverged=4)

# (mode, seconds in mode or None, readiness, recent, settings) -> (to, kind) or None
DECISIONS: list[tuple[str, Mode, float | None, ReadinessView | None, RecentStats, AutoSettings, Any]] = [
    ("manual routes never move", Mode.SHADOW, None, READY, FAILING, AutoSettings(), None),
    ("shadow READY promotes", Mode.SHADOW, None, READY, CLEAN, AUTO, (Mode.CANDIDATE_PRIMARY, "promote")),
    ("shadow NOT_READY stays", Mode.SHADOW, None, NOT_READY, CLEAN, AUTO, None),
    ("no readiness, no promotion", Mode.SHADOW, None, None, CLEAN, AUTO, None),
    ("shadow entered recently waits", Mode.SHADOW, DAY, READY, CLEAN, AUTO, None),
    (
        "shadow after a full window",
        Mode.SHADOW,
        8 * DAY,
        READY,
        CLEAN,
        AUTO,
        (Mode.CANDIDATE_PRIMARY, "promote"),
    ),
    ("primary needs a whole window", Mode.CANDIDATE_PRIMARY, 6 * DAY, READY, CLEAN, AUTO, None),
    ("primary, time unknown", Mode.CANDIDATE_PRIMARY, None, READY, CLEAN, AUTO, None),
    ("primary READY again", Mode.CANDIDATE_PRIMARY, 7 * DAY, READY, CLEAN, AUTO, (Mode.CANDIDATE, "promote")),
    ("candidate is the end", Mode.CANDIDATE, 30 * DAY, READY, CLEAN, AUTO, None),
    ("legacy is never promoted", Mode.LEGACY, 30 * DAY, READY, CLEAN, AUTO, None),
    (
        "failures roll primary back",
        Mode.CANDIDATE_PRIMARY,
        60.0,
        None,
        FAILING,
        ROLLBACK_ONLY,
        (Mode.SHADOW, "rollback"),
    ),
    (
        "divergences roll back",
        Mode.CANDIDATE_PRIMARY,
        60.0,
        None,
        DIVERGING,
        ROLLBACK_ONLY,
        (Mode.SHADOW, "rollback"),
    ),
    (
        "candidate back to primary",
        Mode.CANDIDATE,
        60.0,
        None,
        FAILING,
        ROLLBACK_ONLY,
        (Mode.CANDIDATE_PRIMARY, "rollback"),
    ),
    (
        "rate at the limit stays",
        Mode.CANDIDATE,
        60.0,
        None,
        RecentStats(served=100, candidate_failures=5),
        ROLLBACK_ONLY,
        None,
    ),
    (
        "too few samples",
        Mode.CANDIDATE,
        60.0,
        None,
        RecentStats(served=19, candidate_failures=19),
        ROLLBACK_ONLY,
        None,
    ),
    ("shadow never rolls back", Mode.SHADOW, 60.0, None, FAILING, ROLLBACK_ONLY, None),
    (
        "rollback before promotion",
        Mode.CANDIDATE_PRIMARY,
        8 * DAY,
        READY,
        FAILING,
        BOTH,
        (Mode.SHADOW, "rollback"),
    ),
    (
        "healthy and READY promotes",
        Mode.CANDIDATE_PRIMARY,
        8 * DAY,
        READY,
        CLEAN,
        BOTH,
        (Mode.CANDIDATE, "promote"),
    ),
]


@pytest.mark.parametrize(
    ("case", "mode", "in_mode", "readiness", "recent", "settings", "expected"),
    DECISIONS,
    ids=[d[0] for d in DECISIONS],
)
def test_decide(
    case: str,
    mode: Mode,
    in_mode: float | None,
    readiness: ReadinessView | None,
    recent: RecentStats,
    settings: AutoSettings,
    expected: tuple[Mode, str] | None,
) -> None:
    since = NOW - in_mode if in_mode is not None else None
    decision = decide(mode, since, readiness, recent, settings, NOW)
    assert (None if decision is None else (decision.to, decision.kind)) == expected


def test_a_decision_carries_the_numbers_that_triggered_it() -> None:
    rollback = decide(Mode.CANDIDATE, NOW - 60, None, FAILING, ROLLBACK_ONLY, NOW)
    assert rollback is not None
    assert rollback.numbers["candidate_error_rate"] == 0.25 and rollback.numbers["served"] == 40
    assert rollback.reason == "candidate error rate 25.0% (10 of 40) over 5.0% in the last 5m"
    promotion = decide(Mode.SHADOW, None, READY, CLEAN, AUTO, NOW)
    assert promotion is not None
    assert promotion.numbers == {
        "verdict": "READY",
        "compared": 1500,
        "unexplained_divergences": 0,
        "window_s": 7 * DAY,
        "in_mode_s": None,
    }


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock(minute_of(NOW))


async def _history(url: str, *rows: tuple[float, dict[str, int]]) -> None:
    store = open_store(url)
    try:
        await store.migrate()
        minutes = tuple(RouteMinute("items", minute_of(at), counts) for at, counts in rows)
        await store.write(Batch("seed", route_minutes=minutes), 5)
    finally:
        await store.close()


async def test_a_clean_history_promotes_twice_each_step_audited_with_its_numbers(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, tmp_path: Path, clock: Clock
) -> None:
    url = f"sqlite:///{tmp_path / 'shadow.db'}"
    clean = {"compared": 600, "matched": 600}
    await _history(url, (clock.now - 7200, clean), (clock.now - 3600, clean))
    side = Side("either")
    cutover = CutoverSettings(window=DAY, min_samples=1000)
    items = rule("items", "/items", promote=Promote.AUTO, cutover=cutover)
    config = config_of(
        url_of(await aiohttp_server(side_app(side))), url_of(await aiohttp_server(side_app(side))), items
    )
    proxy = await start_proxy(config, store_url=url, clock=clock)

    [first] = await proxy.cutover.pilot.tick()
    assert (first.decision.to, first.changed) == (Mode.CANDIDATE_PRIMARY, True)
    clock.now += 3600
    assert await proxy.cutover.pilot.tick() == []  # READY, but not yet a whole window in candidate_primary
    await _history(url, (clock.now, clean), (clock.now + 60, clean))
    clock.now += DAY
    [second] = await proxy.cutover.pilot.tick()
    assert second.decision.to is Mode.CANDIDATE
    assert (await proxy.json("/items"))["side"] == "either" and side.seen[-1]["marker"] is None

    audit = (await (await proxy.admin.get("/audit")).json())["audit"]
    assert [(e["from_mode"], e["to_mode"], e["actor"]) for e in audit] == [
        ("shadow", "candidate_primary", "auto-promote"),
        ("candidate_primary", "candidate", "auto-promote"),
    ]
    assert audit[0]["details"]["compared"] == 1200 and audit[1]["details"]["compared"] == 1200
    assert audit[0]["reason"].startswith("READY over the last 1d: 1200 comparisons")


async def test_a_history_with_a_divergence_is_not_promoted(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, tmp_path: Path, clock: Clock
) -> None:
    url = f"sqlite:///{tmp_path / 'shadow.db'}"
    await _history(url, (clock.now - 600, {"compared": 1500, "matched": 1499, "diverged": 1}))
    side = Side("either")
    items = rule(
        "items", "/items", promote=Promote.AUTO, cutover=CutoverSettings(window=DAY, min_samples=1000)
    )
    config = config_of(
        url_of(await aiohttp_server(side_app(side))), url_of(await aiohttp_server(side_app(side))), items
    )
    proxy = await start_proxy(config, store_url=url, clock=clock)
    assert await proxy.cutover.pilot.tick() == []
    listed = await (await proxy.admin.get("/routes")).json()
    assert listed["routes"][0]["readiness"]["verdict"] == "NOT_READY"


async def test_a_candidate_failure_burst_rolls_back_at_once_logged_as_an_error(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy, candidate = Side("legacy", body=_same), Side("candidate", body=_same)
    bounds = RollbackSettings(window=300.0, min_samples=10, max_candidate_error_rate=0.2)
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(side_app(candidate))),
        primary("items", "/items", rollback=bounds),
    )
    proxy = await start_proxy(config)
    for _ in range(10):
        assert (await proxy.client.get("/items")).status == 200
    await proxy.idle()
    assert await proxy.cutover.pilot.tick() == []

    candidate.status = 500
    for _ in range(10):  # the clients never notice: legacy answers instead
        assert (await proxy.client.get("/items")).status == 200
    await proxy.idle()
    with structlog.testing.capture_logs() as logs:
        [rollback] = await proxy.cutover.pilot.tick()
    assert (rollback.decision.to, rollback.decision.kind, rollback.changed) == (Mode.SHADOW, "rollback", True)
    [event] = [e for e in logs if e["event"] == "mode_rolled_back"]
    assert event["log_level"] == "error" and event["n_candidate_failures"] == 10
    [entry] = (await (await proxy.admin.get("/audit")).json())["audit"]
    assert (entry["to_mode"], entry["actor"]) == ("shadow", "auto-rollback")
    assert entry["details"]["served"] == 20 and entry["details"]["candidate_error_rate"] == 0.5
    assert (await (await proxy.admin.get("/stats")).json())["cutover"]["rollbacks"] == {"items": 1}
    before = len(candidate.seen)
    assert (await proxy.client.get("/items")).status == 200
    await proxy.idle()
    assert candidate.seen[before:][0]["marker"] == "1"  # shadow: the candidate is mirrored again
    assert await proxy.cutover.pilot.tick() == []  # shadow never rolls back further


def _same(request: Any, body: bytes) -> dict[str, Any]:
    return {"items": [1, 2, 3]}
