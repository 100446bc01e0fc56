"""The admin server reads the proxy app's state: liveness, readiness (draining, degraded store), counters."""

from __future__ import annotations

from proxy_support import AiohttpClient, AiohttpServer, StartProxy, fixed_app, make_config, url_of

from proxy.admin import build_admin_app
from proxy.app import STATE


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
