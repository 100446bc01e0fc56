"""The client path is a byte-faithful reverse proxy: targets, headers, bodies and failures pass unchanged."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web
from proxy_support import (
    AiohttpServer,
    Seen,
    StartProxy,
    closed_port_url,
    echo_app,
    make_config,
    raw_exchange,
    read_head,
    url_of,
)


async def _echo_proxy(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, **config: Any
) -> tuple[Any, Seen]:
    seen = Seen()
    legacy = await aiohttp_server(echo_app(seen))
    proxy = await start_proxy(make_config(url_of(legacy), **config))
    return proxy, seen


async def test_target_is_forwarded_byte_for_byte(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    proxy, seen = await _echo_proxy(aiohttp_server, start_proxy)
    targets = [
        "/search?q=a&q=b&q=a&empty=&flag",
        "/caf%C3%A9/%E2%82%AC/%2F?name=J%C3%BCrgen&plus=a+b&space=%20",
        "/a/../b/./c//d?x=%2f%2F",
        "/v0/mission/65a1f0c2e4b0a1b2c3d4e5f6?sort=-date&sort=name",
    ]
    for target in targets:  # sent raw: aiohttp's test client would normalize the dot segments
        answer = await raw_exchange(proxy.port, f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert orjson.loads(answer.partition(b"\r\n\r\n")[2])["target"] == target
    assert [r["target"] for r in seen.requests] == targets
    # A unicode path given unencoded is percent-encoded once by the client and then left alone.
    resp = await proxy.client.get("/café/ü")
    assert (await resp.json())["target"] == "/caf%C3%A9/%C3%BC"


async def test_multi_valued_request_headers_kept_in_order(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    proxy, seen = await _echo_proxy(aiohttp_server, start_proxy)
    headers = [("X-Multi", "one"), ("Accept", "application/json"), ("X-Multi", "two"), ("X-Multi", "three")]
    await proxy.client.get("/h", headers=headers)
    received = seen.requests[0]["headers"]
    assert [v for k, v in received if k.lower() == "x-multi"] == ["one", "two", "three"]


async def test_nothing_is_added_that_the_client_did_not_send(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    proxy, seen = await _echo_proxy(aiohttp_server, start_proxy)
    request = (
        b"POST /bare?x=1 HTTP/1.1\r\nHost: example.test\r\nX-Only: yes\r\nContent-Length: 5\r\n\r\nhello"
    )
    await raw_exchange(proxy.port, request)
    names = [k.lower() for k, _ in seen.requests[0]["headers"]]
    assert names == [
        "host",
        "x-only",
        "content-length",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
    ]
    assert seen.requests[0]["body_sha256"] == hashlib.sha256(b"hello").hexdigest()


async def test_hop_by_hop_request_headers_are_removed(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    proxy, seen = await _echo_proxy(aiohttp_server, start_proxy)
    headers = {
        "Connection": "keep-alive, X-Private-Hop",
        "X-Private-Hop": "secret",
        "Keep-Alive": "timeout=5",
        "Proxy-Connection": "keep-alive",
        "TE": "trailers",
        "Trailer": "X-Checksum",
        "X-End-To-End": "kept",
    }
    await proxy.client.get("/hop", headers=headers)
    names = {k.lower() for k, _ in seen.requests[0]["headers"]}
    assert "x-end-to-end" in names
    dropped = {"x-private-hop", "keep-alive", "proxy-connection", "te", "trailer"}
    assert not names & dropped


async def test_forwarded_headers_are_appended(aiohttp_server: AiohttpServer, start_proxy: StartProxy) -> None:
    proxy, seen = await _echo_proxy(aiohttp_server, start_proxy)
    await proxy.client.get("/f", headers={"X-Forwarded-For": "203.0.113.9", "Host": "shop.example"})
    headers = dict(seen.requests[0]["headers"])
    assert headers["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Host"] == "shop.example"


async def test_host_is_the_upstreams_unless_preserved(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    seen = Seen()
    legacy = await aiohttp_server(echo_app(seen))
    rewriting = await start_proxy(make_config(url_of(legacy)))
    preserving = await start_proxy(make_config(url_of(legacy), server={"preserve_host": True}))
    await rewriting.client.get("/", headers={"Host": "shop.example"})
    await preserving.client.get("/", headers={"Host": "shop.example"})
    hosts = [dict(r["headers"])["Host"] for r in seen.requests]
    assert hosts == [f"127.0.0.1:{legacy.port}", "shop.example"]


async def test_response_headers_arrive_exactly_as_legacy_sent_them(
    raw_server: Any, start_proxy: StartProxy
) -> None:
    async def legacy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(
            b"HTTP/1.1 201 Made It\r\n"
            b"Set-Cookie: a=1; Path=/\r\n"
            b"X-Custom: v\r\n"
            b"Connection: keep-alive, X-Hop\r\n"
            b"X-Hop: drop me\r\n"
            b"Keep-Alive: timeout=5\r\n"
            b"Set-Cookie: b=2; HttpOnly\r\n"
            b"Content-Length: 5\r\n\r\nhello"
        )
        await writer.drain()
        writer.close()

    proxy = await start_proxy(make_config(await raw_server(legacy)))
    resp = await proxy.client.get("/cookies")
    assert (resp.status, resp.reason) == (201, "Made It")
    assert await resp.read() == b"hello"
    assert list(resp.raw_headers) == [
        (b"Set-Cookie", b"a=1; Path=/"),
        (b"X-Custom", b"v"),
        (b"Set-Cookie", b"b=2; HttpOnly"),
        (b"Content-Length", b"5"),
    ]


async def test_gzip_body_passes_through_still_compressed(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    compressed = gzip.compress(orjson.dumps({"items": list(range(500))}))

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=compressed, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    app = web.Application()
    app.router.add_get("/gz", handler)
    legacy = await aiohttp_server(app)
    proxy = await start_proxy(make_config(url_of(legacy)), auto_decompress=False)
    resp = await proxy.client.get("/gz", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert await resp.read() == compressed


async def test_redirect_is_returned_not_followed(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    followed: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.path)
        return web.Response(text="should not be fetched by the proxy")

    app = web.Application()
    app.router.add_get("/old", moved)
    app.router.add_get("/elsewhere", elsewhere)
    legacy = await aiohttp_server(app)
    proxy = await start_proxy(make_config(url_of(legacy)))
    resp = await proxy.client.get("/old", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"] == "/elsewhere"
    assert followed == []


async def test_head_204_304_have_no_body(aiohttp_server: AiohttpServer, start_proxy: StartProxy) -> None:
    async def resource(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=b"x" * 1234, headers={"ETag": '"v1"'})

    async def nothing(request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"X-Deleted": "yes"})

    app = web.Application()
    app.router.add_get("/r", resource)
    app.router.add_delete("/r", nothing)
    legacy = await aiohttp_server(app)
    proxy = await start_proxy(make_config(url_of(legacy)))

    head = await proxy.client.head("/r")
    assert (head.status, head.headers["Content-Length"], await head.read()) == (200, "1234", b"")
    not_modified = await proxy.client.get("/r", headers={"If-None-Match": '"v1"'})
    assert (not_modified.status, not_modified.headers["ETag"], await not_modified.read()) == (
        304,
        '"v1"',
        b"",
    )
    deleted = await proxy.client.delete("/r")
    assert (deleted.status, deleted.headers["X-Deleted"], await deleted.read()) == (204, "yes", b"")


async def test_range_is_passed_through(aiohttp_server: AiohttpServer, start_proxy: StartProxy) -> None:
    proxy, seen = await _echo_proxy(aiohttp_server, start_proxy)
    await proxy.client.get("/file", headers={"Range": "bytes=0-99"})
    assert dict(seen.requests[0]["headers"])["Range"] == "bytes=0-99"


async def test_streamed_body_reaches_client_before_upstream_finishes(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    first_chunk_seen = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first;")
        await first_chunk_seen.wait()  # only the client, through the proxy, can release this
        await response.write(b"second")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/stream", slow)
    legacy = await aiohttp_server(app)
    proxy = await start_proxy(make_config(url_of(legacy)))
    resp = await proxy.client.get("/stream")
    first = await asyncio.wait_for(resp.content.readany(), 10)
    assert first == b"first;"
    first_chunk_seen.set()
    assert await resp.content.read() == b"second"


async def test_large_upload_and_download_are_streamed(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    proxy, seen = await _echo_proxy(aiohttp_server, start_proxy)
    chunk = os.urandom(64 * 1024)
    chunks = 320  # 20 MiB

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    resp = await proxy.client.post("/upload", data=upload())
    assert resp.status == 200
    expected = hashlib.sha256(chunk * chunks).hexdigest()
    assert (seen.requests[0]["body_size"], seen.requests[0]["body_sha256"]) == (len(chunk) * chunks, expected)


async def test_large_download_is_streamed(aiohttp_server: AiohttpServer, start_proxy: StartProxy) -> None:
    chunk = os.urandom(64 * 1024)

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(len(chunk) * 320)})
        await response.prepare(request)
        for _ in range(320):
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/big", download)
    legacy = await aiohttp_server(app)
    proxy = await start_proxy(make_config(url_of(legacy)))
    resp = await proxy.client.get("/big")
    digest = hashlib.sha256()
    async for piece in resp.content.iter_any():
        digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(chunk * 320).hexdigest()


async def test_legacy_unreachable_is_502_naming_the_cause(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(make_config(closed_port_url()))
    resp = await proxy.client.get("/x")
    assert resp.status == 502
    assert (await resp.json())["error"] == "legacy_connect"


async def test_legacy_timeout_is_504_naming_the_cause(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_get("/stuck", stuck)
    legacy = await aiohttp_server(app)
    proxy = await start_proxy(make_config(url_of(legacy), server={"legacy_timeout": 0.2}))
    try:
        resp = await proxy.client.get("/stuck")
        assert resp.status == 504
        assert (await resp.json())["error"] == "legacy_timeout"
    finally:
        release.set()
