"""PostgreSQL lost under load (a cut TCP relay: listener closed, connections reset) and back again.

Clients see nothing of it; the example buffer stays at its bound and exactly what exceeds it is counted
dropped; counters are kept and written after recovery, when the buffer is flushed.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from hardening_support import make_config, serving

from config.model import Config, StoreSettings
from proxy.app import RECORDER
from proxy.recorder import StoreRecorder, open_recorder
from proxy.store import open_store
from proxy.testing import TcpRelay

BUFFER = 20
BEFORE, DURING, AFTER = 30, 60, 10


def counting(side: str) -> web.Application:
    """Answers a body naming its side and the request's number: every exchange is its own divergence."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"side": side, "n": request.match_info["n"]})

    app = web.Application()
    app.router.add_get("/orders/{n}", answer)
    return app


def through(relay: TcpRelay, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{relay.port}"))


async def until(check: Any) -> None:
    while not check():  # noqa: ASYNC110 - polls the recorder's own flusher
        await asyncio.sleep(0.02)


async def test_postgres_lost_under_load_changes_nothing_for_clients_and_drops_exactly_the_overflow(
    aiohttp_server: Any, pg_url: str
) -> None:
    legacy: TestServer = await aiohttp_server(counting("legacy"))
    candidate: TestServer = await aiohttp_server(counting("candidate"))
    postgres = urlsplit(pg_url)
    relay = TcpRelay((postgres.hostname or "127.0.0.1", postgres.port or 5432))
    await relay.start()
    store = StoreSettings(
        url=through(relay, pg_url),
        flush_interval=0.05,
        buffer_size=BUFFER,
        batch_size=10,
        examples_per_hour=1000,
    )
    config = make_config(str(legacy.make_url("")), str(candidate.make_url("")), store=store)

    def recorder_of(config: Config) -> Any:
        return open_recorder(config, "hardening")

    try:
        async with serving(config, recorder_factory=recorder_of) as proxy, aiohttp.ClientSession() as session:
            recorder: StoreRecorder = proxy.app[RECORDER].inner

            async def send(first: int, count: int) -> None:
                for n in range(first, first + count):
                    async with session.get(f"{proxy.url}/orders/{n}") as response:
                        assert (response.status, await response.json()) == (
                            200,
                            {"side": "legacy", "n": str(n)},
                        )
                await proxy.idle()

            await send(0, BEFORE)
            await asyncio.wait_for(
                until(lambda: recorder.snapshot()["store"]["examples_written"] == BEFORE), 30
            )

            await relay.cut()
            await send(BEFORE, DURING)  # every client answer as before: the store is not on the client path
            await asyncio.wait_for(until(lambda: recorder.degraded), 30)
            state = recorder.snapshot()["store"]
            assert (state["buffered_examples"], state["records_dropped"]) == (BUFFER, DURING - BUFFER)

            await relay.start()
            await asyncio.wait_for(until(lambda: not recorder.degraded and recorder.buffered == 0), 60)
            await send(BEFORE + DURING, AFTER)
            await asyncio.wait_for(
                until(lambda: recorder.snapshot()["store"]["examples_written"] == BEFORE + BUFFER + AFTER), 30
            )
            assert await recorder.flush()
    finally:
        await relay.cut()

    reader = open_store(pg_url, create=False)
    try:
        [totals] = await reader.route_totals()
        stored = sum(s.examples for s in await reader.signature_totals(per_route=1000))
    finally:
        await reader.close()
    sent = BEFORE + DURING + AFTER
    assert (totals.count("compared"), totals.count("diverged")) == (sent, sent)  # no counter lost
    assert totals.count("records_dropped") == DURING - BUFFER
    assert stored == sent - (DURING - BUFFER)
