"""The dashboard in a real headless Chromium (selenium + chromedriver): log in, read the verdicts and the
routes not shadowed by design, click through a route (its live mode and mode changes) and a signature to
one example, and see both sides' changed values highlighted.

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package. Without them the test is
skipped with the reason, except under CI (CI set), where it fails: the dashboard must be checked there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from report_support import NOW, seed_demo

from config.model import StoreSettings
from proxy.admin_auth import admin_auth_middleware
from proxy.dashboard import add_dashboard_routes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TOKEN = "s3cret-admin-token"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install selenium)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} not found (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the dashboard browser test: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="shadow-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def click_through(driver: Any, base: str) -> dict[str, Any]:
    """What a person does and sees, step by step (runs in a thread: selenium blocks)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    def texts(selector: str) -> list[str]:
        return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]

    def arrive(selector: str) -> None:
        """A click starts a navigation; wait until the next page shows `selector`."""
        located = expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
        WebDriverWait(driver, 15).until(located)

    seen: dict[str, Any] = {}
    driver.get(base + "/")
    arrive("form.login")
    seen["login_url"] = driver.current_url
    driver.find_element(By.NAME, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    arrive("table.summary")
    seen["routes"] = texts("table.summary tbody td:first-child")
    seen["verdicts"] = texts("table.summary tbody .badge")
    seen["banner"] = texts(".banner.fail")
    seen["modes"] = texts("table.summary tbody .mode")
    seen["not_shadowed"] = texts(".banner.not-shadowed li")
    driver.find_element(By.CSS_SELECTOR, "table.summary").find_element(By.LINK_TEXT, "GET /search").click()
    arrive(".readiness")
    seen["route_heading"] = texts("main h2")[0]
    seen["reasons"] = texts(".readiness ul.reasons li")
    seen["mode_line"] = texts(".card .mode-line")
    seen["mode_changes"] = [
        [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td")]
        for row in driver.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")
    ]
    seen["serving"] = texts(".serving .stat")
    seen["marks"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.chart line.mark"))
    seen["charts"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline"))
    driver.find_element(By.LINK_TEXT, "examples").click()
    arrive("a[href^='/example?']")
    seen["signature_paths"] = texts("main table code")
    driver.find_elements(By.CSS_SELECTOR, "main table a")[0].click()
    arrive("table.diff")
    seen["request"] = texts(".request-line")
    seen["removed"] = texts("table.diff tr.chg td.left mark.del")
    seen["added"] = texts("table.diff tr.chg td.right mark.ins")
    seen["changed_left"] = texts("table.diff tr.chg td.left")
    seen["changed_right"] = texts("table.diff tr.chg td.right")
    seen["sections"] = texts(".example h3")
    normalized = driver.find_elements(By.CSS_SELECTOR, "table.diff")[1]
    seen["normalized"] = normalized.text
    return seen


async def test_dashboard_in_headless_chromium(sqlite_url: str, browser: Any) -> None:
    config = replace(await seed_demo(sqlite_url), store=StoreSettings(url=sqlite_url))
    # Pretend to listen beyond loopback (the server itself stays on 127.0.0.1): a token is then required.
    app = web.Application(middlewares=[admin_auth_middleware("0.0.0.0", TOKEN)])
    add_dashboard_routes(app, config, clock=lambda: NOW, degraded=lambda: False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        seen = await asyncio.to_thread(click_through, browser, str(server.make_url("")).rstrip("/"))
    finally:
        await server.close()

    assert "/login?next=" in seen["login_url"]
    assert seen["routes"] == ["GET /export", "GET /health", "GET /items/{id}", "GET /search", "POST /orders"]
    assert seen["verdicts"] == ["NOT SHADOWED", "NO DATA", "READY", "NOT READY", "NOT SHADOWED"]
    assert seen["modes"] == ["legacy", "shadow", "shadow", "candidate primary", "shadow"]
    assert seen["banner"] == [
        "Not ready for cutover: 1 of 5 routes NOT READY, 1 without data, 2 not shadowed by design."
    ]
    assert seen["not_shadowed"] == [
        "GET /export: mode legacy: legacy serves alone, nothing is sent to the candidate",
        "POST /orders: writes only (POST) and mirror_writes is off: writes are never sent to the candidate",
    ]
    assert seen["route_heading"] == "GET /search"
    assert seen["mode_line"] == [
        "mode candidate primary · switched live by alice at 2023-11-18T02:00:00Z (the config names shadow)"
    ]
    assert [row[:4] for row in seen["mode_changes"]] == [
        ["2023-11-17T23:00:00Z", "shadow", "candidate primary", "alice"],
        ["2023-11-18T00:00:00Z", "candidate primary", "shadow", "auto-rollback"],
        ["2023-11-18T02:00:00Z", "shadow", "candidate primary", "alice"],
    ]
    assert seen["mode_changes"][1][4].splitlines() == [
        "candidate error rate 8.0% (4 of 50) over 5m exceeds 5.0%",
        "candidate_failures 4, served 50",
    ]
    assert seen["serving"][1].splitlines() == ["CANDIDATE FAILURES", "6 (5.00%)"]  # labels are uppercased
    assert seen["marks"] == 6
    assert seen["reasons"][0] == "too_few_samples 486 comparisons in the last 7d, 1,000 needed"
    assert [r.split()[0] for r in seen["reasons"]] == ["too_few_samples", "divergence", "latency"]
    assert seen["charts"] >= 4  # two lines in each of two charts
    assert seen["signature_paths"][0] == "$.hits[*].score"
    assert seen["request"][0].startswith("GET /search?q=lamp&page=")
    assert seen["sections"] == ["Differences", "Raw responses", "Normalized by the route's rules"]
    # Raw: the ignored took_ms differs too; normalized: only the score. Changed characters are marked.
    assert [t.strip() for t in seen["changed_left"]] == ['"took_ms": 12,', '"score": 0.93,', '"score": 0.93,']
    assert [t.strip() for t in seen["changed_right"]] == [
        '"took_ms": 31,',
        '"score": 0.91,',
        '"score": 0.91,',
    ]
    assert (seen["removed"], seen["added"]) == (["2", "3", "3"], ["3", "1", "1"])
    assert "took_ms" not in seen["normalized"] and "0.93" in seen["normalized"]
