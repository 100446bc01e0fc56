"""The shared store suite: every test runs against SQLite and a real PostgreSQL with the same expectations."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from store_support import T0, free_port

from proxy.records import Counter
from proxy.store import StoreError, StoreUnavailable, open_store
from proxy.store.base import (
    COUNTER_COLUMNS,
    Batch,
    Body,
    DifferenceCount,
    Example,
    Latency,
    RouteMinute,
    RuleCount,
    SchemaTooNew,
    SignatureCount,
    Store,
    StoredResponse,
    Window,
    hour_of,
    minute_of,
)
from proxy.store.schema import latest_version
from proxy.store.sql import SqlStore

MINUTE = minute_of(T0)
HOUR = hour_of(T0)
SIG = (("$.ok", "value"),)


def example(n: int = 0, signature: str = "sig1", at: float = T0, route: str = "GET /get") -> Example:
    return Example(
        id=f"ex-{signature}-{n}-{at}",
        signature=signature,
        route=route,
        recorded_at=at + n * 0.001,
        request_id=f"req-{n}",
        trace_id="",
        method="GET",
        target="/get?page=2",
        request_headers=(("accept", "application/json"), ("x-many", "a"), ("x-many", "b")),
        request_body=Body(),
        legacy=StoredResponse(
            200, (("content-type", "application/json"),), Body('{"ok": true}', size=12), None, 3.5
        ),
        candidate=StoredResponse(None, (), Body(), "timeout: 5 s", 5000.0),
        verdict="diverged",
        differences=json.dumps([{"path": "$.ok", "kind": "value", "legacy": True, "candidate": False}]),
    )


def signature_row(signature: str = "sig1", count: int = 1, hour: int = HOUR) -> SignatureCount:
    return SignatureCount(signature, "GET /get", SIG, hour, count, T0, T0 + 1)


def counts(**values: int) -> RouteMinute:
    latency = Latency(30.0, 2, (1, 1) + (0,) * 10)
    return RouteMinute(
        "GET /get", MINUTE, values, latency, Latency(90.0, 2, (0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1))
    )


async def test_round_trip(store: Store) -> None:
    batch = Batch(
        "replica-a",
        route_minutes=(counts(compared=3, matched=2, diverged=1),),
        differences=(DifferenceCount("GET /get", MINUTE, "candidate", "$.ok", "value", 1),),
        rules=(RuleCount("GET /get", MINUTE, "compare[0]:drop", 3, 2),),
        signatures=(signature_row(),),
        examples=(example(),),
    )
    result = await store.write(batch, examples_per_hour=5)
    assert (result.examples_stored, result.examples_over_limit) == (1, 0)

    [totals] = await store.route_totals()
    assert (totals.route, totals.count("compared"), totals.count("matched"), totals.count("diverged")) == (
        "GET /get",
        3,
        2,
        1,
    )
    assert totals.legacy == Latency(30.0, 2, (1, 1) + (0,) * 10)
    assert totals.candidate.quantile(0.5) == 50.0 and totals.candidate.quantile(0.99) == 10000.0
    assert (totals.first_minute, totals.last_minute, totals.instances) == (MINUTE, MINUTE, 1)
    assert [(p.path, p.kind, p.count) for p in await store.path_totals()] == [("$.ok", "value", 1)]
    assert [(r.rule, r.hits, r.ignored) for r in await store.rule_totals()] == [("compare[0]:drop", 3, 2)]
    [signature] = await store.signature_totals()
    assert (signature.signature, signature.paths, signature.count, signature.examples) == ("sig1", SIG, 1, 1)
    [stored] = await store.examples("sig1")
    assert stored == replace(example(), instance_id="replica-a")


async def test_migrations_are_idempotent_and_recorded_once(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    try:
        assert await first.migrate() == latest_version(first.dialect)
        assert await second.migrate() == latest_version(second.dialect)
        assert await first.schema_version() == latest_version(first.dialect)
        versions = [row[0] for row in (await first.dump())["shadow_schema_version"]]
        assert sorted(versions) == list(range(1, latest_version(first.dialect) + 1))
    finally:
        await first.close()
        await second.close()


async def test_concurrent_first_starts_do_not_race(store_url: str) -> None:
    replicas = [open_store(store_url) for _ in range(3)]
    try:
        versions = await asyncio.gather(*(replica.migrate() for replica in replicas))
        assert set(versions) == {latest_version(replicas[0].dialect)}
    finally:
        for replica in replicas:
            await replica.close()


def raw(store: Store) -> SqlStore:
    """Both stores share the SQL layer; tests use its transaction for the few checks the protocol lacks."""
    assert isinstance(store, SqlStore)
    return store


async def test_a_newer_schema_is_refused(store: Store) -> None:
    async with raw(store)._transaction(write=True) as tx:
        sql = "INSERT INTO shadow_schema_version (version, name, applied_at) VALUES ($1, $2, $3)"
        await tx.execute(sql, 999, "future", T0)
    with pytest.raises(SchemaTooNew):
        await store.migrate()


async def test_views_for_bi_tools_sum_all_replicas(store: Store) -> None:
    for replica in ("a", "b"):
        await store.write(Batch(replica, route_minutes=(counts(compared=4, matched=3, diverged=1),)), 5)
    async with raw(store)._transaction(write=False) as tx:
        daily = await tx.fetch(
            "SELECT route, compared, diverged, divergence_rate, instances FROM shadow_route_daily"
        )
        recent = await tx.fetch("SELECT COUNT(*) FROM shadow_divergence_recent")
        differences = await tx.fetch("SELECT COUNT(*) FROM shadow_difference_daily")
    assert [tuple(row) for row in daily] == [("GET /get", 8, 2, 0.25, 2)]
    assert recent[0][0] == 0 and differences[0][0] == 0


async def test_two_instances_add_up(store: Store) -> None:
    for replica in ("replica-a", "replica-b"):
        batch = Batch(
            replica,
            route_minutes=(counts(compared=5, matched=4, diverged=1),),
            differences=(DifferenceCount("GET /get", MINUTE, "candidate", "$.ok", "value", 1),),
            signatures=(signature_row(),),
        )
        await store.write(batch, 5)
    await store.write(Batch("replica-a", route_minutes=(counts(compared=1, matched=1),)), 5)
    [totals] = await store.route_totals()
    assert (
        totals.count("compared"),
        totals.count("matched"),
        totals.count("diverged"),
        totals.instances,
    ) == (
        11,
        9,
        2,
        2,
    )
    assert totals.legacy.count == 6
    assert [(p.path, p.count) for p in await store.path_totals()] == [("$.ok", 2)]
    assert [s.count for s in await store.signature_totals()] == [2]
    assert [i.instance_id for i in await store.instances()] == ["replica-a", "replica-b"]


async def test_examples_are_bounded_per_signature_and_hour_across_replicas(store: Store) -> None:
    for round_ in range(4):
        for replica in ("replica-a", "replica-b"):
            flood = tuple(example(n, at=T0 + round_) for n in range(round_ * 10, round_ * 10 + 10))
            await store.write(Batch(replica, signatures=(signature_row(count=10),), examples=flood), 5)
    next_hour = tuple(example(n, at=T0 + 3600) for n in range(10))
    result = await store.write(
        Batch("replica-a", signatures=(signature_row(count=10, hour=HOUR + 3600),), examples=next_hour), 5
    )
    assert result.examples_stored == 5
    stored = await store.examples("sig1", limit=100)
    assert len(stored) == 10
    assert sorted(hour_of(e.recorded_at) for e in stored) == [HOUR] * 5 + [HOUR + 3600] * 5
    [signature] = await store.signature_totals()
    assert (signature.count, signature.examples) == (90, 10)


async def test_window_and_purge(store: Store) -> None:
    old, new = MINUTE - 86400, MINUTE
    for minute in (old, new):
        row = RouteMinute("GET /get", minute, {"compared": 1, "matched": 1})
        await store.write(Batch("a", route_minutes=(row,), examples=(example(at=float(minute)),)), 5)
    assert [t.count("compared") for t in await store.route_totals(Window(since=new))] == [1]
    assert [t.count("compared") for t in await store.route_totals()] == [2]
    assert await store.purge(before=new) >= 2
    [totals] = await store.route_totals()
    assert totals.first_minute == new and len(await store.examples("sig1")) == 1


async def test_odd_text_is_stored_safely(store: Store) -> None:
    path = "$.k\x00ey['\udcff']"
    batch = Batch(
        "a\x00b",
        route_minutes=(RouteMinute("GET /odd\udcff", MINUTE, {"compared": 1}),),
        differences=(DifferenceCount("GET /odd\udcff", MINUTE, "candidate", path, "value", 1),),
    )
    await store.write(batch, 5)
    [difference] = await store.path_totals()
    assert "\x00" not in difference.path and difference.path.startswith("$.k")


async def test_dump_lists_every_table(store: Store) -> None:
    await store.write(Batch("a", route_minutes=(counts(compared=1),)), 5)
    dump = await store.dump()
    assert set(dump) >= {
        "shadow_route_minute",
        "shadow_examples",
        "shadow_signatures",
        "shadow_schema_version",
    }
    assert len(dump["shadow_route_minute"]) == 1


def test_every_counter_has_a_column() -> None:
    assert {c.value for c in Counter} <= set(COUNTER_COLUMNS)


@pytest.mark.parametrize(
    "url",
    ["mysql://x", "sqlite:///", "http://localhost"],
)
def test_unknown_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreError):
        open_store(url)


async def test_a_missing_sqlite_file_is_not_created_for_readers(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/absent.db", create=False)
    with pytest.raises(StoreError, match="no store"):
        await store.schema_version()
    await store.close()


async def test_a_dead_postgres_is_unavailable() -> None:
    store = open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    with pytest.raises(StoreUnavailable):
        await store.migrate()
    await store.close()


async def test_route_series_sums_replicas_per_bucket(store: Store) -> None:
    def minute_row(minute: int, compared: int, route: str = "GET /get") -> RouteMinute:
        latency = Latency(10.0 * compared, compared, (0, compared) + (0,) * 10)
        return RouteMinute(route, minute, {"compared": compared, "diverged": 1}, latency, latency)

    # Buckets are aligned on multiples of their size since the epoch: HOUR is aligned for any divisor of 3600.
    rows = (minute_row(HOUR, 1), minute_row(HOUR + 60, 2), minute_row(HOUR + 300, 4))
    await store.write(Batch("a", route_minutes=(*rows, minute_row(HOUR, 8, "GET /b"))), 5)
    await store.write(Batch("b", route_minutes=(minute_row(HOUR + 60, 16),)), 5)

    series = await store.route_series(Window(HOUR, HOUR + 3600), 300)
    assert [(b.route, b.start - HOUR, b.count("compared"), b.count("diverged")) for b in series] == [
        ("GET /b", 0, 8, 1),
        ("GET /get", 0, 19, 3),
        ("GET /get", 300, 4, 1),
    ]
    assert series[1].legacy.count == 19 and series[1].candidate.buckets[1] == 19
    later = await store.route_series(Window(HOUR + 60, HOUR + 300), 60)
    assert [(b.route, b.start - HOUR, b.count("compared")) for b in later] == [("GET /get", 60, 18)]
    with pytest.raises(ValueError):
        await store.route_series(Window(), 90)


async def test_one_example_by_id(store: Store) -> None:
    await store.write(Batch("replica-a", examples=(example(1), example(2))), 5)
    wanted = example(2)
    assert await store.example(wanted.id) == replace(wanted, instance_id="replica-a")
    assert await store.example("no-such-id") is None
