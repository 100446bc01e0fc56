"""The store's cutover tables: live route modes, their audit log, learned id pairs and client-path counters.

`CutoverSqlStore` adds the queries to the shared SQL layer (over the reconciliation runs, see
proxy/store/reconcile_runs.py); both the SQLite and the PostgreSQL store derive from it. A mode change is a
compare-and-set inside one transaction (the row's current mode is read, the update only applies if it is
still that mode, and the audit row is written with it), so replicas that decide the same change at the same
time apply it once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from proxy.store.base import ALL_TIME, Window, minute_of
from proxy.store.reconcile_runs import ReconcileSqlStore
from proxy.store.rows import clean
from proxy.store.sql import Tx

CUTOVER_TABLES = ("shadow_route_mode", "shadow_mode_audit", "shadow_id_map", "shadow_cutover_minute")
CUTOVER_COUNTERS = ("served", "candidate_failures", "fallbacks")


@dataclass(frozen=True, slots=True)
class RouteModeRow:
    """The live mode of one route and who set it when; `config_mode` is the configured mode at that time."""

    route: str
    mode: str
    config_mode: str
    updated_at: float
    actor: str
    instance_id: str


@dataclass(frozen=True, slots=True)
class ModeRequest:
    """Switch `route` to `to`. Without a row its current mode is `assumed` (its configured mode)."""

    route: str
    to: str
    actor: str
    reason: str
    instance_id: str
    at: float
    assumed: str
    config_mode: str
    expected: str | None = None  # apply only if the current mode is this one (automatic decisions)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One mode change; `details` holds the numbers behind an automatic decision."""

    id: str
    at: float
    route: str
    from_mode: str
    to_mode: str
    actor: str
    reason: str
    instance_id: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModeResult:
    """What a ModeRequest did: the mode now current, and the audit entry when it changed anything."""

    current: str
    entry: AuditEntry | None = None

    @property
    def changed(self) -> bool:
        return self.entry is not None


@dataclass(frozen=True, slots=True)
class IdPair:
    """One resource's id on each side, learned from the answers to a mirrored write."""

    kind: str
    legacy_id: str
    candidate_id: str
    learned_at: float
    route: str = ""


@dataclass(frozen=True, slots=True)
class CutoverCount:
    """Client-path counter increments of one route and minute (keys: CUTOVER_COUNTERS)."""

    route: str
    minute: int
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class CutoverTotals:
    route: str
    served: int
    candidate_failures: int
    fallbacks: int


_MODE_COLUMNS = "route, mode, config_mode, updated_at, actor, instance_id"
_AUDIT_COLUMNS = "id, at, route, from_mode, to_mode, actor, reason, instance_id, details"
UPSERT_MODE = (
    f"INSERT INTO shadow_route_mode ({_MODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (route) DO UPDATE SET mode = excluded.mode, config_mode = excluded.config_mode, "
    "updated_at = excluded.updated_at, actor = excluded.actor, instance_id = excluded.instance_id "
    "WHERE shadow_route_mode.mode = $7"
)
INSERT_AUDIT = f"INSERT INTO shadow_mode_audit ({_AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
UPSERT_ID = (
    "INSERT INTO shadow_id_map (kind, legacy_id, candidate_id, learned_at, route, instance_id) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, legacy_id) DO UPDATE SET "
    "candidate_id = excluded.candidate_id, learned_at = excluded.learned_at, route = excluded.route, "
    "instance_id = excluded.instance_id"
)
UPSERT_COUNTS = (
    f"INSERT INTO shadow_cutover_minute (route, minute, instance_id, {', '.join(CUTOVER_COUNTERS)}) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (route, minute, instance_id) DO UPDATE SET "
    + ", ".join(f"{c} = shadow_cutover_minute.{c} + excluded.{c}" for c in CUTOVER_COUNTERS)
)


class CutoverSqlStore(ReconcileSqlStore):
    """SqlStore plus the cutover tables (see the module docstring)."""

    async def route_modes(self) -> list[RouteModeRow]:
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(f"SELECT {_MODE_COLUMNS} FROM shadow_route_mode ORDER BY route")
        return [RouteModeRow(r[0], r[1], r[2], float(r[3]), r[4], r[5]) for r in rows]

    async def set_mode(self, request: ModeRequest) -> ModeResult:
        async with self._transaction(write=True) as tx:
            return await _set_mode(tx, request)

    async def audit(self, window: Window = ALL_TIME, route: str | None = None) -> list[AuditEntry]:
        low, high = window.bounds()
        sql = f"SELECT {_AUDIT_COLUMNS} FROM shadow_mode_audit WHERE at >= $1 AND at < $2"
        args: list[Any] = [float(low), float(high)]
        if route is not None:
            sql += " AND route = $3"
            args.append(route)
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql + " ORDER BY at, id", *args)
        return [_audit_entry(row) for row in rows]

    async def learn_ids(self, pairs: Sequence[IdPair], instance_id: str) -> None:
        ordered = sorted(pairs, key=lambda p: (p.kind, p.legacy_id))  # one lock order for every replica
        rows = [
            (*_id_key(p), clean(p.candidate_id), p.learned_at, clean(p.route), instance_id) for p in ordered
        ]
        async with self._transaction(write=True) as tx:
            await tx.executemany(UPSERT_ID, rows)

    async def id_pairs(self, since: float | None = None) -> list[IdPair]:
        """Learned pairs (all kinds), oldest first; `since` keeps those learned at or after it."""
        sql = "SELECT kind, legacy_id, candidate_id, learned_at, route FROM shadow_id_map "
        sql += "WHERE learned_at >= $1"
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql + " ORDER BY learned_at, kind, legacy_id", since or 0.0)
        return [IdPair(r[0], r[1], r[2], float(r[3]), r[4]) for r in rows]

    async def add_cutover_counts(self, counts: Sequence[CutoverCount], instance_id: str) -> None:
        rows = [
            (clean(c.route), c.minute, instance_id, *(int(c.counts.get(n, 0)) for n in CUTOVER_COUNTERS))
            for c in sorted(counts, key=lambda c: (c.route, c.minute))
        ]
        async with self._transaction(write=True) as tx:
            await tx.executemany(UPSERT_COUNTS, rows)

    async def cutover_totals(self, window: Window = ALL_TIME) -> list[CutoverTotals]:
        sums = ", ".join(f"CAST(SUM({c}) AS BIGINT)" for c in CUTOVER_COUNTERS)
        sql = (
            f"SELECT route, {sums} FROM shadow_cutover_minute WHERE minute >= $1 AND minute < $2 "
            "GROUP BY route ORDER BY route"
        )
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(sql, *window.bounds())
        return [CutoverTotals(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def purge(self, before: float) -> int:
        """Retention also drops old client-path counters; the audit log and learned ids are kept."""
        deleted = await super().purge(before)
        async with self._transaction(write=True) as tx:
            sql = "DELETE FROM shadow_cutover_minute WHERE minute < $1"
            deleted += await tx.execute(sql, minute_of(before))
        return deleted

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = await super().dump()
        async with self._transaction(write=False) as tx:
            for table in CUTOVER_TABLES:
                tables[table] = await tx.fetch(f"SELECT * FROM {table}")
        return tables


async def _set_mode(tx: Tx, request: ModeRequest) -> ModeResult:
    rows = await tx.fetch("SELECT mode FROM shadow_route_mode WHERE route = $1", request.route)
    current = rows[0][0] if rows else request.assumed
    if (request.expected is not None and current != request.expected) or current == request.to:
        return ModeResult(current)
    changed = await tx.execute(
        UPSERT_MODE,
        request.route,
        request.to,
        request.config_mode,
        request.at,
        clean(request.actor),
        request.instance_id,
        current,
    )
    if not changed:  # another replica changed it between our read and our write: theirs stands
        rows = await tx.fetch("SELECT mode FROM shadow_route_mode WHERE route = $1", request.route)
        return ModeResult(rows[0][0] if rows else current)
    entry = AuditEntry(
        id=secrets.token_hex(8),
        at=request.at,
        route=request.route,
        from_mode=current,
        to_mode=request.to,
        actor=request.actor,
        reason=request.reason,
        instance_id=request.instance_id,
        details=dict(request.details),
    )
    await tx.execute(INSERT_AUDIT, *_audit_row(entry))
    return ModeResult(request.to, entry)


def _id_key(pair: IdPair) -> tuple[str, str]:
    return clean(pair.kind), clean(pair.legacy_id)


def _audit_row(entry: AuditEntry) -> tuple[Any, ...]:
    details = json.dumps(entry.details, sort_keys=True, default=str)
    return (
        entry.id,
        entry.at,
        clean(entry.route),
        entry.from_mode,
        entry.to_mode,
        clean(entry.actor),
        clean(entry.reason),
        clean(entry.instance_id),
        clean(details),
    )


def _audit_entry(row: tuple[Any, ...]) -> AuditEntry:
    details = json.loads(row[8]) if row[8] else {}
    return AuditEntry(row[0], float(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], details)
