"""The admin server (its own port, never the proxied one): probes, counters, and cutover operations.

    GET  /healthz                 200 while the event loop answers
    GET  /readyz                  200 serving, 503 starting or draining; says whether the store is degraded
    GET  /stats                   counters per route, the shadow dispatcher, the candidate-serving counters,
                                  transport faults by route, side and kind, client requests in flight
    GET  /routes                  every configured route: live mode, since when, by whom, settings, readiness
    POST /routes/{name}/mode      {"mode": "...", "reason": "...", "actor": "..."}: switch, audited
    POST /reload                  reload the config file (as SIGHUP does); 400 with the errors if invalid
    GET  /audit?since=&route=     mode changes (all replicas), oldest first
    GET  /metrics                 OpenTelemetry metrics as Prometheus text (proxy.telemetry_metrics)
    GET  /                        the dashboard: routes, readiness, signatures, examples (proxy.dashboard)

Beyond loopback every route but the probes needs `Authorization: Bearer $SHADOW_ADMIN_TOKEN`
(proxy.admin_auth).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

import orjson
from aiohttp import web

from config.model import Config, RouteRule
from proxy.admin_auth import admin_auth_middleware, token_from_env
from proxy.app import CONFIG, CUTOVER, DISPATCHER, FORWARDER, RECORDER, STATE
from proxy.autopilot import route_readiness
from proxy.cutover import Cutover
from proxy.dashboard import add_dashboard_routes
from proxy.modes import SwitchRejected, parse_switch
from proxy.promotion import ReadinessView
from proxy.store import StoreError
from proxy.store.base import Window
from proxy.store.cutover import AuditEntry
from proxy.telemetry import TELEMETRY, metrics_handler

PROXY_APP = web.AppKey("proxy_app", web.Application)
READINESS_TIMEOUT = 10.0
DEFAULT_ACTOR = "admin-api"


def build_admin_app(proxy_app: web.Application, *, token: str | None = None) -> web.Application:
    """An application reading the proxy app's resources at request time; `token` defaults to the env's.

    Raises proxy.admin_auth.AdminTokenRequired when it would listen beyond loopback without a token.
    """
    host = proxy_app[CONFIG].server.admin_listen.host
    admin = web.Application(middlewares=[admin_auth_middleware(host, token or token_from_env())])
    admin[PROXY_APP] = proxy_app
    admin.router.add_get("/healthz", healthz)
    admin.router.add_get("/readyz", readyz)
    admin.router.add_get("/stats", stats)
    admin.router.add_get("/routes", routes)
    admin.router.add_post("/routes/{name}/mode", switch_mode)
    admin.router.add_post("/reload", reload)
    admin.router.add_get("/audit", audit)
    admin.router.add_get("/metrics", metrics_handler(proxy_app[TELEMETRY]))
    add_dashboard_routes(
        admin,
        proxy_app[CONFIG],
        store=lambda: getattr(proxy_app.get(RECORDER), "store", None),  # the recorder's: all replicas' rows
        degraded=lambda: _store_degraded(proxy_app),
    )
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
    """Per-route counters from the recorder, the shadow dispatcher's counts, and the cutover counters."""
    proxy_app = request.app[PROXY_APP]
    recorder = proxy_app.get(RECORDER)
    snapshot = getattr(recorder, "snapshot", None)
    body: dict[str, Any] = dict(snapshot()) if callable(snapshot) else {}
    dispatcher = proxy_app.get(DISPATCHER)
    body["shadow"] = dispatcher.stats() if dispatcher is not None else {}
    body["store_degraded"] = _store_degraded(proxy_app)
    body["upstream_errors"] = proxy_app[TELEMETRY].metrics.upstream_errors()
    forwarder = proxy_app.get(FORWARDER)
    if forwarder is not None:
        gate = forwarder.gate
        body["client"] = {"in_flight": gate.active, "max_in_flight": gate.limit, "refused": gate.refused}
    cutover = proxy_app.get(CUTOVER)
    if cutover is not None:
        body["cutover"] = {"served": cutover.tally.snapshot(), "rollbacks": dict(cutover.pilot.rollbacks)}
    return web.json_response(body)


async def routes(request: web.Request) -> web.Response:
    """Every configured route with its live mode and settings; readiness unless `?readiness=0`."""
    cutover = _cutover(request)
    config = cutover.live.plan.config
    body: dict[str, Any] = {
        "instance_id": cutover.instance_id,
        "store": {"url": cutover.store.url, "ok": cutover.store_ok},
        "reload": cutover.can_reload,
        "source": config.source,
    }
    readiness: dict[str, ReadinessView] = {}
    if request.query.get("readiness", "1") != "0":
        readiness, error = await _readiness(cutover, config)
        if error:
            body["readiness_error"] = error
    body["routes"] = [_route_view(cutover, rule, readiness.get(rule.name)) for rule in config.routes]
    return _json(body)


async def switch_mode(request: web.Request) -> web.Response:
    """Switch one route's mode for every replica; 400/404 with every error named, 503 if the store is down."""
    cutover = _cutover(request)
    payload = await _json_object(request)
    if isinstance(payload, web.Response):
        return payload
    try:
        rule, mode, reason = parse_switch(
            cutover.live.plan.config, request.match_info["name"], payload.get("mode"), payload.get("reason")
        )
    except SwitchRejected as exc:
        return _json({"errors": exc.errors}, exc.status)
    actor = payload.get("actor")
    actor = actor.strip()[:100] if isinstance(actor, str) and actor.strip() else DEFAULT_ACTOR
    before = cutover.switcher.mode_of(rule)
    try:
        result = await cutover.switcher.switch(rule, mode, actor=actor, reason=reason)
    except StoreError as exc:
        detail = f"the mode was not changed: the store is unavailable ({exc})"
        return _json({"error": "store_unavailable", "errors": [detail]}, 503)
    entry = result.entry
    body = {
        "route": rule.name,
        "mode": result.current,
        "changed": result.changed,
        "from": entry.from_mode if entry is not None else before.value,
        "audit": audit_json(entry) if entry is not None else None,
    }
    return _json(body)


async def reload(request: web.Request) -> web.Response:
    """Reload the config file now; an invalid one is refused (400, every error) and the old one kept."""
    cutover = _cutover(request)
    if not cutover.can_reload:
        return _json({"ok": False, "errors": ["reload: the proxy was started without a config file"]}, 409)
    outcome = await cutover.reload()
    return _json(asdict(outcome), 200 if outcome.ok else 400)


async def audit(request: web.Request) -> web.Response:
    """Mode changes from the store (every replica), oldest first; `since`/`until` are unix seconds."""
    cutover = _cutover(request)
    try:
        window = Window(_seconds(request, "since"), _seconds(request, "until"))
    except ValueError as exc:
        return _json({"errors": [str(exc)]}, 400)
    try:
        entries = await cutover.store.audit(window, request.query.get("route"))
    except StoreError as exc:
        return _json({"error": "store_unavailable", "errors": [str(exc)]}, 503)
    return _json({"audit": [audit_json(entry) for entry in entries]})


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {**asdict(entry), "details": dict(entry.details)}


def _route_view(cutover: Cutover, rule: RouteRule, readiness: ReadinessView | None) -> dict[str, Any]:
    live = cutover.table.details.get(rule.name)
    return {
        "name": rule.name,
        "methods": sorted(rule.methods),
        "path": rule.path,
        "mode": cutover.switcher.mode_of(rule).value,
        "configured_mode": rule.mode.value,
        "since": live.since if live is not None else None,
        "actor": live.actor if live is not None else None,
        "fallback": rule.fallback.value,
        "promote": rule.promote.value,
        "rollback": asdict(rule.rollback) if rule.rollback is not None else None,
        "mirror_writes": rule.mirror_writes,
        "id_paths": asdict(rule.id_paths) if rule.id_paths is not None else None,
        "id_kind": rule.id_kind,
        "rewrite_ids": rule.rewrite_ids,
        "served": cutover.tally.snapshot().get(rule.name, {}),
        "rollbacks": cutover.pilot.rollbacks.get(rule.name, 0),
        "readiness": asdict(readiness) if readiness is not None else None,
    }


async def _readiness(cutover: Cutover, config: Config) -> tuple[dict[str, ReadinessView], str]:
    """Readiness of every configured route, or the reason it could not be read (never an error answer)."""
    now = cutover.pilot.now()
    try:
        async with asyncio.timeout(READINESS_TIMEOUT):
            views = await route_readiness(cutover.store, config, [r.name for r in config.routes], now)
    except (StoreError, TimeoutError) as exc:
        return {}, f"readiness unavailable: {exc or 'timeout'}"
    return views, "" if views or not config.routes else "readiness unavailable in this build"


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        payload = await request.json(loads=orjson.loads)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        errors = ['body: expected a JSON object like {"mode": "candidate_primary", "reason": "…"}']
        return _json({"errors": errors}, 400)
    return payload


def _seconds(request: web.Request, name: str) -> float | None:
    text = request.query.get(name)
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: expected unix seconds, got {text!r}") from None


def _cutover(request: web.Request) -> Cutover:
    return request.app[PROXY_APP][CUTOVER]


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _store_degraded(proxy_app: web.Application) -> bool:
    return bool(getattr(proxy_app.get(RECORDER), "degraded", False))
