"""Switching live: admin API and CLI, reloads (valid or not), and no failed request under load meanwhile."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cutover_support import AiohttpServer, StartProxy, url_of

from config import load_config
from config.model import HostPort
from proxy.admin import build_admin_app
from proxy.admin_auth import AdminTokenRequired
from proxy.app import build_app
from proxy.commands.mode import run_mode
from proxy.testing import MemoryRecorder

ROUTES = """
[[routes]]
name = "items"
path = "/items/{{id}}"
mode = "{mode}"
fallback = "legacy"

[[routes]]
name = "orders"
path = "/orders"
methods = ["GET", "POST"]
"""


def write_config(path: Path, legacy: str, candidate: str, mode: str = "shadow", extra: str = "") -> None:
    upstreams = f'[upstreams]\nlegacy = "{legacy}"\ncandidate = "{candidate}"\n'
    path.write_text(upstreams + extra + ROUTES.format(mode=mode), encoding="utf-8")


@pytest.fixture
async def upstreams(aiohttp_server: AiohttpServer) -> tuple[str, str]:
    async def slowly(side: str) -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            await request.read()
            await asyncio.sleep(0.002)  # long enough for switches and reloads to land mid-request
            return web.json_response({"side": side, "target": request.raw_path})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        return app

    legacy = await aiohttp_server(await slowly("legacy"))
    candidate = await aiohttp_server(await slowly("candidate"))
    return url_of(legacy), url_of(candidate)


async def test_routes_lists_live_modes_and_a_switch_is_validated_audited_and_applied(
    tmp_path: Path, upstreams: tuple[str, str], start_proxy: StartProxy
) -> None:
    file = tmp_path / "proxy.toml"
    write_config(file, *upstreams)
    proxy = await start_proxy(load_config(file))

    listed = await (await proxy.admin.get("/routes?readiness=0")).json()
    assert [(r["name"], r["mode"], r["since"]) for r in listed["routes"]] == [
        ("items", "shadow", None),
        ("orders", "shadow", None),
    ]
    for payload, status, error in [
        ({"mode": "sideways", "reason": "x"}, 400, "mode: expected one of legacy, shadow"),
        ({"mode": "candidate"}, 400, "reason: required"),
        ([1, 2], 400, "body: expected a JSON object"),
    ]:
        refused = await proxy.admin.post("/routes/items/mode", json=payload)
        assert refused.status == status and error in (await refused.json())["errors"][0]
    missing = await proxy.admin.post("/routes/nope/mode", json={"mode": "legacy", "reason": "x"})
    assert missing.status == 404 and "items, orders" in (await missing.json())["errors"][0]

    switched = await proxy.admin.post(
        "/routes/items/mode", json={"mode": "candidate_primary", "reason": "ready", "actor": "alice"}
    )
    body = await switched.json()
    assert (body["from"], body["mode"], body["changed"]) == ("shadow", "candidate_primary", True)
    assert (await proxy.json("/items/1"))["side"] == "candidate"
    again = await proxy.switch("items", "candidate_primary", "again")
    assert again["changed"] is False
    [entry] = (await (await proxy.admin.get("/audit")).json())["audit"]
    assert (entry["route"], entry["from_mode"], entry["to_mode"], entry["actor"], entry["reason"]) == (
        "items",
        "shadow",
        "candidate_primary",
        "alice",
        "ready",
    )
    listed = await (await proxy.admin.get("/routes?readiness=0")).json()
    assert listed["routes"][0]["mode"] == "candidate_primary" and listed["routes"][0]["actor"] == "alice"


async def test_the_mode_command_switches_and_lists_over_the_admin_api(
    tmp_path: Path, upstreams: tuple[str, str], start_proxy: StartProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "proxy.toml"
    write_config(file, *upstreams)
    proxy = await start_proxy(load_config(file))
    admin = str(proxy.admin.make_url("")).rstrip("/")

    assert await asyncio.to_thread(run_mode, "items", "candidate", "cut over", admin, None, "bob") == 0
    assert "items: shadow -> candidate" in capsys.readouterr().out
    assert await asyncio.to_thread(run_mode, "items", "nonsense", "x", admin) == 1
    assert "mode: expected one of" in capsys.readouterr().err
    assert await asyncio.to_thread(run_mode, "items", "legacy", None, admin) == 1
    assert await asyncio.to_thread(run_mode, None, None, None, admin) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ROUTE", "MODE", "SINCE", "BY", "READINESS"]
    assert table[1].split()[:2] == ["items", "candidate"] and "bob" in table[1]
    assert await asyncio.to_thread(run_mode, None, None, None, "http://127.0.0.1:1") == 2
    assert (await proxy.json("/items/9"))["side"] == "candidate"


async def test_a_reload_swaps_the_config_and_applies_its_mode_changes_an_invalid_one_is_kept_out(
    tmp_path: Path, upstreams: tuple[str, str], start_proxy: StartProxy
) -> None:
    file = tmp_path / "proxy.toml"
    write_config(file, *upstreams)
    proxy = await start_proxy(load_config(file), loader=lambda: load_config(file))

    write_config(file, *upstreams, mode="candidate", extra="[shadow]\nsample_rate = 0.5\n")
    reloaded = await proxy.admin.post("/reload")
    assert (reloaded.status, (await reloaded.json())["ok"]) == (200, True)
    assert (await proxy.json("/items/1"))["side"] == "candidate"
    assert proxy.cutover.live.plan.config.shadow.sample_rate == 0.5
    [entry] = (await (await proxy.admin.get("/audit?route=items")).json())["audit"]
    assert (entry["from_mode"], entry["to_mode"], entry["actor"]) == ("shadow", "candidate", "reload")

    file.write_text(file.read_text() + '\n[[routes]]\nname = "bad"\npath = "x"\nmode = "sideways"\n')
    refused = await proxy.admin.post("/reload")
    errors = (await refused.json())["errors"]
    assert refused.status == 400
    assert any(e.startswith("routes[2].path:") for e in errors)
    assert any(e.startswith("routes[2].mode: expected one of") for e in errors)
    assert [r.name for r in proxy.cutover.live.plan.config.routes] == ["items", "orders"]
    assert (await proxy.json("/items/2"))["side"] == "candidate"


async def test_no_request_fails_while_modes_switch_and_the_config_reloads_under_load(
    tmp_path: Path, upstreams: tuple[str, str], start_proxy: StartProxy
) -> None:
    file = tmp_path / "proxy.toml"
    write_config(file, *upstreams)
    proxy = await start_proxy(load_config(file), loader=lambda: load_config(file))
    outcomes: list[tuple[int, str]] = []
    churned = asyncio.Event()
    numbers = itertools.count()

    async def client() -> None:
        """Keeps requests in flight until the churn is over and at least 300 were answered."""
        while not churned.is_set() or len(outcomes) < 300:
            n = next(numbers)
            if n % 3 == 0:
                response = await proxy.client.post("/orders", data=b'{"n": %d}' % n)
            else:
                response = await proxy.client.get(f"/items/{n}?page={n}")
            body: dict[str, Any] = await response.json()
            outcomes.append((response.status, body["side"]))

    async def churn() -> None:
        modes = itertools.cycle(["candidate_primary", "candidate", "legacy", "shadow"])
        for cycle in range(8):
            await proxy.switch("items", next(modes), "load test")
            write_config(file, *upstreams, mode=next(modes) if cycle % 2 else "shadow")
            assert (await proxy.admin.post("/reload")).status == 200
            await asyncio.sleep(0.005)  # let requests start under this mode and config
        churned.set()

    await asyncio.gather(churn(), *(client() for _ in range(25)))
    await proxy.idle()

    assert len(outcomes) >= 300
    assert {status for status, _ in outcomes} == {200}
    assert {side for _, side in outcomes} == {"legacy", "candidate"}
    assert len((await (await proxy.admin.get("/audit")).json())["audit"]) >= 8


async def test_beyond_loopback_switching_needs_the_admin_token(
    aiohttp_client: Any, upstreams: tuple[str, str], tmp_path: Path
) -> None:
    file = tmp_path / "proxy.toml"
    write_config(file, *upstreams)
    config = load_config(file)
    exposed = replace(config, server=replace(config.server, admin_listen=HostPort("0.0.0.0", 9901)))
    with pytest.raises(AdminTokenRequired):
        build_admin_app(build_app(exposed, recorder_factory=MemoryRecorder().factory))
    app = build_app(exposed, recorder_factory=MemoryRecorder().factory)
    admin = await aiohttp_client(build_admin_app(app, token="s3cret"))
    await aiohttp_client(app)  # start the proxy app the admin reads from
    switch = {"mode": "candidate", "reason": "x"}
    assert (await admin.post("/routes/items/mode", json=switch)).status == 401
    allowed = await admin.post("/routes/items/mode", json=switch, headers={"Authorization": "Bearer s3cret"})
    assert allowed.status == 200 and (await allowed.json())["changed"] is True
