"""Bearer-token protection of the admin server: required beyond loopback, from SHADOW_ADMIN_TOKEN.

Rules:
- listening on a non-loopback address without a token is refused at start (AdminTokenRequired);
- whenever a token is configured, every request needs it, except the probes (/healthz, /readyz) that
  orchestrators call without credentials: `Authorization: Bearer <token>` (for scripts and Prometheus), or
  the session cookie set by the login form at /login (for browsers, which cannot send a bearer header);
- tokens and cookies are compared in constant time (hmac.compare_digest); the cookie holds an HMAC of the
  token, never the token itself, and is HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from proxy.htmlkit import Markup, esc, join, page, tag

TOKEN_ENV = "SHADOW_ADMIN_TOKEN"
COOKIE = "shadow_admin_session"
LOGIN_PATH = "/login"
OPEN_PATHS: frozenset[str] = frozenset({"/healthz", "/readyz"})


class AdminTokenRequired(Exception):
    """The admin server would listen beyond loopback without a token: refuse to start."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; a wildcard (0.0.0.0, ::, empty) or any other name is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    token = environ.get(TOKEN_ENV, "").strip()
    return token or None


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"shadow-proxy admin session", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def admin_auth_middleware(
    listen_host: str, token: str | None, *, open_paths: frozenset[str] = OPEN_PATHS
) -> Middleware:
    """The middleware for the admin app (see the module docstring); raises AdminTokenRequired."""
    if token is None:
        if not is_loopback(listen_host):
            raise AdminTokenRequired(
                f"the admin server listens on {listen_host}, beyond loopback: set {TOKEN_ENV} to a secret "
                "token (clients send `Authorization: Bearer <token>`), or listen on 127.0.0.1"
            )
        return _open
    return _Guard(token, open_paths)


@web.middleware
async def _open(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await handler(request)


class _Guard:
    """Lets a request through with the bearer token or the session cookie; serves the login form."""

    __middleware_version__ = 1  # aiohttp: a new-style middleware (request, handler)

    def __init__(self, token: str, open_paths: frozenset[str]) -> None:
        self._token = token
        self._session = session_value(token)
        self._open_paths = open_paths

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == LOGIN_PATH:
            return await self._login(request)
        if request.path in self._open_paths or self._authorized(request):
            return await handler(request)
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            raise web.HTTPSeeOther(f"{LOGIN_PATH}?{urlencode({'next': request.path_qs})}")
        return web.json_response(
            {"error": "unauthorized", "detail": f"send Authorization: Bearer <{TOKEN_ENV}>"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="shadow-proxy admin"'},
        )

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), self._token):
            return True
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and _same(cookie, self._session)

    async def _login(self, request: web.Request) -> web.StreamResponse:
        target = _local(request.query.get("next", "/"))
        if request.method != "POST":
            return _login_page(target, "")
        form = await request.post()
        given = form.get("token")
        target = _local(str(form.get("next", target)))
        if not isinstance(given, str) or not _same(given.strip(), self._token):
            return _login_page(target, "That token is not the admin token.", status=401)
        redirect = web.HTTPSeeOther(target)
        redirect.set_cookie(COOKIE, self._session, httponly=True, samesite="Strict", path="/")
        raise redirect


def _local(target: str) -> str:
    """Only a path on this server may follow a login (no open redirect to another site)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _login_page(target: str, error: str, status: int = 200) -> web.Response:
    fields = join(
        [
            tag("h2", "Admin token"),
            tag("p", f"This admin server is protected: enter the value of {TOKEN_ENV}.", class_="muted"),
            tag("div", error, class_="error-box") if error else Markup(""),
            Markup('<input type="password" name="token" autocomplete="current-password" autofocus>'),
            Markup(f'<input type="hidden" name="next" value="{esc(target)}">'),
            tag("button", "Sign in", type="submit"),
        ]
    )
    form = tag("form", fields, method="post", action=LOGIN_PATH, class_="login")
    text = page("shadow-proxy admin", form, heading="shadow-proxy", meta="admin")
    return web.Response(text=text, content_type="text/html", status=status)
