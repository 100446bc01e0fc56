"""Client path edges: legacy failing mid-body, and requests an open proxy would accept but we refuse."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest
from proxy_support import (
    AiohttpServer,
    RawServer,
    Seen,
    StartProxy,
    echo_app,
    make_config,
    raw_exchange,
    url_of,
)

HEAD_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst;\r\n"
HEAD_LONG = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nfirst;"


def _dies_after(head: bytes):  # type: ignore[no-untyped-def]
    async def legacy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()

    return legacy


@pytest.mark.parametrize("head", [HEAD_CHUNKED, HEAD_LONG], ids=["chunked", "content-length"])
async def test_legacy_dying_mid_body_truncates_the_client(
    raw_server: RawServer, start_proxy: StartProxy, head: bytes
) -> None:
    proxy = await start_proxy(make_config(await raw_server(_dies_after(head))))
    resp = await proxy.client.get("/dies")
    assert resp.status == 200
    assert await resp.content.readany() == b"first;"
    with pytest.raises(aiohttp.ClientPayloadError):
        await asyncio.wait_for(resp.content.read(), 10)


async def test_legacy_dying_inside_a_small_body_is_502(
    raw_server: RawServer, start_proxy: StartProxy
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst;"
    proxy = await start_proxy(make_config(await raw_server(_dies_after(head))))
    resp = await proxy.client.get("/dies")
    assert resp.status == 502
    assert (await resp.json())["error"] == "legacy_reset"


async def test_connect_is_refused(start_proxy: StartProxy, aiohttp_server: AiohttpServer) -> None:
    seen = Seen()
    proxy = await start_proxy(make_config(url_of(await aiohttp_server(echo_app(seen)))))
    answer = await raw_exchange(
        proxy.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 405 ")
    assert orjson.loads(answer.partition(b"\r\n\r\n")[2])["error"] == "connect_refused"
    assert seen.requests == []


@pytest.mark.parametrize(
    "target",
    ["http://example.com/x", "http://127.0.0.1:1/x", "*", "https://example.com:443/"],
)
async def test_foreign_targets_are_refused(
    start_proxy: StartProxy, aiohttp_server: AiohttpServer, target: str
) -> None:
    seen = Seen()
    proxy = await start_proxy(make_config(url_of(await aiohttp_server(echo_app(seen)))))
    method = "OPTIONS" if target == "*" else "GET"
    answer = await raw_exchange(
        proxy.port, f"{method} {target} HTTP/1.1\r\nHost: example.com\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert orjson.loads(answer.partition(b"\r\n\r\n")[2])["error"] == "foreign_target_refused"
    assert seen.requests == []


async def test_absolute_form_naming_this_proxy_is_served(
    start_proxy: StartProxy, aiohttp_server: AiohttpServer
) -> None:
    seen = Seen()
    proxy = await start_proxy(make_config(url_of(await aiohttp_server(echo_app(seen)))))
    target = f"http://127.0.0.1:{proxy.port}/own?a=1&a=2"
    answer = await raw_exchange(proxy.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert [r["target"] for r in seen.requests] == ["/own?a=1&a=2"]


async def test_declared_body_over_the_limit_is_413(
    start_proxy: StartProxy, aiohttp_server: AiohttpServer
) -> None:
    seen = Seen()
    config = make_config(url_of(await aiohttp_server(echo_app(seen))), server={"max_request_body": 10})
    proxy = await start_proxy(config)
    resp = await proxy.client.post("/upload", data=b"x" * 11)
    assert resp.status == 413
    assert seen.requests == []
