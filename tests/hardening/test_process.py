"""`shadow-proxy serve` as a real process under load: SIGTERM drains, SIGKILL leaves a sound store, and
a storm of reloads (SIGHUP and POST /reload, valid and invalid files) fails no request."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from hardening_support import Received, serve_process, write_config

from proxy.store import open_store

CLIENTS = 16


def answering(received: Received, side: str, delay: float = 0.0) -> web.Application:
    """Echoes the request id; legacy takes `delay` seconds, so requests are in flight when a signal lands."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        rid = request.headers.get("X-Request-Id", "")
        received.requests.append({"method": request.method, "target": request.raw_path, "rid": rid})
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"rid": rid, "side": side, "n": len(rid)})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


async def upstreams(aiohttp_server: Any, delay: float = 0.0) -> tuple[str, str, Received]:
    received = Received()
    legacy: TestServer = await aiohttp_server(answering(received, "legacy", delay))
    candidate: TestServer = await aiohttp_server(answering(Received(), "candidate"))
    return str(legacy.make_url("")), str(candidate.make_url("")), received


class Load:
    """Clients sending requests until told to stop; every outcome kept by request id."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answered: dict[str, tuple[int, dict[str, Any]]] = {}
        self.failed: dict[str, str] = {}
        self.stop = asyncio.Event()
        self._ids = itertools.count()

    async def run(self, clients: int = CLIENTS, until: Callable[[], bool] = lambda: False) -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self._client(session, until) for _ in range(clients)))

    async def _client(self, session: aiohttp.ClientSession, until: Callable[[], bool]) -> None:
        while not self.stop.is_set() and not until():
            n = next(self._ids)
            rid = f"r{n}"
            try:
                async with session.get(f"{self.url}/items/{n}?page=1", headers={"X-Request-Id": rid}) as r:
                    self.answered[rid] = (r.status, await r.json(content_type=None))
            except (aiohttp.ClientError, ConnectionError) as exc:
                self.failed[rid] = type(exc).__name__
                await asyncio.sleep(0.01)


async def until_answered(load: Load, count: int) -> None:
    while len(load.answered) < count:  # noqa: ASYNC110 - the load runs in other tasks
        await asyncio.sleep(0.01)


async def route_totals(url: str) -> dict[str, Any]:
    store = open_store(url, create=False)
    try:
        return {t.route: t for t in await store.route_totals()}
    finally:
        await store.close()


async def test_sigterm_under_load_answers_everything_legacy_received_then_exits_0(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    legacy, candidate, received = await upstreams(aiohttp_server, delay=0.02)
    store = f"sqlite:///{tmp_path / 'shadow.db'}"
    async with serve_process(write_config(tmp_path / "proxy.toml", legacy, candidate, store)) as proxy:
        load = Load(proxy.proxy)
        running = asyncio.create_task(load.run())
        await asyncio.wait_for(until_answered(load, 150), 30)
        assert await proxy.stop(signal.SIGTERM) == 0
        load.stop.set()
        await asyncio.wait_for(running, 30)
    reached_legacy = {r["rid"] for r in received.requests}
    assert reached_legacy <= set(load.answered)  # every request legacy got was answered whole
    assert {status for status, _ in load.answered.values()} == {200}
    assert all(body["rid"] == rid for rid, (_, body) in load.answered.items())
    assert not reached_legacy & set(load.failed)  # what failed was refused before it was forwarded
    totals = (await route_totals(store))["GET /items/{id}"]
    assert totals.count("compared") + totals.count("dropped") == len(load.answered)
    await proxy.event("stopped")


async def test_sigkill_under_writes_leaves_a_sound_store_that_restarts(
    aiohttp_server: Any, tmp_path: Path, store_url: str
) -> None:
    legacy, candidate, _ = await upstreams(aiohttp_server)  # they differ: every exchange is written
    store = store_url
    config = write_config(tmp_path / "proxy.toml", legacy, candidate, store)
    compared_before = 0
    for round_ in range(2):  # the second round restarts on the store the first one was killed writing
        async with serve_process(config) as proxy:
            load = Load(proxy.proxy)
            running = asyncio.create_task(load.run(clients=8))
            await asyncio.wait_for(until_answered(load, 200), 30)
            await asyncio.sleep(0.2)  # flushes every 0.05 s: the kill lands among writes
            assert await proxy.stop(signal.SIGKILL) == -signal.SIGKILL
            load.stop.set()
            await asyncio.wait_for(running, 30)
        if store.startswith("sqlite:///"):
            with sqlite3.connect(store.removeprefix("sqlite:///")) as db:
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"round {round_}"
        totals = (await route_totals(store))["GET /items/{id}"]
        assert totals.count("compared") == totals.count("matched") + totals.count("diverged")
        assert totals.count("compared") > compared_before  # each round's flushed counters are all there
        assert await examples_stored(store) <= 5  # the one signature's K per hour, whatever was killed
        compared_before = totals.count("compared")


async def examples_stored(url: str) -> int:
    store = open_store(url, create=False)
    try:
        return sum(s.examples for s in await store.signature_totals(per_route=100))
    finally:
        await store.close()


def replace_atomically(file: Path, text: str) -> None:
    """As a deployment tool should: a reload never reads a half-written file."""
    partial = file.with_suffix(".tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, file)


async def test_a_reload_storm_under_load_fails_no_request(aiohttp_server: Any, tmp_path: Path) -> None:
    legacy, candidate, _ = await upstreams(aiohttp_server)
    store = f"sqlite:///{tmp_path / 'shadow.db'}"
    file = tmp_path / "proxy.toml"
    valid = [
        write_config(
            file, legacy, candidate, store, "log_bodies = false\n[shadow]\nsample_rate = 0.5\n"
        ).read_text(),
        write_config(
            file, legacy, candidate, store, '[[routes]]\nname = "items"\npath = "/items/{id}"\n'
        ).read_text(),
    ]
    invalid = valid[1].replace('path = "/items/{id}"', 'path = "items"\nsurprise = 1')
    file.write_text(valid[0], encoding="utf-8")
    async with serve_process(file) as proxy, aiohttp.ClientSession() as admin:
        load = Load(proxy.proxy)
        running = asyncio.create_task(load.run())
        for n in range(40):
            replace_atomically(file, [*valid, invalid][n % 3])
            if n % 2:
                async with admin.post(f"{proxy.admin}/reload") as response:
                    assert response.status == (400 if n % 3 == 2 else 200)
            else:
                assert proxy.process is not None
                proxy.process.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.02)
        await until_answered(load, len(load.answered) + 50)
        load.stop.set()
        await asyncio.wait_for(running, 30)
        assert await proxy.stop() == 0
    assert load.failed == {}
    assert {status for status, _ in load.answered.values()} == {200}
    assert len(load.answered) >= 50
    rejected = [line for line in proxy.lines if line.get("event") == "reload_rejected"]
    assert rejected and all("routes[0].surprise: unknown key" in " ".join(r["errors"]) for r in rejected)
