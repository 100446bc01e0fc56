"""Build the proxy's aiohttp application from a Config; its resources live in cleanup_ctx, behind AppKeys.

Startup order (teardown runs in reverse): telemetry -> recorder -> upstream sessions -> cutover state and the
shadow and client paths. So on shutdown the shadow work is drained first, then the cutover state is flushed,
then the sessions close, then the recorder flushes, and last the telemetry exports what spans are left.

The Config given here is the startup one; after a reload the live one is `app[LIVE].plan.config`.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from config.model import Config
from proxy.cutover import ConfigLoader, Cutover, CutoverTiming
from proxy.forward import Forwarder, refuse_foreign_targets
from proxy.limits import InFlight, handler_args
from proxy.mirror_client import MirrorClient
from proxy.plan import LivePlan, Shared, build_plan
from proxy.records import Recorder
from proxy.relay import Relay
from proxy.serving import ModeServer
from proxy.store import Store, open_store
from proxy.store.cutover import CutoverSqlStore
from proxy.telemetry import TELEMETRY, Telemetry, telemetry_context
from proxy.telemetry_metrics import MetricsRecorder
from proxy.upstream import open_session
from proxy.workers import CompareRunner, ShadowDispatcher

RecorderFactory = Callable[[Config], AbstractAsyncContextManager[Recorder]]
MEMORY_STORE = "sqlite://:memory:"  # cutover state of a proxy whose recorder keeps no store (tests)


@dataclass(slots=True)
class ServingState:
    """Whether the proxy is serving or draining; mutable on purpose, read by the admin server."""

    serving: bool = False
    draining: bool = False


@dataclass(frozen=True, slots=True)
class Sessions:
    """The connections to upstreams: aiohttp for the client path, the lean mirror client for shadows."""

    legacy: aiohttp.ClientSession  # the client path's session, whichever side serves
    shadow: MirrorClient


@dataclass(frozen=True, slots=True)
class CutoverOptions:
    """How the cutover state is kept: a reloader for SIGHUP and POST /reload, timings, the store to use."""

    loader: ConfigLoader | None = None
    timing: CutoverTiming = field(default_factory=CutoverTiming)
    store_url: str | None = None  # None: the recorder's store, else a private in-memory SQLite store
    clock: Callable[[], float] = time.time  # of mode changes, rollback windows and readiness (tests pin it)


CONFIG = web.AppKey("config", Config)
STATE = web.AppKey("serving_state", ServingState)
RECORDER = web.AppKey("recorder", Recorder)
SESSIONS = web.AppKey("sessions", Sessions)
DISPATCHER = web.AppKey("shadow_dispatcher", ShadowDispatcher)
FORWARDER = web.AppKey("forwarder", Forwarder)
LIVE = web.AppKey("live_plan", LivePlan)
CUTOVER = web.AppKey("cutover", Cutover)
OPTIONS = web.AppKey("cutover_options", CutoverOptions)


def build_app(
    config: Config,
    *,
    recorder_factory: RecorderFactory | None = None,
    cutover: CutoverOptions | None = None,
    telemetry: Telemetry | None = None,
) -> web.Application:
    """The proxy application: every path and method goes to the client path, nothing else is served.

    `telemetry` defaults to the OTEL_* environment's (proxy.telemetry_env; TelemetryConfigError if invalid);
    the app shuts down whichever it holds on cleanup.
    """
    app = web.Application(middlewares=[refuse_foreign_targets], handler_args=handler_args(config.server))
    app[CONFIG] = config
    app[STATE] = ServingState()
    app[LIVE] = LivePlan()
    app[OPTIONS] = cutover or CutoverOptions()
    app[TELEMETRY] = telemetry or Telemetry.from_env(instance_id=instance_id(config))
    app.cleanup_ctx.append(telemetry_context)
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

    recorder: AbstractAsyncContextManager[Recorder] = open_recorder(config, instance_id(config))
    return recorder


def instance_id(config: Config) -> str:
    return config.instance_id or socket.gethostname()


async def _forward(request: web.Request) -> web.StreamResponse:
    return await request.app[FORWARDER].handle(request)


def _recorder_context(
    factory: RecorderFactory,
) -> Callable[[web.Application], AbstractAsyncContextManager[None]]:
    async def recorder_context(app: web.Application) -> AsyncIterator[None]:
        async with factory(app[CONFIG]) as recorder:
            app[RECORDER] = MetricsRecorder(recorder, app[TELEMETRY].metrics)
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


def _cutover_store(app: web.Application) -> tuple[Store, bool]:
    """The store holding live modes (and whether this app owns it): the recorder's, else a private one."""
    options = app[OPTIONS]
    if options.store_url is not None:
        return open_store(options.store_url), True
    recorder_store = getattr(app[RECORDER], "store", None)
    if isinstance(recorder_store, CutoverSqlStore):
        return recorder_store, False
    return open_store(MEMORY_STORE), True


async def _paths_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    options = app[OPTIONS]
    store, owned = _cutover_store(app)
    live = app[LIVE]
    cutover = Cutover(
        store, instance_id(config), live, loader=options.loader, timing=options.timing, clock=options.clock
    )
    await cutover.start(config)
    dispatcher = ShadowDispatcher(config.shadow.max_in_flight)
    runner = CompareRunner(config.shadow.worker_threshold_bytes)
    telemetry = app[TELEMETRY]
    telemetry.metrics.watch_dispatcher(dispatcher.stats)
    shared = Shared(
        app[RECORDER], dispatcher, runner, app[SESSIONS].shadow, cutover.ids, cutover.tally, telemetry
    )
    cutover.shared = shared
    live.plan = build_plan(config, shared)
    relay = Relay(app[SESSIONS].legacy, telemetry)
    app[CUTOVER] = cutover
    app[DISPATCHER] = dispatcher
    modes = ModeServer(relay, cutover.ids, cutover.tally)
    gate = InFlight(config.server.max_in_flight)
    app[FORWARDER] = Forwarder(live, relay, cutover.table, modes, telemetry, gate)
    cutover.run()
    try:
        yield
    finally:
        await dispatcher.drain(config.shadow.drain_timeout)
        await cutover.close()
        await runner.close()
        if owned:
            await store.close()


async def _mark_serving(app: web.Application) -> None:
    app[STATE].serving = True


async def _mark_draining(app: web.Application) -> None:
    app[STATE].draining = True
