"""Fixtures for the proxy tests: a proxy with an in-memory recorder, and raw misbehaving servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from proxy_support import AiohttpClient, Proxy, RawHandler, RawServer, StartProxy

from config.model import Config
from proxy.app import build_app
from proxy.testing import MemoryRecorder


@pytest.fixture
def start_proxy(aiohttp_client: AiohttpClient) -> StartProxy:
    async def start(config: Config, **client_kwargs: Any) -> Proxy:
        recorder = MemoryRecorder()
        app = build_app(config, recorder_factory=recorder.factory)
        client = await aiohttp_client(app, **client_kwargs)
        return Proxy(client, recorder, app)

    return start


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServer]:
    """Start asyncio servers speaking whatever bytes a test wants; returns their base URL."""
    servers: list[asyncio.Server] = []

    async def start(handler: RawHandler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
