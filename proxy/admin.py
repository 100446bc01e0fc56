"""The admin server (its own port, never the proxied one): liveness, readiness and counters."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proxy.app import DISPATCHER, RECORDER, STATE

PROXY_APP = web.AppKey("proxy_app", web.Application)


def build_admin_app(proxy_app: web.Application) -> web.Application:
    """An application reading the proxy app's resources (recorder, dispatcher, state) at request time."""
    admin = web.Application()
    admin[PROXY_APP] = proxy_app
    admin.router.add_get("/healthz", healthz)
    admin.router.add_get("/readyz", readyz)
    admin.router.add_get("/stats", stats)
    return admin


async def healthz(request: web.Request) -> web.Response:
    """200 whenever the process runs and its event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 while serving, 503 while starting or draining; also says whether the store is degraded."""
    proxy_app = request.app[PROXY_APP]
    state = proxy_app[STATE]
    ready = state.serving and not state.draining
    body = {
        "status": "ready" if ready else ("draining" if state.draining else "starting"),
        "store_degraded": _store_degraded(proxy_app),
    }
    return web.json_response(body, status=200 if ready else 503)


async def stats(request: web.Request) -> web.Response:
    """Per-route counters from the recorder, plus the shadow dispatcher's in-flight and dropped counts."""
    proxy_app = request.app[PROXY_APP]
    recorder = proxy_app.get(RECORDER)
    snapshot = getattr(recorder, "snapshot", None)
    body: dict[str, Any] = dict(snapshot()) if callable(snapshot) else {}
    dispatcher = proxy_app.get(DISPATCHER)
    body["shadow"] = dispatcher.stats() if dispatcher is not None else {}
    body["store_degraded"] = _store_degraded(proxy_app)
    return web.json_response(body)


def _store_degraded(proxy_app: web.Application) -> bool:
    return bool(getattr(proxy_app.get(RECORDER), "degraded", False))
