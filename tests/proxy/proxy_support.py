"""Helpers for the proxy tests: configs, echo upstreams, a proxy handle, raw-socket clients."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from config.model import Config, ServerSettings, ShadowSettings
from proxy.app import DISPATCHER
from proxy.testing import MemoryRecorder

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]
AiohttpServer = Callable[..., Awaitable[TestServer]]
StartProxy = Callable[..., Awaitable["Proxy"]]
RawServer = Callable[[RawHandler], Awaitable[str]]


def make_config(legacy: str, candidate: str | None = None, **fields: Any) -> Config:
    """A Config for tests; `server=`/`shadow=` take dicts of overrides on the defaults."""
    server = replace(ServerSettings(), **fields.pop("server", {}))
    shadow = replace(ShadowSettings(), **{"drain_timeout": 2.0, **fields.pop("shadow", {})})
    return Config(legacy=legacy, candidate=candidate, server=server, shadow=shadow, **fields)


def url_of(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@dataclass
class Seen:
    """What an echo upstream received, request by request."""

    requests: list[dict[str, Any]] = field(default_factory=list)


def echo_app(seen: Seen, name: str = "legacy") -> web.Application:
    """An upstream that answers every request with a JSON description of it (and remembers it)."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        record = {
            "upstream": name,
            "method": request.method,
            "target": request.raw_path,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_size": len(body),
        }
        seen.requests.append(record)
        return web.Response(body=orjson.dumps(record), content_type="application/json")

    app = web.Application(client_max_size=1024**3)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@dataclass
class Proxy:
    """A running proxy app under test, with the in-memory recorder it writes to."""

    client: TestClient[Any, Any]
    recorder: MemoryRecorder
    app: web.Application

    async def idle(self) -> None:
        """Wait until every shadow task has finished."""
        await self.app[DISPATCHER].wait_idle()

    @property
    def port(self) -> int:
        port = self.client.server.port
        assert port is not None
        return port


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """Read one request's head (up to the blank line) from a raw connection."""
    return await reader.readuntil(b"\r\n\r\n")


def closed_port_url() -> str:
    """A URL on which nothing listens (port 1 on loopback is never bound in the test environment)."""
    return "http://127.0.0.1:1"


async def raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes to the proxy and read until it closes or a full response head and body arrive."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return head + await reader.readexactly(length)
    finally:
        writer.close()


@dataclass
class Gate:
    """An upstream handler's progress, so tests can order events without clocks."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hits: list[str] = field(default_factory=list)
    answered: int = 0


def fixed_app(
    body: bytes, gate: Gate | None = None, headers: dict[str, str] | None = None
) -> web.Application:
    """An upstream answering `body` to everything; with a gate, it waits for `gate.release` first."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        if gate is not None:
            gate.hits.append(f"{request.method} {request.raw_path}")
            gate.entered.set()
            await gate.release.wait()
            gate.answered += 1
        return web.Response(body=body, content_type="application/json", headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app
