"""`shadow-proxy serve` as a real process: SIGTERM finishes in-flight requests, drains, flushes, exits 0."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from proxy_support import AiohttpServer, fixed_app, url_of

from proxy.store import open_store

ROOT = Path(__file__).resolve().parents[2]


async def _serving_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    """Read the process's JSON log until its startup line, which names the bound addresses."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        event = orjson.loads(line)
        if event.get("event") == "serving":
            return dict(event)
    raise AssertionError("the proxy exited before logging its startup line")


async def _start(legacy: str, candidate: str, store: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxy.cli",
        "serve",
        f"--legacy={legacy}",
        f"--candidate={candidate}",
        "--listen=127.0.0.1:0",
        "--admin-listen=127.0.0.1:0",
        f"--store={store}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


async def test_sigterm_finishes_in_flight_requests_and_flushes_the_store(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    pytest.importorskip("proxy.recorder", reason="the store-backed recorder (helper C) has not landed yet")
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response(body=b'{"slow": true}')

    async def fast(request: web.Request) -> web.Response:
        return web.Response(body=b'{"fast": true}')

    legacy_app = web.Application()
    legacy_app.router.add_get("/slow", slow)
    legacy_app.router.add_get("/fast", fast)
    legacy = await aiohttp_server(legacy_app)
    candidate = await aiohttp_server(fixed_app(b'{"fast": true}'))
    store = f"sqlite:///{tmp_path / 'shadow.db'}"
    process = await _start(url_of(legacy), url_of(candidate), store)
    try:
        started = await asyncio.wait_for(_serving_line(process), 30)
        proxy, admin = f"http://{started['proxy']}", f"http://{started['admin']}"
        async with aiohttp.ClientSession() as client:
            for _ in range(3):
                async with client.get(f"{proxy}/fast") as resp:
                    assert resp.status == 200
            in_flight = asyncio.ensure_future(client.get(f"{proxy}/slow"))
            await asyncio.wait_for(entered.wait(), 10)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(_until_draining(client, admin), 10)
            await asyncio.wait_for(_until_refusing(proxy), 10)
            release.set()
            resp = await asyncio.wait_for(in_flight, 10)
            assert (resp.status, await resp.read()) == (200, b'{"slow": true}')
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        release.set()
        if process.returncode is None:
            process.kill()
            await process.wait()

    totals = {t.route: t for t in await _route_totals(store)}
    assert totals["GET /fast"].count("compared") == 3
    assert totals["GET /slow"].count("compared") == 1


async def _until_draining(client: aiohttp.ClientSession, admin: str) -> None:
    while True:
        async with client.get(f"{admin}/readyz") as resp:
            if resp.status == 503:
                return
        await asyncio.sleep(0.01)


async def _until_refusing(proxy: str) -> None:
    """New connections are refused once the listener is closed, while the slow request still runs."""
    while True:
        async with aiohttp.ClientSession() as fresh:
            try:
                async with fresh.get(f"{proxy}/fast"):
                    pass
            except aiohttp.ClientConnectorError:
                return
            except aiohttp.ServerDisconnectedError:
                pass  # accepted just before the listener closed; try again
        await asyncio.sleep(0.01)


async def _route_totals(url: str) -> list[Any]:
    store = open_store(url, create=False)
    try:
        return list(await store.route_totals())
    finally:
        await store.close()
