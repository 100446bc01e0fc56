"""The admin server reads the proxy app's state: liveness, readiness (draining, degraded store), counters."""

from __future__ import annotations

import asyncio
from pathlib import Path

from proxy_support import AiohttpClient, AiohttpServer, StartProxy, fixed_app, make_config, url_of

from config.model import StoreSettings
from proxy.admin import build_admin_app
from proxy.app import STATE, build_app


async def test_health_readiness_and_stats(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, start_proxy: StartProxy
) -> None:
    legacy = await aiohttp_server(fixed_app(b'{"a": 1}'))
    candidate = await aiohttp_server(fixed_app(b'{"a": 2}'))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate)))
    admin = await aiohttp_client(build_admin_app(proxy.app))
    await proxy.client.get("/things/1")
    await proxy.client.post("/things")
    await proxy.idle()

    assert (await admin.get("/healthz")).status == 200
    ready = await admin.get("/readyz")
    assert (ready.status, await ready.json()) == (200, {"status": "ready", "store_degraded": False})
    stats = await (await admin.get("/stats")).json()
    assert stats["routes"] == {
        "GET /things/{id}": {"compared": 1, "diverged": 1},
        "POST /things": {"not_mirrored": 1},
    }
    assert stats["shadow"]["in_flight"] == 0
    assert stats["shadow"]["started"] == 1


async def test_readiness_reports_draining_and_a_degraded_store(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, start_proxy: StartProxy
) -> None:
    proxy = await start_proxy(make_config(url_of(await aiohttp_server(fixed_app(b"{}")))))
    admin = await aiohttp_client(build_admin_app(proxy.app))
    proxy.recorder.degraded = True
    degraded = await admin.get("/readyz")
    assert (degraded.status, (await degraded.json())["store_degraded"]) == (200, True)
    proxy.app[STATE].draining = True
    draining = await admin.get("/readyz")
    assert (draining.status, (await draining.json())["status"]) == (503, "draining")
    assert (await admin.get("/healthz")).status == 200


async def test_the_dashboard_is_served_from_the_recorders_store(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    """The admin app mounts the dashboard on the store the proxy writes to: a divergence shows on `/`."""
    legacy = await aiohttp_server(fixed_app(b'{"a": 1}'))
    candidate = await aiohttp_server(fixed_app(b'{"a": 2}'))
    config = make_config(
        url_of(legacy),
        url_of(candidate),
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'shadow.db'}", flush_interval=0.05),
    )
    proxy_app = build_app(config)
    proxy = await aiohttp_client(proxy_app)
    admin = await aiohttp_client(build_admin_app(proxy_app))
    assert (await proxy.get("/things/7")).status == 200
    page = ""
    for _ in range(100):  # the recorder flushes in the background
        page = await (await admin.get("/")).text()
        if "GET /things/{id}" in page:
            break
        await asyncio.sleep(0.05)
    assert "GET /things/{id}" in page
    assert "NO_DATA" in page or "NOT_READY" in page
