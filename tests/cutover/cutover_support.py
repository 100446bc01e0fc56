"""Helpers for the cutover tests: upstreams that say who they are, route rules, a proxy with its admin app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from config.model import Config, Fallback, Mode, RouteRule, ServerSettings, ShadowSettings
from proxy.app import CUTOVER, DISPATCHER
from proxy.cutover import Cutover, CutoverTiming
from proxy.testing import MemoryRecorder

AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]
AiohttpServer = Callable[..., Awaitable[TestServer]]
StartProxy = Callable[..., Awaitable["Running"]]  # the start_proxy fixture (conftest.py)
# Tests drive the pilot themselves (tick) and want replicas to follow the store quickly.
FAST = CutoverTiming(poll_interval=0.05, pilot_interval=3600.0, readiness_interval=0.0, startup_timeout=5.0)
MARKER = "X-Shadow-Request"


@dataclass
class Side:
    """An upstream's behaviour (changeable during a test) and what it received."""

    name: str
    status: int = 200
    body: Callable[[web.Request, bytes], Any] | None = None  # JSON to answer; default: who and what
    gate: asyncio.Event | None = None  # when set, requests wait for it before answering
    seen: list[dict[str, Any]] = field(default_factory=list)

    def targets(self) -> list[str]:
        return [f"{r['method']} {r['target']}" for r in self.seen]


def side_app(side: Side) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        side.seen.append(
            {"method": request.method, "target": request.raw_path, "marker": request.headers.get(MARKER)}
        )
        if side.gate is not None:
            await side.gate.wait()
        payload = side.body(request, body) if side.body else {"side": side.name, "target": request.raw_path}
        return web.Response(status=side.status, body=orjson.dumps(payload), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def url_of(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


def rule(name: str, path: str, mode: Mode = Mode.SHADOW, **fields: Any) -> RouteRule:
    methods = frozenset(fields.pop("methods", ("GET",)))
    return RouteRule(name=name, methods=methods, path=path, mode=mode, **fields)


def config_of(legacy: str, candidate: str | None, *routes: RouteRule, **fields: Any) -> Config:
    server = replace(ServerSettings(), **fields.pop("server", {}))
    shadow = replace(ShadowSettings(), **{"drain_timeout": 2.0, **fields.pop("shadow", {})})
    return Config(legacy=legacy, candidate=candidate, server=server, shadow=shadow, routes=routes, **fields)


def primary(name: str, path: str, **fields: Any) -> RouteRule:
    """A candidate_primary route falling back to legacy."""
    return rule(name, path, Mode.CANDIDATE_PRIMARY, fallback=Fallback.LEGACY, **fields)


@dataclass
class Running:
    """A proxy under test: its client, admin client, in-memory recorder and app."""

    client: TestClient[Any, Any]
    admin: TestClient[Any, Any]
    recorder: MemoryRecorder
    app: web.Application

    @property
    def cutover(self) -> Cutover:
        return self.app[CUTOVER]

    async def idle(self) -> None:
        await self.app[DISPATCHER].wait_idle()

    async def json(self, path: str, **kwargs: Any) -> Any:
        response = await self.client.get(path, **kwargs)
        assert response.status == 200, (response.status, await response.text())
        return await response.json()

    async def switch(self, route: str, mode: str, reason: str = "test") -> dict[str, Any]:
        response = await self.admin.post(f"/routes/{route}/mode", json={"mode": mode, "reason": reason})
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
        return body
