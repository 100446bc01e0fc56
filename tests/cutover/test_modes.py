"""The mode matrix: in each mode, who serves the client, who is called and compared, and what is recorded."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from cutover_support import MARKER, AiohttpServer, Side, StartProxy, config_of, rule, side_app, url_of

from config.model import Mode
from proxy.records import Counter

# mode: (serving side, legacy called, candidate called, side carrying the shadow marker, compared)
MATRIX = [
    (Mode.LEGACY, "legacy", True, False, None, False),
    (Mode.SHADOW, "legacy", True, True, "candidate", True),
    (Mode.CANDIDATE_PRIMARY, "candidate", True, True, "legacy", True),
    (Mode.CANDIDATE, "candidate", False, True, None, False),
]


@pytest.mark.parametrize(
    ("mode", "serves", "legacy_called", "candidate_called", "marked", "compared"), MATRIX
)
async def test_who_serves_who_is_compared_and_what_is_recorded(
    aiohttp_server: AiohttpServer,
    start_proxy: StartProxy,
    mode: Mode,
    serves: str,
    legacy_called: bool,
    candidate_called: bool,
    marked: str | None,
    compared: bool,
) -> None:
    legacy, candidate = Side("legacy"), Side("candidate")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(side_app(candidate))),
        rule("items", "/items/{id}", mode),
    )
    proxy = await start_proxy(config)

    answer = await proxy.json("/items/7?x=1")
    await proxy.idle()

    assert answer == {"side": serves, "target": "/items/7?x=1"}
    assert (bool(legacy.seen), bool(candidate.seen)) == (legacy_called, candidate_called)
    markers = {side.name: side.seen[0]["marker"] for side in (legacy, candidate) if side.seen}
    assert markers == {name: ("1" if name == marked else None) for name in markers}
    recorder = proxy.recorder
    assert recorder.get("items", Counter.COMPARED) == int(compared)
    assert recorder.get("items", Counter.NOT_MIRRORED) == int(not compared)
    if compared:  # legacy vs candidate in every mode, whichever served
        [exchange] = recorder.exchanges
        assert b'"side":"legacy"' in exchange.legacy.body
        assert b'"side":"candidate"' in exchange.candidate.body


# mode, mirror_writes: which sides get a POST, and whose answer the client gets
WRITES = [
    (Mode.LEGACY, True, ["legacy"], "legacy"),
    (Mode.SHADOW, False, ["legacy"], "legacy"),
    (Mode.SHADOW, True, ["legacy", "candidate"], "legacy"),
    (Mode.CANDIDATE_PRIMARY, False, ["candidate"], "candidate"),
    (Mode.CANDIDATE_PRIMARY, True, ["legacy", "candidate"], "candidate"),
    (Mode.CANDIDATE, True, ["candidate"], "candidate"),
]


@pytest.mark.parametrize(("mode", "mirror_writes", "called", "serves"), WRITES)
async def test_a_write_reaches_the_other_side_only_when_the_route_opted_in(
    aiohttp_server: AiohttpServer,
    start_proxy: StartProxy,
    mode: Mode,
    mirror_writes: bool,
    called: list[str],
    serves: str,
) -> None:
    legacy, candidate = Side("legacy"), Side("candidate")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(side_app(candidate))),
        rule("orders", "/orders", mode, methods=("POST",), mirror_writes=mirror_writes),
    )
    proxy = await start_proxy(config)
    response = await proxy.client.post("/orders", data=b'{"n": 1}')
    await proxy.idle()
    assert (await response.json())["side"] == serves
    assert [side.name for side in (legacy, candidate) if side.seen] == called


async def test_a_switch_applies_to_the_next_request_and_keeps_comparing_legacy_vs_candidate(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy, candidate = Side("legacy"), Side("candidate")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(side_app(candidate))),
        rule("items", "/items"),
    )
    proxy = await start_proxy(config)
    served = []
    for mode in ("shadow", "candidate_primary", "candidate", "legacy", "shadow"):
        if mode != "shadow" or served:
            await proxy.switch("items", mode)
        served.append((await proxy.json("/items"))["side"])
        await proxy.idle()
    assert served == ["legacy", "candidate", "candidate", "legacy", "legacy"]
    assert proxy.recorder.get("items", Counter.COMPARED) == 3
    for exchange in proxy.recorder.exchanges:
        assert b"legacy" in exchange.legacy.body and b"candidate" in exchange.candidate.body


async def test_the_candidate_serving_keeps_the_client_path_guarantees(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    seen: list[web.Request] = []

    async def redirect(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        response = web.StreamResponse(status=302, headers={"Location": "/elsewhere", "Connection": "close"})
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b"moved", b" away"):
            await response.write(part)
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/go", redirect)
    legacy = Side("legacy")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(app)),
        rule("go", "/go", Mode.CANDIDATE),
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/go", allow_redirects=False, headers={"X-Forwarded-For": "10.0.0.1"})
    assert (response.status, await response.read()) == (302, b"moved away")
    assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Location"] == "/elsewhere"
    [request] = seen
    assert request.headers["X-Forwarded-For"].startswith("10.0.0.1, 127.0.0.1")
    assert MARKER not in request.headers and legacy.seen == []


@pytest.mark.parametrize("mode", [Mode.CANDIDATE, Mode.CANDIDATE_PRIMARY])
async def test_an_unreachable_serving_candidate_is_a_502_naming_it(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, mode: Mode
) -> None:
    legacy = Side("legacy")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))), "http://127.0.0.1:1", rule("items", "/items", mode)
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/items")
    assert response.status == 502
    assert (await response.json())["error"] == "candidate_connect"
    await proxy.idle()
    assert proxy.cutover.tally.snapshot()["items"] == {"served": 1, "candidate_failures": 1}
