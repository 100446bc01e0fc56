"""The store-backed recorder on real stores: counting, bounded examples, redaction end to end, outages."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest
import structlog
from store_support import (
    JSON,
    T0,
    candidate_error,
    diverged,
    exchange,
    free_port,
    matched,
    request,
    response,
    rows_text,
    value_diff,
    value_divergence,
)

from comparators.model import Comparison, Difference, DiffKind, Ignored, Verdict
from config.model import Config, RedactSettings, StoreSettings
from proxy.recorder import StoreRecorder, open_recorder
from proxy.records import Counter
from proxy.redact import Redactor
from proxy.store import open_store
from proxy.testing import TcpRelay

REDACTOR = Redactor.from_settings(RedactSettings(body_paths=("$.password",)))
# A long flush interval: tests flush explicitly, so nothing depends on timing.
SETTINGS = StoreSettings(
    flush_interval=3600, batch_size=50, buffer_size=20, examples_per_hour=3, max_body_bytes=4096
)


@pytest.fixture
async def recorder(store_url: str) -> AsyncIterator[StoreRecorder]:
    recorder = StoreRecorder(open_store(store_url), SETTINGS, REDACTOR, "replica-a")
    await recorder.start()
    try:
        yield recorder
    finally:
        await recorder.close()


async def test_counters_and_divergences_reach_the_store(recorder: StoreRecorder) -> None:
    for _ in range(7):
        recorder.record(matched())
    for n in range(3):
        recorder.record(value_divergence(path="$.ok" if n < 2 else "$.name", rid=f"r{n}"))
    recorder.record(candidate_error())
    recorder.record(exchange(Comparison(Verdict.LEGACY_ERROR)))
    recorder.count("GET /get", Counter.DROPPED, 2)
    recorder.count("GET /get", Counter.TOO_LARGE)
    assert await recorder.flush()

    [totals] = await recorder.store.route_totals()
    expected = {"compared": 11, "matched": 7, "diverged": 3, "candidate_errors": 1, "legacy_errors": 1}
    assert {k: totals.count(k) for k in expected} == expected
    assert (totals.count("dropped"), totals.count("too_large")) == (2, 1)
    assert totals.legacy.count == 12 and totals.candidate.count == 11  # the failed side has no latency
    paths = [(p.path, p.kind, p.count) for p in await recorder.store.path_totals()]
    assert paths == [("$.ok", "value", 2), ("$.name", "value", 1), ("error", "error", 1)]
    signatures = await recorder.store.signature_totals()
    assert [(s.paths, s.count, s.examples) for s in signatures] == [
        ((("$.ok", "value"),), 2, 2),
        ((("$.name", "value"),), 1, 1),
        ((("error", "error"),), 1, 1),
    ]
    assert recorder.snapshot()["routes"]["GET /get"]["compared"] == 11
    assert not recorder.degraded


async def test_noise_and_rules_are_counted(recorder: StoreRecorder) -> None:
    noise = diverged(value_diff("$.generated_at"))
    hidden = (Ignored("compare[0]:drop", "$.ts", "timestamps differ"),)
    recorder.record(
        exchange(Comparison(Verdict.MATCHED, (), hidden, frozenset({"compare[0]:drop"})), noise=noise)
    )
    recorder.record(exchange(noise=Comparison(Verdict.MATCHED)))  # legacy agreed with itself this time
    recorder.record(exchange())  # no legacy-vs-legacy comparison at all
    assert await recorder.flush()
    [totals] = await recorder.store.route_totals()
    assert (totals.count("noise"), totals.count("ignored"), totals.count("matched")) == (1, 1, 3)
    assert totals.count("noise_compared") == 2  # the denominator of legacy's own difference rate
    assert [(p.origin, p.path) for p in await recorder.store.path_totals()] == [("noise", "$.generated_at")]
    assert [(r.rule, r.hits, r.ignored) for r in await recorder.store.rule_totals()] == [
        ("compare[0]:drop", 1, 1)
    ]


async def test_a_flood_of_identical_divergences_keeps_k_examples(recorder: StoreRecorder) -> None:
    for n in range(500):
        recorder.record(value_divergence(at=T0 + n, rid=f"r{n}"))
        assert recorder.buffered <= SETTINGS.examples_per_hour
    assert await recorder.flush()
    [signature] = await recorder.store.signature_totals()
    assert (signature.count, signature.examples) == (500, SETTINGS.examples_per_hour)
    assert [e.request_id for e in await recorder.store.examples(signature.signature)] == ["r2", "r1", "r0"]


SECRETS = (
    "SECRET-AUTH-123",
    "SECRET-COOKIE-111",
    "SECRET-KEY-222",
    "SECRET-QUERY-456",
    "SECRET-BODY-789",
    "SECRET-COOKIE-000",
    "SECRET-COOKIE-333",
)


def secret_exchange() -> object:
    req = request(
        "/login?token=SECRET-QUERY-456&page=1",
        method="POST",
        headers=(
            ("Authorization", "Bearer SECRET-AUTH-123"),
            ("Cookie", "session=SECRET-COOKIE-111"),
            ("X-Api-Key", "SECRET-KEY-222"),
            ("Content-Type", "application/json"),
        ),
        body=b'{"user": "ann", "password": "SECRET-BODY-789"}',
    )
    echo = orjson.dumps(
        {"headers": {"Authorization": "Bearer SECRET-AUTH-123"}, "args": {"token": "SECRET-QUERY-456"}}
    )
    legacy = response(
        gzip.compress(echo),
        headers=(*JSON, ("Content-Encoding", "gzip"), ("Set-Cookie", "sid=SECRET-COOKIE-000; Path=/")),
    )
    candidate = response(
        b'{"password": "SECRET-BODY-789"}', headers=(*JSON, ("Set-Cookie", "sid=SECRET-COOKIE-333"))
    )
    comparison = diverged(
        Difference(
            "header:set-cookie", DiffKind.HEADER, "sid=SECRET-COOKIE-000; Path=/", "sid=SECRET-COOKIE-333"
        ),
        Difference("$.headers", DiffKind.MISSING, {"Authorization": "Bearer SECRET-AUTH-123"}, None),
        Difference("$.password", DiffKind.EXTRA, None, "SECRET-BODY-789"),
    )
    return exchange(comparison, route="POST /login", req=req, legacy=legacy, candidate=candidate)


async def test_planted_secrets_appear_in_no_table_and_no_log(recorder: StoreRecorder) -> None:
    with structlog.testing.capture_logs() as logs:
        recorder.record(secret_exchange())  # type: ignore[arg-type]
        assert await recorder.flush()
    text = rows_text(await recorder.store.dump()) + repr(logs) + repr(recorder.snapshot())
    assert [s for s in SECRETS if s in text] == []
    [example] = await recorder.store.examples((await recorder.store.signature_totals())[0].signature)
    assert example.target.startswith("/login?token=[redacted:") and example.target.endswith("&page=1")
    assert '"args":{"token":"[redacted:' in example.legacy.body.text  # decoded from gzip, then scrubbed
    assert ("Content-Type", "application/json") in example.request_headers


async def test_each_divergence_is_one_log_line(recorder: StoreRecorder) -> None:
    with structlog.testing.capture_logs() as logs:
        recorder.record(value_divergence(rid="req-42"))
        recorder.record(matched())
        recorder.record(candidate_error())
    [line] = [entry for entry in logs if entry["event"] == "divergence"]
    assert line["route"] == "GET /get" and line["request_id"] == "req-42"
    assert line["paths"] == ["$.ok (value)"] and len(line["signature"]) == 16


async def test_record_and_count_never_raise(recorder: StoreRecorder) -> None:
    recorder.record(object())  # type: ignore[arg-type]
    recorder.count(None, "not a counter")  # type: ignore[arg-type]
    assert recorder.snapshot()["store"]["recorder_errors"] == 2


def through(relay: TcpRelay, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{relay.port}"))


async def test_postgres_outage_buffers_bounded_and_flushes_on_recovery(pg_url: str) -> None:
    upstream = urlsplit(pg_url)
    relay = TcpRelay((upstream.hostname or "127.0.0.1", upstream.port or 5432))
    await relay.start()
    recorder = StoreRecorder(open_store(through(relay, pg_url)), SETTINGS, REDACTOR, "replica-a")
    await recorder.start()
    try:
        recorder.record(matched())
        assert await recorder.flush()
        await relay.cut()
        for n in range(30):  # 30 distinct signatures: more examples than the buffer holds
            recorder.record(value_divergence(path=f"$.field{n}", rid=f"r{n}"))
            recorder.record(matched())
        assert not await recorder.flush()
        assert recorder.degraded and recorder.snapshot()["store"]["degraded"]
        assert recorder.buffered == SETTINGS.buffer_size
        assert recorder.snapshot()["store"]["records_dropped"] == 30 - SETTINGS.buffer_size
        await relay.start()
        assert await recorder.flush()
        assert not recorder.degraded
        [totals] = await recorder.store.route_totals()
        assert (totals.count("compared"), totals.count("diverged")) == (61, 30)
        assert totals.count("records_dropped") == 30 - SETTINGS.buffer_size
        stored = sum(s.examples for s in await recorder.store.signature_totals(per_route=100))
        assert stored == SETTINGS.buffer_size
    finally:
        await recorder.close()
        await relay.cut()


async def test_sqlite_outage_then_recovery(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet"
    recorder = StoreRecorder(open_store(f"sqlite:///{folder}/shadow.db"), SETTINGS, REDACTOR, "replica-a")
    await recorder.start()
    try:
        assert recorder.degraded
        recorder.record(value_divergence())
        assert not await recorder.flush() and recorder.buffered == 1
        folder.mkdir()
        assert await recorder.flush() and not recorder.degraded
        [totals] = await recorder.store.route_totals()
        assert totals.count("diverged") == 1 and recorder.buffered == 0
    finally:
        await recorder.close()


async def test_open_recorder_starts_degraded_and_flushes_in_the_background(tmp_path: Path) -> None:
    dead = Config(
        legacy="http://legacy", store=StoreSettings(url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    )
    async with open_recorder(dead, "replica-a") as recorder:
        assert recorder.degraded
        recorder.record(matched())
    url = f"sqlite:///{tmp_path}/shadow.db"
    live = Config(legacy="http://legacy", store=StoreSettings(url=url, flush_interval=0.01))
    async with open_recorder(live, "replica-b") as recorder:
        recorder.record(matched(at=time.time()))  # recent: the background retention purge keeps it
        while not recorder.snapshot()["store"]["last_flush_at"]:  # noqa: ASYNC110 - polls the flusher's state
            await asyncio.sleep(0.01)
        [totals] = await recorder.store.route_totals()
        assert totals.count("matched") == 1
