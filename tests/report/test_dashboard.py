"""The dashboard's pages and the admin token guard, through a real aiohttp server and client."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from report_support import HOUR, NOW, History, seed_demo, write_histories

from config.model import Config, StoreSettings
from proxy.admin_auth import (
    COOKIE,
    AdminTokenRequired,
    admin_auth_middleware,
    is_loopback,
    token_from_env,
)
from proxy.dashboard import add_dashboard_routes, route_href
from proxy.store import open_store

Client = Callable[..., Awaitable[TestClient[Any, Any]]]
TOKEN = "s3cret"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def admin_app(
    config: Config, listen: str = "127.0.0.1", token: str | None = None, **kw: Any
) -> web.Application:
    app = web.Application(middlewares=[admin_auth_middleware(listen, token)])
    app.router.add_get("/healthz", healthz)
    add_dashboard_routes(app, config, clock=lambda: NOW, **kw)
    return app


@pytest.fixture
async def demo(sqlite_url: str) -> Config:
    return replace(await seed_demo(sqlite_url), store=StoreSettings(url=sqlite_url))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("admin.internal", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_without_a_token_refuses_to_start() -> None:
    with pytest.raises(AdminTokenRequired, match=r"0\.0\.0\.0, beyond loopback: set SHADOW_ADMIN_TOKEN"):
        admin_auth_middleware("0.0.0.0", None)
    assert token_from_env({"SHADOW_ADMIN_TOKEN": "  t0k  "}) == "t0k"
    assert token_from_env({"SHADOW_ADMIN_TOKEN": " "}) is None and token_from_env({}) is None


async def test_loopback_without_a_token_is_open(demo: Config, aiohttp_client: Client) -> None:
    client = await aiohttp_client(admin_app(demo))
    assert (await client.get("/api/report")).status == 200


async def test_a_token_guards_everything_but_the_probes(demo: Config, aiohttp_client: Client) -> None:
    client = await aiohttp_client(admin_app(demo, "0.0.0.0", TOKEN))
    refused = await client.get("/api/report")
    assert refused.status == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get("/api/report", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/api/report", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200
    assert (await client.get("/healthz")).status == 200
    browser = await client.get("/route?name=x", headers={"Accept": "text/html"}, allow_redirects=False)
    location = urlsplit(browser.headers["Location"])
    assert (browser.status, location.path, parse_qs(location.query)) == (
        303,
        "/login",
        {"next": ["/route?name=x"]},
    )


async def test_login_sets_a_session_cookie_and_never_redirects_off_site(
    demo: Config, aiohttp_client: Client
) -> None:
    client = await aiohttp_client(admin_app(demo, "0.0.0.0", TOKEN))
    wrong = await client.post("/login", data={"token": "nope", "next": "/"}, allow_redirects=False)
    assert wrong.status == 401 and "That token is not the admin token." in await wrong.text()
    right = await client.post(
        "/login", data={"token": TOKEN, "next": "//evil.example/"}, allow_redirects=False
    )
    assert (right.status, right.headers["Location"]) == (303, "/")
    cookie = right.cookies[COOKIE]
    assert cookie.value != TOKEN and cookie["httponly"] and cookie["samesite"] == "Strict"
    assert (await client.get("/api/report")).status == 200  # the client now sends the cookie


async def test_pages_escape_everything_from_the_store(sqlite_url: str, aiohttp_client: Client) -> None:
    evil = "GET /<script>alert(1)</script>"
    await write_histories(sqlite_url, History().traffic(HOUR, 3, route=evil))
    config = Config(legacy="http://legacy", store=StoreSettings(url=sqlite_url))
    client = await aiohttp_client(admin_app(config))
    for path in ("/", route_href(evil)):
        text = await (await client.get(path)).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text, path


async def test_drill_down_pages_and_missing_things(demo: Config, aiohttp_client: Client) -> None:
    client = await aiohttp_client(admin_app(demo, degraded=lambda: True))
    index = await (await client.get("/")).text()
    assert "The store is degraded" in index and 'href="/route?name=GET+%2Fsearch"' in index
    assert "Replicas writing to this store: replica-a, replica-b." in index
    route = await (await client.get(route_href("GET /search"))).text()
    assert '<span class="badge NOT_READY">NOT READY</span>' in route and ">examples</a>" in route
    for missing in ("/route?name=GET+/nowhere", "/signature?id=0000", "/example?id=none"):
        assert (await client.get(missing)).status == 404, missing
    report = await (await client.get("/api/report")).json()
    assert report["not_covered"] == ["GET /health"] and report["generated_at"] == "2023-11-18T04:00:00Z"


async def test_modes_and_their_changes_on_the_index_and_the_route_page(
    demo: Config, aiohttp_client: Client
) -> None:
    client = await aiohttp_client(admin_app(demo))
    index = await (await client.get("/")).text()
    latest = index[index.index("<h2>Latest mode changes</h2>") :]
    assert re.findall(r"<tr><td>([^<]+)</td>", latest) == [  # newest first
        "2023-11-18T02:00:00Z",
        "2023-11-18T00:00:00Z",
        "2023-11-17T23:00:00Z",
    ]
    assert '<span class="badge NOT_SHADOWED">NOT SHADOWED</span>' in index
    assert "Not shadowed by design (the cutover gate does not judge them unless named with --route):" in index
    route = await (await client.get(route_href("GET /search"))).text()
    assert "switched live by alice at 2023-11-18T02:00:00Z (the config names shadow)" in route
    audit = route[route.index('<table class="audit">') :]
    assert audit.index("pilot: the candidate serves search") < audit.index("timeouts fixed (INC-42); retry")
    assert '<div class="label">served by the candidate</div><div class="value">120</div>' in route
    orders = await (await client.get(route_href("POST /orders"))).text()
    assert "writes only (POST) and mirror_writes is off" in orders and "no mode change recorded" in orders
    report = await (await client.get("/api/report")).json()
    assert [e["to_mode"] for e in report["audit"]] == ["candidate_primary", "shadow", "candidate_primary"]


async def test_an_unreadable_store_is_a_503_page_and_is_never_created(
    tmp_path: Path, aiohttp_client: Client
) -> None:
    absent = tmp_path / "absent.db"
    config = Config(legacy="http://legacy", store=StoreSettings(url=f"sqlite:///{absent}"))
    client = await aiohttp_client(admin_app(config))
    page = await client.get("/")
    assert page.status == 503 and "no store at" in await page.text()
    assert (await client.get("/api/report")).status == 503 and not absent.exists()
    lent = await aiohttp_client(admin_app(config, store=lambda: None))
    assert "the store is not open yet" in await (await lent.get("/")).text()


async def test_a_lent_store_is_read_and_left_open(demo: Config, aiohttp_client: Client) -> None:
    store = open_store(demo.store.url)
    try:
        client = await aiohttp_client(admin_app(demo, store=lambda: store))
        assert (await client.get("/")).status == 200
        await client.close()
        assert await store.schema_version() >= 1  # still usable: the dashboard did not close it
    finally:
        await store.close()
