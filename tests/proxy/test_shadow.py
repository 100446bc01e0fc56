"""The shadow path: mirrored concurrently, bounded, isolated from the client, and every outcome counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from proxy_support import (
    AiohttpServer,
    Gate,
    RawServer,
    Seen,
    StartProxy,
    closed_port_url,
    echo_app,
    fixed_app,
    make_config,
    url_of,
)

from comparators.model import TransportError, Verdict
from comparators.spec import CompareSpec
from config.model import RouteRule
from proxy.app import DISPATCHER
from proxy.records import Counter

LEGACY_BODY = b'{"id": 1, "name": "legacy"}'
LEGACY_HEADERS = {"X-Legacy": "yes", "Cache-Control": "max-age=60"}


async def test_candidate_gets_the_same_request_plus_the_marker(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy_seen, candidate_seen = Seen(), Seen()
    legacy = await aiohttp_server(echo_app(legacy_seen, "legacy"))
    candidate = await aiohttp_server(echo_app(candidate_seen, "candidate"))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate)))
    headers = [("X-Multi", "1"), ("X-Multi", "2"), ("Accept", "application/json")]
    await proxy.client.get("/items?a=1&a=2&b=%20", headers=headers)
    await proxy.idle()

    (sent_legacy,), (sent_candidate,) = legacy_seen.requests, candidate_seen.requests
    assert sent_candidate["target"] == sent_legacy["target"] == "/items?a=1&a=2&b=%20"
    assert sent_candidate["method"] == "GET"
    legacy_headers = [(k, v) for k, v in sent_legacy["headers"] if k != "Host"]
    candidate_headers = [(k, v) for k, v in sent_candidate["headers"] if k != "Host"]
    assert candidate_headers == [*legacy_headers, ("X-Shadow-Request", "1")]
    assert dict(sent_candidate["headers"])["Host"] == f"127.0.0.1:{candidate.port}"
    assert proxy.recorder.get("GET /items", Counter.COMPARED) == 1


async def test_candidate_starts_before_legacy_answers(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    gate = Gate()
    gate.release.set()

    async def waits_for_candidate(request: web.Request) -> web.Response:
        await asyncio.wait_for(gate.entered.wait(), 10)  # deadlocks unless the mirror is already in flight
        return web.Response(body=LEGACY_BODY)

    app = web.Application()
    app.router.add_get("/{tail:.*}", waits_for_candidate)
    legacy = await aiohttp_server(app)
    candidate = await aiohttp_server(fixed_app(LEGACY_BODY, gate))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate)))
    resp = await proxy.client.get("/concurrent")
    assert (resp.status, await resp.read()) == (200, LEGACY_BODY)


async def _gated_raw(gate: Gate, misbehave: bytes, raw_server: RawServer) -> str:
    async def candidate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        gate.entered.set()
        await gate.release.wait()
        writer.write(misbehave)
        await writer.drain()
        writer.transport.abort()

    return await raw_server(candidate)


RESET_MID_BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"
GARBAGE = b"SSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n"


async def _candidate(fault: str, gate: Gate, aiohttp_server: AiohttpServer, raw_server: RawServer) -> str:
    if fault == "refused":
        gate.entered.set()
        return closed_port_url()
    if fault in ("hanging", "slow"):
        return url_of(await aiohttp_server(fixed_app(LEGACY_BODY, gate, LEGACY_HEADERS)))
    return await _gated_raw(gate, RESET_MID_BODY if fault == "reset" else GARBAGE, raw_server)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("refused", TransportError.CONNECT),
        ("hanging", TransportError.TIMEOUT),
        ("slow", None),
        ("reset", TransportError.RESET),
        ("garbage", TransportError.INVALID),
    ],
)
async def test_client_gets_legacys_answer_while_a_faulty_candidate_is_pending(
    aiohttp_server: AiohttpServer,
    raw_server: RawServer,
    start_proxy: StartProxy,
    fault: str,
    error: TransportError | None,
) -> None:
    gate = Gate()
    legacy = await aiohttp_server(fixed_app(LEGACY_BODY, headers=LEGACY_HEADERS))
    candidate = await _candidate(fault, gate, aiohttp_server, raw_server)
    timeout = 0.3 if fault == "hanging" else 30.0
    proxy = await start_proxy(make_config(url_of(legacy), candidate, shadow={"timeout": timeout}))

    # The candidate cannot answer before the client holds legacy's full response: only the test releases it.
    resp = await asyncio.wait_for(proxy.client.get("/fault"), 10)
    assert (resp.status, await resp.read()) == (200, LEGACY_BODY)
    assert resp.headers["X-Legacy"] == "yes"
    await asyncio.wait_for(gate.entered.wait(), 10)
    assert gate.answered == 0
    if fault != "refused":  # a refused connection fails at once; the others are still pending here
        assert proxy.app[DISPATCHER].in_flight == 1

    if fault != "hanging":
        gate.release.set()
    await proxy.idle()
    gate.release.set()
    (exchange,) = proxy.recorder.exchanges
    assert exchange.candidate.error is error
    if error is None:
        assert exchange.comparison.verdict is Verdict.MATCHED
    else:
        assert proxy.recorder.get("GET /fault", Counter.CANDIDATE_ERRORS) == 1


async def test_saturation_drops_exactly_the_mirrors_over_max_in_flight(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    gate = Gate()
    legacy = await aiohttp_server(fixed_app(LEGACY_BODY))
    candidate = await aiohttp_server(fixed_app(LEGACY_BODY, gate))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate), shadow={"max_in_flight": 3}))

    responses = await asyncio.gather(*(proxy.client.get(f"/load/{i}") for i in range(10)))
    assert [(r.status, await r.read()) for r in responses] == [(200, LEGACY_BODY)] * 10
    assert proxy.recorder.total(Counter.DROPPED) == 7
    assert proxy.app[DISPATCHER].dropped == 7

    gate.release.set()
    await proxy.idle()
    assert proxy.recorder.total(Counter.COMPARED) == proxy.recorder.total(Counter.MATCHED) == 3
    assert len(gate.hits) == 3


async def test_writes_are_not_mirrored_by_default(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy_seen, candidate_seen = Seen(), Seen()
    legacy = await aiohttp_server(echo_app(legacy_seen))
    candidate = await aiohttp_server(echo_app(candidate_seen))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate)))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        resp = await proxy.client.request(method, "/orders", data=b'{"qty": 1}')
        assert resp.status == 200
    await proxy.idle()
    assert len(legacy_seen.requests) == 4
    assert candidate_seen.requests == []
    assert proxy.recorder.total(Counter.NOT_MIRRORED) == 4


async def test_a_route_with_mirror_writes_mirrors_them(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    candidate_seen = Seen()
    legacy = await aiohttp_server(fixed_app(LEGACY_BODY))
    candidate = await aiohttp_server(echo_app(candidate_seen))
    route = RouteRule(name="orders", methods=frozenset({"POST"}), path="/orders/{id}", mirror_writes=True)
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate), routes=(route,)))
    await proxy.client.post("/orders/7", data=b'{"qty": 2}')
    await proxy.idle()
    (mirrored,) = candidate_seen.requests
    assert (mirrored["method"], mirrored["body_size"]) == ("POST", len(b'{"qty": 2}'))
    (exchange,) = proxy.recorder.exchanges
    assert (exchange.route, exchange.request.body) == ("orders", b'{"qty": 2}')


async def test_routes_are_attributed_by_rule_then_template(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy = await aiohttp_server(fixed_app(LEGACY_BODY))
    candidate = await aiohttp_server(fixed_app(LEGACY_BODY))
    route = RouteRule(name="search", methods=frozenset({"GET"}), path="/search")
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate), routes=(route,)))
    await proxy.client.get("/search?q=x")
    await proxy.client.get("/v0/mission/65a1f0c2e4b0a1b2c3d4e5f6")
    await proxy.idle()
    assert [e.route for e in proxy.recorder.exchanges] == ["search", "GET /v0/mission/{id}"]


async def test_a_legacy_body_over_max_compare_bytes_is_counted_not_compared(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    big = b'"' + b"x" * 998 + b'"'
    legacy = await aiohttp_server(fixed_app(big))
    candidate = await aiohttp_server(fixed_app(big))
    proxy = await start_proxy(
        make_config(url_of(legacy), url_of(candidate), shadow={"max_compare_bytes": 100})
    )
    resp = await proxy.client.get("/big")
    assert await resp.read() == big
    await proxy.idle()
    assert proxy.recorder.exchanges == []
    assert proxy.recorder.get("GET /big", Counter.TOO_LARGE) == 1


async def test_a_request_body_over_max_compare_bytes_goes_to_legacy_only(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy_seen, candidate_seen = Seen(), Seen()
    legacy = await aiohttp_server(echo_app(legacy_seen))
    candidate = await aiohttp_server(echo_app(candidate_seen))
    writes = RouteRule(name="upload", methods=frozenset({"POST"}), path="/upload", mirror_writes=True)
    config = make_config(
        url_of(legacy), url_of(candidate), routes=(writes,), shadow={"max_compare_bytes": 100}
    )
    proxy = await start_proxy(config)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: found too large while reading
        for _ in range(10):
            yield b"z" * 100

    await proxy.client.post("/upload", data=b"y" * 1000)
    await proxy.client.post("/upload", data=chunked())
    await proxy.idle()
    assert [r["body_size"] for r in legacy_seen.requests] == [1000, 1000]
    assert candidate_seen.requests == []
    assert proxy.recorder.get("upload", Counter.TOO_LARGE) == 2


async def test_sampled_out_requests_are_not_mirrored(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    gate = Gate()
    legacy = await aiohttp_server(fixed_app(LEGACY_BODY))
    candidate = await aiohttp_server(fixed_app(LEGACY_BODY, gate))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate), shadow={"sample_rate": 0.0}))
    await proxy.client.get("/sampled")
    await proxy.idle()
    assert gate.hits == []
    assert proxy.recorder.get("GET /sampled", Counter.NOT_MIRRORED) == 1


async def test_divergences_are_recorded_with_their_differences(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy = await aiohttp_server(fixed_app(b'{"a": 1, "b": [1, 2]}'))
    candidate = await aiohttp_server(fixed_app(b'{"a": 2, "b": [1, 2]}'))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate)))
    await proxy.client.get("/diverges")
    await proxy.idle()
    (exchange,) = proxy.recorder.exchanges
    assert exchange.comparison.verdict is Verdict.DIVERGED
    assert [d.path for d in exchange.comparison.differences] == ["$.a"]
    assert (exchange.legacy.status, exchange.legacy.body) == (200, b'{"a": 1, "b": [1, 2]}')
    assert proxy.recorder.get("GET /diverges", Counter.DIVERGED) == 1


async def test_a_secondary_is_compared_with_legacy_as_noise(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy = await aiohttp_server(fixed_app(b'{"n": 1}'))
    candidate = await aiohttp_server(fixed_app(b'{"n": 1}'))
    secondary = await aiohttp_server(fixed_app(b'{"n": 2}'))
    config = make_config(url_of(legacy), url_of(candidate), secondary=url_of(secondary))
    proxy = await start_proxy(config)
    await proxy.client.get("/noise")
    await proxy.idle()
    (exchange,) = proxy.recorder.exchanges
    assert exchange.comparison.verdict is Verdict.MATCHED
    assert exchange.secondary is not None and exchange.secondary.body == b'{"n": 2}'
    assert exchange.noise is not None and exchange.noise.verdict is Verdict.DIVERGED


async def test_resample_legacy_asks_legacy_twice_for_safe_requests_only(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    """Without a secondary, `resample_legacy` re-sends safe requests to legacy (marked) to learn its noise."""
    seen = Seen()
    legacy = await aiohttp_server(echo_app(seen))
    candidate = await aiohttp_server(fixed_app(b"{}"))
    route = RouteRule(name="orders", methods=frozenset({"POST"}), path="/orders", mirror_writes=True)
    config = make_config(url_of(legacy), url_of(candidate), routes=(route,), shadow={"resample_legacy": 1.0})
    proxy = await start_proxy(config)
    await proxy.client.get("/items/1")
    await proxy.client.post("/orders", data=b"{}")
    await proxy.idle()
    marked = [r["method"] for r in seen.requests if ["X-Shadow-Request", "1"] in r["headers"]]
    assert sorted(r["method"] for r in seen.requests) == ["GET", "GET", "POST"]
    assert marked == ["GET"]  # the re-sent read; a write is never sent to legacy twice
    by_method = {e.request.method: e for e in proxy.recorder.exchanges}
    get, post = by_method["GET"], by_method["POST"]
    # The re-sent read is compared with legacy's first answer (the noise comparison); the write is not.
    assert get.secondary is not None and get.noise is not None
    assert post.secondary is None and post.noise is None


async def test_large_bodies_are_compared_in_a_worker_process(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy = await aiohttp_server(fixed_app(b'{"items": [' + b"1, " * 300 + b"1]}"))
    candidate = await aiohttp_server(fixed_app(b'{"items": [' + b"1, " * 300 + b"2]}"))
    config = make_config(url_of(legacy), url_of(candidate), shadow={"worker_threshold_bytes": 64})
    proxy = await start_proxy(config)
    await proxy.client.get("/big")
    await proxy.idle()
    (exchange,) = proxy.recorder.exchanges
    assert exchange.comparison.verdict is Verdict.DIVERGED
    assert [d.path for d in exchange.comparison.differences] == ["$.items[*]"]


class Exploding:
    """A normalizer with a bug: shadow work must absorb it."""

    name = "exploding"
    reason = "test"

    def __call__(self, pair: Any) -> Any:
        raise RuntimeError("normalizer bug")


async def test_a_failure_inside_shadow_work_is_counted_never_raised(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy = await aiohttp_server(fixed_app(b'{"a": 1}'))
    candidate = await aiohttp_server(fixed_app(b'{"a": 2}'))
    spec = CompareSpec(normalizers=(Exploding(),))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate), default_compare=spec))
    resp = await proxy.client.get("/bug")
    assert (resp.status, await resp.read()) == (200, b'{"a": 1}')
    await proxy.idle()
    assert proxy.recorder.get("GET /bug", Counter.SHADOW_FAILURES) == 1
    assert proxy.recorder.exchanges == []


async def test_a_legacy_failure_is_counted_as_a_legacy_error(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    candidate = await aiohttp_server(fixed_app(LEGACY_BODY))
    proxy = await start_proxy(make_config(closed_port_url(), url_of(candidate)))
    resp = await proxy.client.get("/down")
    assert resp.status == 502
    await proxy.idle()
    assert proxy.recorder.get("GET /down", Counter.LEGACY_ERRORS) == 1


async def test_shutdown_cancels_shadow_work_past_its_deadline_then_closes_the_recorder(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    gate = Gate()
    legacy = await aiohttp_server(fixed_app(LEGACY_BODY))
    candidate = await aiohttp_server(fixed_app(LEGACY_BODY, gate))
    config = make_config(url_of(legacy), url_of(candidate), shadow={"timeout": 60.0, "drain_timeout": 0.2})
    proxy = await start_proxy(config)
    await proxy.client.get("/straggler")
    await asyncio.wait_for(gate.entered.wait(), 10)
    try:
        await proxy.client.close()
    finally:
        gate.release.set()
    assert proxy.app[DISPATCHER].cancelled == 1
    assert proxy.recorder.get("GET /straggler", Counter.DROPPED) == 1
    assert proxy.recorder.closed


async def test_a_client_leaving_mid_body_leaves_nothing_to_compare(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    client_left = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first;")
        await client_left.wait()
        for _ in range(100):  # keeps writing until the proxy notices its client is gone
            await response.write(b"more;")
            await asyncio.sleep(0.01)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/leave", slow)
    legacy = await aiohttp_server(app)
    candidate = await aiohttp_server(fixed_app(b"first;"))
    proxy = await start_proxy(make_config(url_of(legacy), url_of(candidate)))
    resp = await proxy.client.get("/leave")
    assert await resp.content.readany() == b"first;"
    resp.close()
    client_left.set()
    await asyncio.wait_for(proxy.idle(), 10)
    assert proxy.recorder.exchanges == []
    assert proxy.recorder.get("GET /leave", Counter.DROPPED) == 1
