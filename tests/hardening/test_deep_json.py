"""Deeply nested JSON, invalid JSON and invalid UTF-8: compared, recorded and stored without a crash.

Python's recursion limit is about 1000 frames and orjson refuses documents deeper than 1024 (and writes no
deeper than 254): every depth around those bounds goes through the comparators, the proxy and the store.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hardening_support import make_config, serving

from comparators.compare import compare
from comparators.model import Observation, Verdict
from config.loader import parse_config
from config.model import Config, RedactSettings, StoreSettings
from proxy.app import RECORDER
from proxy.recorder import StoreRecorder, open_recorder
from proxy.records import Exchange, RequestInfo

JSON = (("Content-Type", "application/json"),)
DEPTHS = (200, 300, 1023, 1025, 5000, 100_000)


def nested(depth: int, leaf: bytes, shape: str) -> bytes:
    if shape == "array":
        return b"[" * depth + leaf + b"]" * depth
    return b'{"a":' * depth + leaf + b"}" * depth


PIPELINES: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "ignore_any_depth": [{"op": "ignore", "paths": ["$..updatedAt"]}],
    "unordered_any_depth": [{"op": "unordered", "path": "$..a"}],
    "empty_equivalent_everywhere": [{"op": "empty_equivalent", "paths": ["$..*"]}],
    "strings_everywhere": [{"op": "strings", "paths": ["$..*"], "trim": True}],
    "tolerance_any_depth": [{"op": "tolerance", "paths": ["$..n"], "absolute": 0.5}],
    "value_map_everywhere": [{"op": "value_map", "paths": ["$..*"], "map": {"yes": True}}],
}


def spec_of(pipeline: list[dict[str, Any]]) -> Any:
    config = parse_config(
        {"upstreams": {"legacy": "http://l"}, "routes": [{"name": "r", "path": "/", "compare": pipeline}]}
    )
    return config.routes[0].compare


@pytest.mark.parametrize("pipeline", list(PIPELINES))
@pytest.mark.parametrize("shape", ["array", "object"])
def test_any_depth_compares_without_raising(pipeline: str, shape: str) -> None:
    spec = spec_of(PIPELINES[pipeline])
    for depth in DEPTHS:
        legacy = Observation(200, JSON, nested(depth, b"1", shape))
        same = compare(spec, legacy, Observation(200, JSON, nested(depth, b"1", shape)))
        other = compare(spec, legacy, Observation(200, JSON, nested(depth, b"2", shape)))
        assert (same.verdict, other.verdict) == (Verdict.MATCHED, Verdict.DIVERGED), depth


@pytest.mark.parametrize(
    ("legacy", "candidate", "verdict"),
    [
        (b'{"a": 1,', b'{"a": 1,', Verdict.MATCHED),  # invalid JSON both sides: bytes, equal
        (b'{"a": 1,', b'{"a": 2,', Verdict.DIVERGED),
        (b'{"name": "caf\xe9"}', b'{"name": "caf\xe9"}', Verdict.MATCHED),  # not UTF-8
        (b'{"name": "caf\xe9"}', b'{"name": "caf\xc3\xa9"}', Verdict.DIVERGED),
        (b"\xff\xfe\x00garbage", b'{"a": 1}', Verdict.DIVERGED),
        (b"", b"null", Verdict.DIVERGED),
    ],
)
def test_invalid_json_and_utf8_are_compared_as_bytes(
    legacy: bytes, candidate: bytes, verdict: Verdict
) -> None:
    for pipeline in PIPELINES.values():
        result = compare(spec_of(pipeline), Observation(200, JSON, legacy), Observation(200, JSON, candidate))
        assert result.verdict is verdict


def fixed(body: bytes) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


@asynccontextmanager
async def deep_pair(aiohttp_server: Any, depth: int) -> AsyncIterator[tuple[str, str, bytes]]:
    legacy_body = b'{"deep": ' + nested(depth, b"1", "object") + b', "password": "hunter2-secret"}'
    candidate_body = b'{"deep": ' + nested(depth, b"2", "array") + b"}"
    legacy: TestServer = await aiohttp_server(fixed(legacy_body))
    candidate: TestServer = await aiohttp_server(fixed(candidate_body))
    yield str(legacy.make_url("")), str(candidate.make_url("")), legacy_body


def stored(config: Config) -> Any:
    return open_recorder(config, "hardening")


@pytest.mark.parametrize("depth", [300, 5000])
async def test_deep_bodies_through_the_proxy_are_answered_compared_and_stored(
    aiohttp_server: Any, tmp_path: Path, depth: int
) -> None:
    async with deep_pair(aiohttp_server, depth) as (legacy, candidate, legacy_body):
        store = StoreSettings(url=f"sqlite:///{tmp_path / 'shadow.db'}", flush_interval=0.05)
        config = make_config(legacy, candidate, store=store)
        async with serving(config, recorder_factory=stored) as proxy, aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.post(f"{proxy.url}/deep", data=b"[" * 5000) as response:
                    assert (response.status, await response.read()) == (200, legacy_body)
                async with session.get(f"{proxy.url}/deep") as response:
                    assert (response.status, await response.read()) == (200, legacy_body)
            await proxy.idle()
            recorder: StoreRecorder = proxy.app[RECORDER].inner
            assert await recorder.flush()
            state = recorder.snapshot()
            assert state["routes"]["GET /deep"]["diverged"] == 3
            assert state["store"]["recorder_errors"] == 0 and state["store"]["examples_written"] >= 1
            assert "shadow_failures" not in state["routes"]["GET /deep"]


SECRET = "hunter2-deep-secret"
DEEP_WITH_SECRETS = {
    "deep_sibling": lambda depth: (
        b'{"deep": ' + nested(depth, b"1", "array") + b', "password": "%s"}' % SECRET.encode()
    ),
    "deep_value_at_the_path": lambda depth: (
        b'{"password": ' + nested(depth, b'"%s"' % SECRET.encode(), "array") + b"}"
    ),
    "deep_tree_under_any_depth": lambda depth: (
        b'{"token": "%s", "a": ' % SECRET.encode()
        + nested(depth, b'{"token": "%s"}' % SECRET.encode(), "object")
        + b"}"
    ),
}


@pytest.mark.parametrize("depth", [200, 300, 990, 1020])
@pytest.mark.parametrize("shape", list(DEEP_WITH_SECRETS))
async def test_a_deep_body_holding_redacted_paths_is_stored_without_its_secret(
    tmp_path: Path, shape: str, depth: int
) -> None:
    store = StoreSettings(url=f"sqlite:///{tmp_path / 'shadow.db'}", flush_interval=3600)
    redact = RedactSettings(body_paths=("$.password", "$..token"))
    config = Config(legacy="http://l", store=store, redact=redact)
    legacy = Observation(200, JSON, DEEP_WITH_SECRETS[shape](depth))
    candidate = Observation(200, JSON, b'{"deep": 2}')
    request = RequestInfo("GET", "/deep", (), b"", "deep-1", time.time())
    exchange = Exchange("GET /deep", request, legacy, candidate, compare(spec_of([]), legacy, candidate))
    async with open_recorder(config, "hardening") as recorder:
        recorder.record(exchange)
        assert await recorder.flush()
        state = recorder.snapshot()["store"]
        assert (state["recorder_errors"], state["examples_written"]) == (0, 1)
        tables = await recorder.store.dump()  # type: ignore[attr-defined]
    assert SECRET not in repr(tables)
