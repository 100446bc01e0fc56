"""Noise learned end to end: a random field is learned from a real secondary, a real candidate bug is not."""

from __future__ import annotations

import uuid
from pathlib import Path

from aiohttp import web
from proxy_support import AiohttpClient, AiohttpServer, url_of

from config.model import Config, CutoverSettings, RouteRule, StoreSettings
from proxy.app import DISPATCHER, RECORDER, build_app
from proxy.commands.report import load_report

REQUESTS = 40
BUGGY = {n for n in range(REQUESTS) if n % 5 == 0}  # the candidate's price is wrong on these items


def items(candidate: bool) -> web.Application:
    """Each answer carries a fresh uuid (legacy is random there by nature); the candidate may misprice."""

    async def item(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        price = 11 if candidate and n in BUGGY else 10
        return web.json_response({"id": str(uuid.uuid4()), "n": n, "price": price})

    app = web.Application()
    app.router.add_get("/items/{n}", item)
    return app


async def test_a_random_field_is_noise_and_a_candidate_bug_is_a_divergence(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    legacy, secondary = await aiohttp_server(items(False)), await aiohttp_server(items(False))
    candidate = await aiohttp_server(items(True))
    store_url = f"sqlite:///{tmp_path / 'shadow.db'}"
    config = Config(
        legacy=url_of(legacy),
        candidate=url_of(candidate),
        secondary=url_of(secondary),
        store=StoreSettings(url=store_url, flush_interval=3600),
        routes=(RouteRule(name="items", methods=frozenset({"GET"}), path="/items/{n}"),),
        cutover=CutoverSettings(min_samples=REQUESTS),
    )
    app = build_app(config)
    client = await aiohttp_client(app)
    for n in range(REQUESTS):
        assert (await client.get(f"/items/{n}")).status == 200
    await app[DISPATCHER].wait_idle()
    assert await app[RECORDER].flush()  # the store recorder (behind the metrics wrapper) writes now

    report = await load_report(store_url, config, ())
    (route,) = report.routes
    assert route.count("compared") == REQUESTS
    assert route.count("noise_compared") == REQUESTS
    readiness = route.readiness
    assert readiness is not None
    # Every answer differs on $.id, legacy from itself as much as from the candidate: noise. The price is
    # stable in legacy and wrong in the candidate on 8 items: those 8 are the only unexplained divergences.
    assert (readiness.unexplained, readiness.explained) == (len(BUGGY), REQUESTS - len(BUGGY))
    assert [r.code for r in readiness.reasons] == ["divergence"]
