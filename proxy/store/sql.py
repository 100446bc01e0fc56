"""The SQL shared by both stores: one portable dialect (`$n` parameters, ON CONFLICT, RETURNING) over a Tx."""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from itertools import groupby
from typing import Any, Protocol

from proxy.store import schema
from proxy.store.base import (
    ALL_TIME,
    COUNTER_COLUMNS,
    SIDES,
    Batch,
    DifferenceCount,
    Example,
    InstanceInfo,
    Latency,
    PathTotal,
    RouteBucket,
    RouteMinute,
    RouteTotals,
    RuleCount,
    RuleTotal,
    SchemaTooNew,
    SignatureCount,
    SignatureTotal,
    Window,
    WriteResult,
    bucket_columns,
    hour_of,
    latency_columns,
)
from proxy.store.rows import clean, example_columns, example_from_row, example_to_row, route_minute_values

TABLES = (
    "shadow_route_minute",
    "shadow_diff_minute",
    "shadow_rule_minute",
    "shadow_signatures",
    "shadow_signature_hour",
    "shadow_example_slots",
    "shadow_examples",
)
ALL_TABLES = (schema.VERSION_TABLE, *TABLES)
_MINUTE_COLUMNS = COUNTER_COLUMNS + latency_columns()


class Tx(Protocol):
    """One open transaction; SQL uses `$1`-style parameters in both dialects."""

    async def execute(self, sql: str, *args: Any) -> int: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]: ...


def _upsert(table: str, keys: Sequence[str], added: Sequence[str], extra: str = "") -> str:
    """An INSERT that adds to the existing row on conflict, so increments from replicas add up."""
    columns = (*keys, *added)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in added)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}{extra}"
    )


UPSERT_ROUTE_MINUTE = _upsert("shadow_route_minute", ("route", "minute", "instance_id"), _MINUTE_COLUMNS)
UPSERT_DIFF = _upsert(
    "shadow_diff_minute", ("route", "minute", "instance_id", "origin", "path", "kind"), ("count",)
)
UPSERT_RULE = _upsert("shadow_rule_minute", ("route", "minute", "instance_id", "rule"), ("hits", "ignored"))
UPSERT_SIGNATURE_HOUR = _upsert(
    "shadow_signature_hour", ("signature", "hour", "instance_id", "route"), ("count",)
).replace("ON CONFLICT (signature, hour, instance_id, route)", "ON CONFLICT (signature, hour, instance_id)")
UPSERT_SIGNATURE = (
    "INSERT INTO shadow_signatures (signature, route, paths, summary, first_seen, last_seen, instance_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (signature) DO UPDATE SET last_seen = CASE "
    "WHEN excluded.last_seen > shadow_signatures.last_seen THEN excluded.last_seen "
    "ELSE shadow_signatures.last_seen END"
)
CLAIM_SLOTS = (
    "INSERT INTO shadow_example_slots (signature, hour, offered, instance_id) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (signature, hour) DO UPDATE SET offered = shadow_example_slots.offered + excluded.offered "
    "RETURNING offered"
)
_EXAMPLE_COLUMNS = example_columns()
INSERT_EXAMPLE = (
    f"INSERT INTO shadow_examples ({', '.join(_EXAMPLE_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_EXAMPLE_COLUMNS) + 1))}) ON CONFLICT (id) DO NOTHING"
)


def _sums(columns: Sequence[str], cast: bool) -> str:
    return ", ".join(f"CAST(SUM({c}) AS BIGINT)" if cast else f"SUM({c})" for c in columns)


class SqlStore(abc.ABC):
    """Everything both stores share; subclasses provide connections, transactions and the schema lock."""

    dialect: str

    @property
    @abc.abstractmethod
    def url(self) -> str: ...

    @abc.abstractmethod
    def _transaction(self, write: bool) -> AbstractAsyncContextManager[Tx]: ...

    @abc.abstractmethod
    async def _lock_schema(self, tx: Tx) -> None: ...

    @abc.abstractmethod
    async def _has_version_table(self, tx: Tx) -> bool: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def migrate(self) -> int:
        wanted = schema.migrations(self.dialect)
        async with self._transaction(write=True) as tx:
            await self._lock_schema(tx)
            await tx.execute(schema.CREATE_VERSION_TABLE)
            applied = await self._applied_version(tx)
            if applied > len(wanted):
                raise SchemaTooNew(
                    f"{self.url}: schema version {applied} is newer than this build knows ({len(wanted)})"
                )
            for migration in wanted[applied:]:
                for statement in schema.split_statements(migration.sql):
                    await tx.execute(statement)
                await tx.execute(
                    f"INSERT INTO {schema.VERSION_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    time.time(),
                )
        return len(wanted)

    async def schema_version(self) -> int:
        async with self._transaction(write=False) as tx:
            if not await self._has_version_table(tx):
                return 0
            return await self._applied_version(tx)

    async def _applied_version(self, tx: Tx) -> int:
        rows = await tx.fetch(f"SELECT MAX(version) FROM {schema.VERSION_TABLE}")
        return int(rows[0][0] or 0)

    async def write(self, batch: Batch, examples_per_hour: int) -> WriteResult:
        me = batch.instance_id
        # Rows go in key order so that two replicas' transactions lock rows in the same order (no deadlock).
        minutes = sorted(batch.route_minutes, key=lambda r: (r.route, r.minute))
        diffs = sorted(batch.differences, key=lambda d: (d.route, d.minute, d.origin, d.path, d.kind))
        rules = sorted(batch.rules, key=lambda r: (r.route, r.minute, r.rule))
        signatures = sorted(batch.signatures, key=lambda s: (s.signature, s.hour))
        async with self._transaction(write=True) as tx:
            await tx.executemany(UPSERT_ROUTE_MINUTE, _minute_rows(minutes, me))
            await tx.executemany(UPSERT_DIFF, _diff_rows(diffs, me))
            await tx.executemany(UPSERT_RULE, _rule_rows(rules, me))
            await tx.executemany(UPSERT_SIGNATURE, _signature_rows(signatures, me))
            await tx.executemany(UPSERT_SIGNATURE_HOUR, _signature_hour_rows(signatures, me))
            kept = await self._claim_example_slots(tx, batch, examples_per_hour)
            await tx.executemany(INSERT_EXAMPLE, [example_to_row(e, me) for e in kept])
        return WriteResult(
            examples_stored=len(kept),
            examples_over_limit=len(batch.examples) - len(kept),
            rows={"route_minutes": len(minutes), "differences": len(diffs), "signatures": len(signatures)},
        )

    async def _claim_example_slots(self, tx: Tx, batch: Batch, limit: int) -> list[Example]:
        """Count offered examples per (signature, hour) atomically; keep only the first `limit` overall."""
        kept: list[Example] = []
        ordered = sorted(batch.examples, key=lambda e: (e.signature, e.hour, e.recorded_at))
        for (signature, hour), group in groupby(ordered, key=lambda e: (e.signature, e.hour)):
            offered = list(group)
            rows = await tx.fetch(CLAIM_SLOTS, signature, hour, len(offered), clean(batch.instance_id))
            before = int(rows[0][0]) - len(offered)
            kept += offered[: max(0, min(len(offered), limit - before))]
        return kept

    async def route_totals(self, window: Window = ALL_TIME) -> list[RouteTotals]:
        sql = (
            f"SELECT route, {_sums(COUNTER_COLUMNS, True)}, {_latency_sums()}, MIN(minute), MAX(minute), "
            "COUNT(DISTINCT instance_id) FROM shadow_route_minute WHERE minute >= $1 AND minute < $2 "
            "GROUP BY route ORDER BY route"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, *window.bounds())
        return [_route_totals(row) for row in rows]

    async def route_series(self, window: Window, bucket_seconds: int) -> list[RouteBucket]:
        if bucket_seconds < 60 or bucket_seconds % 60:
            raise ValueError(f"bucket_seconds must be a positive multiple of 60, got {bucket_seconds}")
        sql = (
            f"SELECT route, (minute / $3) * $3 AS bucket, {_sums(COUNTER_COLUMNS, True)}, {_latency_sums()} "
            "FROM shadow_route_minute WHERE minute >= $1 AND minute < $2 "
            "GROUP BY route, bucket ORDER BY route, bucket"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, *window.bounds(), bucket_seconds)
        return [_route_bucket(row) for row in rows]

    async def path_totals(self, window: Window = ALL_TIME) -> list[PathTotal]:
        sql = (
            "SELECT route, origin, path, kind, CAST(SUM(count) AS BIGINT) AS n FROM shadow_diff_minute "
            "WHERE minute >= $1 AND minute < $2 GROUP BY route, origin, path, kind "
            "ORDER BY route, origin, n DESC, path, kind"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, *window.bounds())
        return [PathTotal(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    async def rule_totals(self, window: Window = ALL_TIME) -> list[RuleTotal]:
        sql = (
            "SELECT route, rule, CAST(SUM(hits) AS BIGINT), CAST(SUM(ignored) AS BIGINT) "
            "FROM shadow_rule_minute WHERE minute >= $1 AND minute < $2 "
            "GROUP BY route, rule ORDER BY route, rule"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, *window.bounds())
        return [RuleTotal(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def signature_totals(self, window: Window = ALL_TIME, per_route: int = 10) -> list[SignatureTotal]:
        low, high = window.bounds()
        hours = (hour_of(low) if window.since is not None else low, high)
        counts_sql = (
            "SELECT h.route, h.signature, s.paths, CAST(SUM(h.count) AS BIGINT) AS n, "
            "s.first_seen, s.last_seen "
            "FROM shadow_signature_hour h JOIN shadow_signatures s ON s.signature = h.signature "
            "WHERE h.hour >= $1 AND h.hour < $2 "
            "GROUP BY h.route, h.signature, s.paths, s.first_seen, s.last_seen "
            "ORDER BY h.route, n DESC, h.signature"
        )
        examples_sql = (
            "SELECT signature, COUNT(*) FROM shadow_examples WHERE recorded_at >= $1 AND recorded_at < $2 "
            "GROUP BY signature"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(counts_sql, *hours)
            examples = dict(await tx.fetch(examples_sql, float(low), float(high)))
        totals: list[SignatureTotal] = []
        for _, group in groupby(rows, key=lambda r: r[0]):
            for route, signature, paths, n, first, last in list(group)[:per_route]:
                pairs = tuple((p, k) for p, k in json.loads(paths))
                stored = int(examples.get(signature, 0))
                totals.append(SignatureTotal(route, signature, pairs, int(n), stored, first, last))
        return totals

    async def examples(self, signature: str, limit: int = 10) -> list[Example]:
        sql = (
            f"SELECT {', '.join(_EXAMPLE_COLUMNS)} FROM shadow_examples WHERE signature = $1 "
            "ORDER BY recorded_at DESC, id LIMIT $2"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, signature, limit)
        return [example_from_row(dict(zip(_EXAMPLE_COLUMNS, row, strict=True))) for row in rows]

    async def example(self, example_id: str) -> Example | None:
        sql = f"SELECT {', '.join(_EXAMPLE_COLUMNS)} FROM shadow_examples WHERE id = $1"
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, example_id)
        return example_from_row(dict(zip(_EXAMPLE_COLUMNS, rows[0], strict=True))) if rows else None

    async def instances(self, window: Window = ALL_TIME) -> list[InstanceInfo]:
        sql = (
            "SELECT instance_id, MIN(minute), MAX(minute) FROM shadow_route_minute "
            "WHERE minute >= $1 AND minute < $2 GROUP BY instance_id ORDER BY instance_id"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, *window.bounds())
        return [InstanceInfo(r[0], int(r[1]), int(r[2])) for r in rows]

    async def purge(self, before: float) -> int:
        minute, hour = int(before), hour_of(before)
        statements: list[tuple[str, Any]] = [
            ("DELETE FROM shadow_route_minute WHERE minute < $1", minute),
            ("DELETE FROM shadow_diff_minute WHERE minute < $1", minute),
            ("DELETE FROM shadow_rule_minute WHERE minute < $1", minute),
            ("DELETE FROM shadow_signature_hour WHERE hour < $1", hour),
            ("DELETE FROM shadow_example_slots WHERE hour < $1", hour),
            ("DELETE FROM shadow_examples WHERE recorded_at < $1", float(before)),
            ("DELETE FROM shadow_signatures WHERE last_seen < $1", float(before)),
        ]
        deleted = 0
        async with self._transaction(write=True) as tx:
            for sql, bound in statements:
                deleted += await tx.execute(sql, bound)
        return deleted

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        async with self._transaction(write=False) as tx:
            return {table: await tx.fetch(f"SELECT * FROM {table}") for table in ALL_TABLES}


def _latency_sums() -> str:
    parts: list[str] = []
    for side in SIDES:
        count = f"CAST(SUM({side}_ms_count) AS BIGINT)"
        parts += [f"SUM({side}_ms_sum)", count, _sums(bucket_columns(side), True)]
    return ", ".join(parts)


def _counters(values: Iterator[Any]) -> tuple[dict[str, int], Latency, Latency]:
    """Consume COUNTER_COLUMNS, then each side's latency sum, count and buckets (as _latency_sums)."""
    counts = {name: int(next(values)) for name in COUNTER_COLUMNS}
    sides: list[Latency] = []
    for side in SIDES:
        total, count = float(next(values)), int(next(values))
        sides.append(Latency(total, count, tuple(int(next(values)) for _ in bucket_columns(side))))
    return counts, sides[0], sides[1]


def _route_totals(row: tuple[Any, ...]) -> RouteTotals:
    values = iter(row[1:])
    counts, legacy, candidate = _counters(values)
    first, last, instances = (int(v) for v in values)
    return RouteTotals(row[0], counts, legacy, candidate, first, last, instances)


def _route_bucket(row: tuple[Any, ...]) -> RouteBucket:
    counts, legacy, candidate = _counters(iter(row[2:]))
    return RouteBucket(row[0], int(row[1]), counts, legacy, candidate)


def _first_per_signature(rows: Sequence[SignatureCount]) -> list[SignatureCount]:
    """One row per signature, spanning the earliest first_seen and the latest last_seen of the batch."""
    merged: dict[str, SignatureCount] = {}
    for row in rows:
        seen = merged.get(row.signature)
        if seen is not None:
            first, last = min(seen.first_seen, row.first_seen), max(seen.last_seen, row.last_seen)
            row = replace(seen, first_seen=first, last_seen=last)
        merged[row.signature] = row
    return list(merged.values())


def _minute_rows(rows: Sequence[RouteMinute], me: str) -> list[tuple[Any, ...]]:
    return [(clean(r.route), r.minute, clean(me), *route_minute_values(r)) for r in rows]


def _diff_rows(rows: Sequence[DifferenceCount], me: str) -> list[tuple[Any, ...]]:
    return [
        (clean(d.route), d.minute, clean(me), d.origin, clean(d.path), clean(d.kind), d.count) for d in rows
    ]


def _rule_rows(rows: Sequence[RuleCount], me: str) -> list[tuple[Any, ...]]:
    return [(clean(r.route), r.minute, clean(me), clean(r.rule), r.hits, r.ignored) for r in rows]


def _signature_hour_rows(rows: Sequence[SignatureCount], me: str) -> list[tuple[Any, ...]]:
    return [(s.signature, s.hour, clean(me), clean(s.route), s.count) for s in rows]


def _signature_rows(rows: Sequence[SignatureCount], me: str) -> list[tuple[Any, ...]]:
    result = []
    for s in _first_per_signature(rows):
        paths = json.dumps([list(pair) for pair in s.paths])
        summary = clean(", ".join(f"{path} ({kind})" for path, kind in s.paths))
        result.append((s.signature, clean(s.route), paths, summary, s.first_seen, s.last_seen, clean(me)))
    return result
