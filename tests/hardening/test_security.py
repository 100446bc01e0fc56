"""Who can reach what: no admin route on the proxy port, the admin token compared in constant time, and a
candidate that never learns the client's credentials under strip_credentials_for_candidate."""

from __future__ import annotations

import hmac
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hardening_support import Received, make_config, serving

from comparators.model import Verdict
from config.model import Config, HostPort, ServerSettings
from proxy import admin_auth
from proxy.admin import build_admin_app
from proxy.app import build_app
from proxy.records import Counter
from proxy.testing import MemoryRecorder

ADMIN_PATHS = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/stats"),
    ("GET", "/metrics"),
    ("GET", "/routes"),
    ("GET", "/audit"),
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/reload"),
    ("POST", "/routes/anything/mode"),
]


async def test_no_admin_route_answers_on_the_proxy_port(legacy: tuple[str, Received]) -> None:
    legacy_url, received = legacy
    async with serving(make_config(legacy_url)) as proxy, aiohttp.ClientSession() as session:
        for method, path in ADMIN_PATHS:
            async with session.request(method, f"{proxy.url}{path}", data=b"{}") as response:
                assert (response.status, response.headers["X-Side"]) == (200, "legacy"), path
                assert await response.json() == {"side": "legacy", "n": 1}
    assert [(r["method"], r["target"]) for r in received.requests] == ADMIN_PATHS


async def test_the_admin_token_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, aiohttp_client: Any
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def recording_compare(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return constant_time(given, expected)

    monkeypatch.setattr(admin_auth.hmac, "compare_digest", recording_compare)
    server = ServerSettings(admin_listen=HostPort("0.0.0.0", 9901))
    proxy_app = build_app(
        Config(legacy="http://127.0.0.1:1", server=server), recorder_factory=MemoryRecorder().factory
    )
    client: TestClient[Any, Any] = await aiohttp_client(
        build_admin_app(proxy_app, token="s3cret-admin-token")
    )
    wrong = await client.get("/stats", headers={"Authorization": "Bearer s3cret-admin-tokeX"})
    right = await client.get("/stats", headers={"Authorization": "Bearer s3cret-admin-token"})
    assert (wrong.status, right.status) == (401, 200)
    assert compared == [(b"s3cret-admin-tokeX", b"s3cret-admin-token"), (b"s3cret-admin-token",) * 2]


def credential_checking_app(received: Received, side: str) -> web.Application:
    """An API answering 401 without a credential and the caller's identity with one (as legacy would)."""

    async def answer(request: web.Request) -> web.Response:
        received.requests.append(
            {"method": request.method, "target": request.raw_path, "headers": list(request.headers.items())}
        )
        who = (
            request.headers.get("Authorization")
            or request.headers.get("X-Api-Key")
            or request.query.get("apikey")
        )
        who = who or request.headers.get("Apikey") or request.headers.get("Proxy-Authorization")
        who = who or request.cookies.get("session")
        if request.path.startswith("/private") and not who:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"path": request.path, "user": who or "anonymous"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


CREDENTIALED = [
    ("/private/a", {"Authorization": "Bearer tok-1"}),
    ("/private/b", {"Cookie": "session=tok-2; theme=dark"}),
    ("/private/c", {"X-Api-Key": "tok-3"}),
    ("/private/d", {"Apikey": "tok-4"}),
    ("/private/e", {"Proxy-Authorization": "Basic dG9rLTU="}),
    ("/private/f?apikey=tok-6&page=2", {}),
]
PUBLIC = ("/public/list?page=1", {"Accept": "application/json"})
CREDENTIAL_HEADERS = {"authorization", "cookie", "x-api-key", "apikey", "proxy-authorization"}


async def _run(strip: bool, aiohttp_server: Any) -> tuple[Received, Received, Any]:
    legacy_seen, candidate_seen = Received(), Received()
    legacy: TestServer = await aiohttp_server(credential_checking_app(legacy_seen, "legacy"))
    candidate: TestServer = await aiohttp_server(credential_checking_app(candidate_seen, "candidate"))
    config = make_config(
        str(legacy.make_url("")).rstrip("/"),
        str(candidate.make_url("")).rstrip("/"),
        shadow={"strip_credentials_for_candidate": strip},
    )
    async with serving(config) as proxy, aiohttp.ClientSession() as session:
        for target, headers in [*CREDENTIALED, PUBLIC]:
            async with session.get(f"{proxy.url}{target}", headers=headers) as response:
                assert response.status == 200  # legacy serves, with the client's credentials
        await proxy.idle()
        return legacy_seen, candidate_seen, proxy.recorder


async def test_the_candidate_never_receives_credentials_and_nothing_false_is_reported(
    aiohttp_server: Any,
) -> None:
    legacy_seen, candidate_seen, recorder = await _run(True, aiohttp_server)
    assert len(legacy_seen.requests) == len(CREDENTIALED) + 1  # legacy sees every request, untouched
    [public] = candidate_seen.requests
    assert public["target"] == PUBLIC[0]
    assert not CREDENTIAL_HEADERS & {name.lower() for name, _ in public["headers"]}
    assert not any("tok-" in f"{r['target']}{r['headers']}" for r in candidate_seen.requests)
    assert [e.comparison.verdict for e in recorder.exchanges] == [Verdict.MATCHED]
    assert recorder.total(Counter.NOT_MIRRORED) == len(CREDENTIALED)
    assert recorder.total(Counter.DIVERGED) == 0


async def test_without_the_option_credentialed_requests_are_mirrored_and_compared(
    aiohttp_server: Any,
) -> None:
    _, candidate_seen, recorder = await _run(False, aiohttp_server)
    assert len(candidate_seen.requests) == len(CREDENTIALED) + 1
    assert {e.comparison.verdict for e in recorder.exchanges} == {Verdict.MATCHED}
    assert recorder.total(Counter.NOT_MIRRORED) == 0
