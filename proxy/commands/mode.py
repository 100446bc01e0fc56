"""`shadow-proxy mode`: switch a route's mode through the admin API, or list the routes and their modes.

    shadow-proxy mode                                     # list: route, mode, since, by whom, readiness
    shadow-proxy mode ROUTE MODE --reason "…"             # switch (every replica follows within seconds)

Exit codes: 0 done; 1 refused (unknown route or mode, missing reason, no candidate); 2 the admin server could
not be reached, refused the token, or its store is unavailable.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import time
from typing import Any

import aiohttp
import orjson

from proxy.admin_auth import TOKEN_ENV, token_from_env

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2
DEFAULT_ADMIN = "http://127.0.0.1:9901"
TIMEOUT = 30.0


def run_mode(
    route: str | None,
    mode: str | None,
    reason: str | None,
    admin_url: str = DEFAULT_ADMIN,
    token: str | None = None,
    actor: str | None = None,
) -> int:
    """Switch `route` to `mode` (both given) or list the routes (neither); prints what happened."""
    if (route is None) != (mode is None):
        print("mode: give both ROUTE and MODE to switch, or neither to list", file=sys.stderr)
        return EXIT_REFUSED
    headers = _headers(token or token_from_env())
    base = admin_url.rstrip("/")
    try:
        if route is None or mode is None:
            status, body = asyncio.run(_call("GET", f"{base}/routes", headers, None))
            return _print_routes(status, body)
        payload = {"mode": mode, "reason": reason or "", "actor": actor or _user()}
        status, body = asyncio.run(_call("POST", f"{base}/routes/{route}/mode", headers, payload))
        return _print_switch(status, body)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        print(f"mode: cannot reach the admin server at {base}: {exc or type(exc).__name__}", file=sys.stderr)
        return EXIT_ERROR


async def _call(
    method: str, url: str, headers: dict[str, str], payload: dict[str, Any] | None
) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        data = orjson.dumps(payload) if payload is not None else None
        async with session.request(method, url, headers=headers, data=data) as response:
            raw = await response.read()
            try:
                return response.status, orjson.loads(raw)
            except orjson.JSONDecodeError:
                return response.status, {"errors": [raw.decode("utf-8", "replace")[:200]]}


def _print_switch(status: int, body: Any) -> int:
    if status == 200 and isinstance(body, dict):
        if body.get("changed"):
            print(f"{body['route']}: {body['from']} -> {body['mode']} (audited; every replica follows)")
        else:
            print(f"{body['route']}: already {body['mode']}, nothing changed")
        return EXIT_OK
    for error in _errors(body):
        print(f"mode: {error}", file=sys.stderr)
    if status == 401:
        print(f"mode: the admin server wants a token: set {TOKEN_ENV} or pass --token", file=sys.stderr)
    return EXIT_REFUSED if status in (400, 404, 409) else EXIT_ERROR


def _print_routes(status: int, body: Any) -> int:
    if status != 200 or not isinstance(body, dict):
        for error in _errors(body):
            print(f"mode: {error}", file=sys.stderr)
        return EXIT_ERROR
    rows = [("ROUTE", "MODE", "SINCE", "BY", "READINESS")]
    for route in body.get("routes", []):
        readiness = (route.get("readiness") or {}).get("verdict", "-")
        since = route.get("since")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "(config)"
        rows.append((route["name"], route["mode"], when, route.get("actor") or "-", readiness))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if body.get("readiness_error"):
        print(f"({body['readiness_error']})", file=sys.stderr)
    return EXIT_OK


def _errors(body: Any) -> list[str]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [str(e) for e in body["errors"]]
    return [f"unexpected answer: {str(body)[:200]}"]


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
