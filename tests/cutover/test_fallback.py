"""candidate_primary with `fallback = "legacy"`: a failing candidate is answered with legacy's response."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from cutover_support import AiohttpServer, Side, StartProxy, config_of, primary, rule, side_app, url_of

from comparators.model import TransportError, Verdict
from config.model import Mode
from proxy.records import Counter


@pytest.fixture
async def hanging_url() -> AsyncIterator[str]:
    """An upstream that accepts and reads a request, then never answers (until the test ends)."""
    done = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await done.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        done.set()
        server.close()
        await server.wait_closed()


async def test_a_candidate_5xx_is_answered_with_legacys_response_and_still_compared(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy, candidate = Side("legacy"), Side("candidate", status=503)
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(side_app(candidate))),
        primary("items", "/items"),
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/items")
    assert (response.status, await response.json()) == (200, {"side": "legacy", "target": "/items"})
    await proxy.idle()
    [exchange] = proxy.recorder.exchanges
    assert (exchange.legacy.status, exchange.candidate.status) == (200, 503)
    assert exchange.comparison.verdict is Verdict.DIVERGED
    assert proxy.cutover.tally.snapshot()["items"] == {"served": 1, "candidate_failures": 1, "fallbacks": 1}


async def test_a_refused_candidate_is_answered_with_legacys_response(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy = Side("legacy")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))), "http://127.0.0.1:1", primary("items", "/items")
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/items")
    assert (await response.json())["side"] == "legacy"
    await proxy.idle()
    [exchange] = proxy.recorder.exchanges
    assert exchange.candidate.error is TransportError.CONNECT
    assert proxy.recorder.get("items", Counter.CANDIDATE_ERRORS) == 1
    assert proxy.cutover.tally.snapshot()["items"]["fallbacks"] == 1


async def test_a_candidate_timeout_is_answered_with_legacys_response(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, hanging_url: str
) -> None:
    legacy = Side("legacy")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        hanging_url,
        primary("items", "/items"),
        server={"legacy_timeout": 0.3},  # the serving side's read timeout, whichever side serves
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/items")
    assert (response.status, (await response.json())["side"]) == (200, "legacy")
    await proxy.idle()
    assert proxy.recorder.exchanges[0].candidate.error is TransportError.TIMEOUT


FAILURES = [(True, 502, "candidate_connect"), (False, 500, None)]


@pytest.mark.parametrize(("refused", "status", "answer"), FAILURES)
async def test_without_fallback_the_client_sees_the_candidates_failure(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, refused: bool, status: int, answer: str | None
) -> None:
    legacy, candidate = Side("legacy"), Side("candidate", status=500)
    candidate_url = "http://127.0.0.1:1" if refused else url_of(await aiohttp_server(side_app(candidate)))
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        candidate_url,
        rule("items", "/items", Mode.CANDIDATE_PRIMARY),
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/items")
    body = await response.json()
    assert (response.status, body.get("error", body.get("side"))) == (status, answer or "candidate")
    await proxy.idle()
    assert legacy.seen and proxy.cutover.tally.snapshot()["items"] == {"served": 1, "candidate_failures": 1}


async def test_a_5xx_stays_the_answer_when_legacy_failed_too(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy, candidate = Side("legacy", status=200), Side("candidate", status=500)
    config = config_of(
        "http://127.0.0.1:1", url_of(await aiohttp_server(side_app(candidate))), primary("items", "/items")
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/items")
    assert (response.status, (await response.json())["side"]) == (500, "candidate")
    await proxy.idle()
    assert proxy.cutover.tally.snapshot()["items"] == {"served": 1, "candidate_failures": 1}
    assert not legacy.seen


async def test_a_healthy_candidate_is_streamed_without_waiting_for_legacy(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    release = asyncio.Event()
    legacy, candidate = Side("legacy", gate=release), Side("candidate")
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(side_app(candidate))),
        primary("items", "/items"),
    )
    proxy = await start_proxy(config)
    response = await proxy.client.get("/items")
    assert (await response.json())["side"] == "candidate"
    assert legacy.seen and not release.is_set()  # legacy was called, and has not answered yet
    release.set()
    await proxy.idle()
    assert proxy.recorder.get("items", Counter.COMPARED) == 1
    assert proxy.cutover.tally.snapshot()["items"] == {"served": 1}


async def test_a_write_not_mirrored_has_no_fallback(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy, candidate = Side("legacy"), Side("candidate", status=500)
    config = config_of(
        url_of(await aiohttp_server(side_app(legacy))),
        url_of(await aiohttp_server(side_app(candidate))),
        primary("orders", "/orders", methods=("POST",)),
    )
    proxy = await start_proxy(config)
    response = await proxy.client.post("/orders", data=b"{}")
    assert (response.status, legacy.seen) == (500, [])
