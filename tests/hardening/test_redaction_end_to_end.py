"""Planted secrets never leave the proxy: not in any table, log line, report (md, json, html) or admin page.

A real `shadow-proxy serve` process (log_bodies on, the hardest case) on a real SQLite store, in front of
upstreams that echo every secret back in their bodies and set one in a cookie; the candidate differs, so
every exchange is a stored divergence example. Then the store is dumped, the whole process output read,
the three report formats rendered and every admin page crawled.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer
from hardening_support import ROOT, serve_process, write_config

from proxy.store import open_store

SECRETS = {
    "authorization": "sEcReT-bearer-4f1c9e",
    "cookie": "sEcReT-cookie-77ab3",
    "x-api-key": "sEcReT-apikey-9d0e1",
    "apikey": "sEcReT-apikey-hdr-1b2c",
    "proxy-authorization": "sEcReT-proxy-5e6f7",
    "query_token": "sEcReT-query-3a4b5",
    "query_access_token": "sEcReT-access-8c9d0",
    "body_password": "sEcReT-password-2468",
    "set_cookie": "sEcReT-setcookie-1357",
}
REDACT = """log_bodies = true
[redact]
body_paths = ["$.password"]
[[routes]]
name = "login"
methods = ["POST"]
path = "/login"
mirror_writes = true
"""


def echo_app(side: str) -> web.Application:
    """Echoes the request (headers, query, body) in JSON; legacy also sets a session cookie."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        document = {
            "side": side,
            "headers": dict(request.headers),
            "args": dict(request.query),
            "json": orjson.loads(body) if body else None,
        }
        response = web.json_response(document)
        if side == "legacy":
            response.headers["Set-Cookie"] = f"sid={SECRETS['set_cookie']}; Path=/; HttpOnly"
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def planted_requests() -> list[dict[str, Any]]:
    s = SECRETS
    headers = {
        "Authorization": f"Bearer {s['authorization']}",
        "Cookie": f"session={s['cookie']}; theme=dark",
        "X-Api-Key": s["x-api-key"],
        "Apikey": s["apikey"],
        "Proxy-Authorization": f"Basic {s['proxy-authorization']}",
    }
    query = f"token={s['query_token']}&access_token={s['query_access_token']}&page=2"
    return [{"method": "GET", "url": f"/profile/{n}?{query}", "headers": headers} for n in range(6)] + [
        {
            "method": "POST",
            "url": f"/login?{query}",
            "headers": {**headers, "Content-Type": "application/json"},
            "data": orjson.dumps({"user": "ann", "password": s["body_password"]}),
        }
        for _ in range(3)
    ]


async def crawl(session: aiohttp.ClientSession, base: str, limit: int = 60) -> dict[str, str]:
    """Every admin page reachable from / (and the JSON endpoints), by path."""
    pages: dict[str, str] = {}
    queue = ["/", "/stats", "/routes", "/audit", "/metrics", "/api/report"]
    while queue and len(pages) < limit:
        path = queue.pop(0)
        if path in pages:
            continue
        async with session.get(base + path) as response:
            assert response.status == 200, path
            pages[path] = await response.text()
        for link in re.findall(r'href="(/[^"#]*)"', pages[path]):
            queue.append(link.replace("&amp;", "&"))
    return pages


async def report(store: str, config: Path, form: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxy.cli",
        "report",
        f"--store={store}",
        f"--config={config}",
        f"--format={form}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output[-2000:]
    return output.decode()


def leaked(text: str) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in text]


async def test_planted_secrets_appear_in_no_table_log_report_or_page(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    legacy: TestServer = await aiohttp_server(echo_app("legacy"))
    candidate: TestServer = await aiohttp_server(echo_app("candidate"))
    store = f"sqlite:///{tmp_path / 'shadow.db'}"
    config = write_config(
        tmp_path / "proxy.toml", str(legacy.make_url("")), str(candidate.make_url("")), store, REDACT
    )
    async with serve_process(config) as proxy, aiohttp.ClientSession() as session:
        for planted in planted_requests():
            method, url = planted.pop("method"), planted.pop("url")
            async with session.request(method, proxy.proxy + url, **planted) as response:
                assert response.status == 200
                assert SECRETS["authorization"] in await response.text()  # the client path is untouched
        await proxy.event("divergence")
        while not (await _stats(session, proxy.admin))["store"]["examples_written"]:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        pages = await crawl(session, proxy.admin)
        assert await proxy.stop() == 0

    dump = await _dump(store)
    reports = {form: await report(store, config, form) for form in ("md", "json", "html")}
    assert sum(1 for p in pages if p.startswith("/example")) >= 2  # the crawl reached stored examples
    assert "[redacted:" in dump and "divergence" in proxy.text()
    assert leaked(dump) == []
    assert leaked(proxy.text()) == []
    assert {form: leaked(text) for form, text in reports.items()} == {"md": [], "json": [], "html": []}
    assert {path: leaked(page) for path, page in pages.items() if leaked(page)} == {}


async def _stats(session: aiohttp.ClientSession, admin: str) -> dict[str, Any]:
    async with session.get(f"{admin}/stats") as response:
        stats: dict[str, Any] = await response.json()
        return stats


async def _dump(url: str) -> str:
    store = open_store(url, create=False)
    try:
        tables = await store.dump()  # type: ignore[attr-defined]
    finally:
        await store.close()
    return "\n".join(f"{table}: {row!r}" for table, rows in tables.items() for row in rows)
