"""The admin server's web UI at `/`: routes with readiness, then a route, its signatures, one example.

Server-rendered HTML (no script), read from the store at each request, so it shows every replica. Pages:

    /                        every route: verdict, mode, window figures, why; the routes not shadowed by
                             design; the latest mode changes; the store's state
    /route?name=ROUTE        readiness, mode and its changes, candidate serving, charts, signatures, paths,
                             rules, latency of one route
    /signature?id=SIG        one signature's differences and its stored examples
    /example?id=ID           one example: legacy vs candidate side by side, raw and normalized
    /api/report              the report's JSON (proxy/report_json.py)

Mount it with `add_dashboard_routes(admin_app, config, ...)`; protect the admin app with
proxy.admin_auth.admin_auth_middleware.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from config.model import Config
from proxy.diffview import example_view, route_spec
from proxy.htmlkit import Markup, join, link, number, page, table, tag
from proxy.report import Report, build_report
from proxy.report_html import banner, not_covered_banner, not_shadowed_banner
from proxy.report_json import iso, report_json
from proxy.route_view import audit_table, route_sections, summary_table
from proxy.store import Store, StoreError, open_store
from proxy.store.base import ALL_TIME, SignatureTotal

SEP = "\u203a"  # the breadcrumb separator
EXAMPLES_LISTED = 50
MODE_CHANGES_LISTED = 20  # on the index, newest first; a route's page lists all of its own
EVERY_SIGNATURE = 1_000_000
StoreProvider = Callable[[], Store | None]


@dataclass(slots=True)
class DashboardSources:
    """Where the dashboard reads: a store (its own, or one lent by the proxy), the config, a clock."""

    config: Config
    store: StoreProvider
    degraded: Callable[[], bool | None] = lambda: None
    clock: Callable[[], float] = time.time


SOURCES = web.AppKey("dashboard_sources", DashboardSources)


def add_dashboard_routes(
    app: web.Application,
    config: Config,
    *,
    store: StoreProvider | None = None,
    degraded: Callable[[], bool | None] | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Serve the dashboard from `app` (the admin application), before it starts.

    `store` lends a store (e.g. the recorder's); without it the dashboard opens `config.store.url` itself
    for reading in the app's cleanup_ctx (never creating it). `degraded` says whether the proxy's store
    writes are failing right now (None: unknown, e.g. no proxy in this process).
    """
    sources = DashboardSources(config, store or (lambda: None), degraded or (lambda: None), clock)
    app[SOURCES] = sources
    if store is None:
        app.cleanup_ctx.append(_own_store)
    app.router.add_get("/", index)
    app.router.add_get("/route", route_page)
    app.router.add_get("/signature", signature_page)
    app.router.add_get("/example", example_page)
    app.router.add_get("/api/report", api_report)


async def _own_store(app: web.Application) -> AsyncIterator[None]:
    sources = app[SOURCES]
    opened = open_store(sources.config.store.url, create=False)
    sources.store = lambda: opened
    try:
        yield
    finally:
        await opened.close()


def route_href(name: str) -> str:
    return "/route?" + urlencode({"name": name})


def signature_href(signature: str) -> str:
    return "/signature?" + urlencode({"id": signature})


def example_href(example_id: str) -> str:
    return "/example?" + urlencode({"id": example_id})


def _store(request: web.Request) -> Store:
    found = request.app[SOURCES].store()
    if found is None:
        raise StoreError("the store is not open yet")
    return found


def _html(title: str, body: Markup, request: web.Request, status: int = 200) -> web.Response:
    sources = request.app[SOURCES]
    store = sources.store()
    where = store.url if store is not None else sources.config.store.url
    meta = join([link("/", "all routes"), f" · store {where} · {iso(sources.clock())}"])
    text = page(f"{title} · shadow-proxy", body, heading="shadow-proxy", meta=meta)
    return web.Response(text=text, content_type="text/html", status=status)


def _store_state(request: web.Request) -> Markup:
    degraded = request.app[SOURCES].degraded()
    if degraded:
        text = "The store is degraded: this proxy cannot write to it now; records wait in a bounded buffer."
        return tag("div", text, class_="banner warn")
    return Markup("")


def _failure(request: web.Request, exc: StoreError) -> web.Response:
    body = join([tag("h2", "The store cannot be read"), tag("div", str(exc), class_="error-box")])
    return _html("store unavailable", body, request, status=503)


def _not_found(request: web.Request, what: str) -> web.Response:
    body = join([tag("h2", "Not found"), tag("p", what), link("/", "back to all routes")])
    return _html("not found", body, request, status=404)


async def _report(request: web.Request, routes: tuple[str, ...] = ()) -> Report:
    sources = request.app[SOURCES]
    return await build_report(_store(request), routes=routes, config=sources.config, clock=sources.clock)


async def index(request: web.Request) -> web.Response:
    try:
        report = await _report(request)
    except StoreError as exc:
        return _failure(request, exc)
    instances = ", ".join(i.instance_id for i in report.instances) or "none yet"
    parts: list[object] = [_store_state(request), banner(report)]
    parts += [not_covered_banner(report), not_shadowed_banner(report)]
    parts += [tag("h2", "Routes"), summary_table(report, route_href)]
    if report.audit:
        latest = tuple(reversed(report.audit[-MODE_CHANGES_LISTED:]))
        parts += [tag("h2", "Latest mode changes"), audit_table(latest, route_href)]
    parts.append(tag("p", f"Replicas writing to this store: {instances}.", class_="muted"))
    return _html("routes", join(parts), request)


async def route_page(request: web.Request) -> web.Response:
    name = request.query.get("name", "")
    try:
        report = await _report(request, (name,))
    except StoreError as exc:
        return _failure(request, exc)
    [route] = report.routes
    if not route.covered and not route.configured:
        return _not_found(request, f"No route named {name!r} in the store or the config.")

    def examples_of(signature: SignatureTotal) -> str | None:
        return signature_href(signature.signature)

    heading = tag("h2", join([route.route, " "]))
    body = join([_store_state(request), heading, route_sections(route, report, examples_of, "examples")])
    return _html(route.route, body, request)


async def signature_page(request: web.Request) -> web.Response:
    wanted = request.query.get("id", "")
    try:
        store = _store(request)
        found = [s for s in await store.signature_totals(ALL_TIME, EVERY_SIGNATURE) if s.signature == wanted]
        examples = await store.examples(wanted, EXAMPLES_LISTED) if found else []
    except StoreError as exc:
        return _failure(request, exc)
    if not found:
        return _not_found(request, f"No divergence signature {wanted!r}.")
    signature = found[0]
    crumbs = join(
        [link(route_href(signature.route), signature.route), f" {SEP} signature ", tag("code", wanted)]
    )
    paths = table(("path", "kind"), [(tag("code", p), k) for p, k in signature.paths])
    facts = (
        f"{number(signature.count)} divergences, first seen {iso(signature.first_seen)}, "
        f"last seen {iso(signature.last_seen)}; {number(signature.examples)} examples kept."
    )
    rows = [
        (
            link(example_href(e.id), iso(e.recorded_at) or ""),
            e.instance_id,
            tag("code", f"{e.method} {e.target}"),
            e.legacy.status if e.legacy.status is not None else e.legacy.error or "",
            e.candidate.status if e.candidate.status is not None else e.candidate.error or "",
        )
        for e in examples
    ]
    listing = table(("recorded", "replica", "request", "legacy", "candidate"), rows)
    body = join([tag("p", crumbs), tag("h2", "Differences"), paths, tag("p", facts, class_="muted")])
    return _html(f"signature {wanted}", join([body, tag("h2", "Examples"), listing]), request)


async def example_page(request: web.Request) -> web.Response:
    wanted = request.query.get("id", "")
    try:
        example = await _store(request).example(wanted)
    except StoreError as exc:
        return _failure(request, exc)
    if example is None:
        return _not_found(request, f"No stored example {wanted!r} (retention may have removed it).")
    crumbs = join(
        [
            link(route_href(example.route), example.route),
            f" {SEP} ",
            link(signature_href(example.signature), f"signature {example.signature}"),
            f" {SEP} example",
        ]
    )
    meta = (
        f"recorded {iso(example.recorded_at)} by {example.instance_id or 'unknown'}; "
        f"request id {example.request_id or '-'}; trace id {example.trace_id or '-'}; "
        f"verdict {example.verdict}"
    )
    spec = route_spec(request.app[SOURCES].config, example.route)
    view = tag("div", example_view(example, spec), class_="example")
    return _html("example", join([tag("p", crumbs), tag("p", meta, class_="muted"), view]), request)


async def api_report(request: web.Request) -> web.Response:
    try:
        report = await _report(request)
    except StoreError as exc:
        return web.json_response({"error": "store_unavailable", "detail": str(exc)}, status=503)
    return web.json_response(report_json(report))
