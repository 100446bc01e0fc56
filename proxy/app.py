"""Build the proxy's aiohttp application from a Config; its resources live in cleanup_ctx, behind AppKeys.

Startup order (teardown runs in reverse): recorder -> upstream sessions -> shadow path and client path.
So on shutdown the shadow work is drained first, then the sessions close, then the recorder flushes.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from config.model import Config
from proxy.forward import Forwarder, refuse_foreign_targets
from proxy.mirror_client import MirrorClient
from proxy.records import Recorder
from proxy.routing import Router
from proxy.shadow import CompareRunner, Shadow, ShadowDispatcher, ShadowTargets
from proxy.upstream import Upstream, open_session

RecorderFactory = Callable[[Config], AbstractAsyncContextManager[Recorder]]


@dataclass(slots=True)
class ServingState:
    """Whether the proxy is serving or draining; mutable on purpose, read by the admin server."""

    serving: bool = False
    draining: bool = False


@dataclass(frozen=True, slots=True)
class Sessions:
    """The connections to upstreams: aiohttp for the client path, the lean mirror client for shadows."""

    legacy: aiohttp.ClientSession
    shadow: MirrorClient


CONFIG = web.AppKey("config", Config)
STATE = web.AppKey("serving_state", ServingState)
RECORDER = web.AppKey("recorder", Recorder)
SESSIONS = web.AppKey("sessions", Sessions)
DISPATCHER = web.AppKey("shadow_dispatcher", ShadowDispatcher)
FORWARDER = web.AppKey("forwarder", Forwarder)


def build_app(config: Config, *, recorder_factory: RecorderFactory | None = None) -> web.Application:
    """The proxy application: every path and method goes to the client path, nothing else is served."""
    app = web.Application(middlewares=[refuse_foreign_targets])
    app[CONFIG] = config
    app[STATE] = ServingState()
    app.cleanup_ctx.append(_recorder_context(recorder_factory or default_recorder))
    app.cleanup_ctx.append(_sessions_context)
    app.cleanup_ctx.append(_paths_context)
    app.on_startup.append(_mark_serving)
    app.on_shutdown.append(_mark_draining)
    app.router.add_route("*", "/{tail:.*}", _forward)
    return app


def default_recorder(config: Config) -> AbstractAsyncContextManager[Recorder]:
    """The configured store's recorder (imported here so the proxy builds without the store's modules)."""
    from proxy.recorder import open_recorder

    recorder: AbstractAsyncContextManager[Recorder] = open_recorder(
        config, config.instance_id or socket.gethostname()
    )
    return recorder


async def _forward(request: web.Request) -> web.StreamResponse:
    return await request.app[FORWARDER].handle(request)


def _recorder_context(
    factory: RecorderFactory,
) -> Callable[[web.Application], AbstractAsyncContextManager[None]]:
    async def recorder_context(app: web.Application) -> AsyncIterator[None]:
        async with factory(app[CONFIG]) as recorder:
            app[RECORDER] = recorder
            yield

    return recorder_context  # type: ignore[return-value]


async def _sessions_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    server = config.server
    legacy = open_session(connect_timeout=server.legacy_connect_timeout, read_timeout=server.legacy_timeout)
    shadow = MirrorClient()  # each mirror is bounded as a whole by shadow.timeout
    app[SESSIONS] = Sessions(legacy, shadow)
    try:
        yield
    finally:
        await shadow.close()
        await legacy.close()


async def _paths_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    dispatcher = ShadowDispatcher(config.shadow.max_in_flight)
    runner = CompareRunner(config.shadow.worker_threshold_bytes)
    app[DISPATCHER] = dispatcher
    app[FORWARDER] = Forwarder(
        legacy=Upstream.from_url("legacy", config.legacy),
        session=app[SESSIONS].legacy,
        router=Router(config.routes, config.default_compare, config.shadow.sample_rate),
        shadow=_shadow(config, app[SESSIONS].shadow, app[RECORDER], dispatcher, runner),
        settings=config.server,
    )
    try:
        yield
    finally:
        await dispatcher.drain(config.shadow.drain_timeout)
        await runner.close()


def _shadow(
    config: Config,
    client: MirrorClient,
    recorder: Recorder,
    dispatcher: ShadowDispatcher,
    runner: CompareRunner,
) -> Shadow | None:
    if config.candidate is None:
        return None
    targets = ShadowTargets(
        candidate=Upstream.from_url("candidate", config.candidate),
        secondary=Upstream.from_url("secondary", config.secondary) if config.secondary else None,
        client=client,
        settings=config.shadow,
        preserve_host=config.server.preserve_host,
    )
    return Shadow(targets, recorder, dispatcher, runner)


async def _mark_serving(app: web.Application) -> None:
    app[STATE].serving = True


async def _mark_draining(app: web.Application) -> None:
    app[STATE].draining = True
