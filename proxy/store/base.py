"""The store protocol: the rows the recorder writes, the totals reports read, and the store's few errors.

Errors (library exceptions are translated into these where they enter, in the implementations)::

    StoreError            the store cannot do what was asked (bad URL, missing store, failed statement)
     +-- StoreUnavailable the store cannot be reached right now; retrying later may succeed
     +-- SchemaTooNew     the database holds a newer schema than this build knows

Times are unix seconds everywhere: `minute` and `hour` are the start of their bucket.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from proxy.records import Counter

if TYPE_CHECKING:
    from proxy.store.cutover import (
        AuditEntry,
        CutoverCount,
        CutoverTotals,
        IdPair,
        ModeRequest,
        ModeResult,
        RouteModeRow,
    )
    from proxy.store.reconcile_runs import ReconcileRun

SIDES: Final = ("legacy", "candidate")
# Upper bounds (inclusive, ms) of the latency histogram; one more bucket holds everything slower.
LATENCY_BOUNDS_MS: Final = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
EXTRA_COUNTERS: Final = (
    "ignored",  # comparisons where at least one difference was hidden by a rule
    "noise",  # legacy and secondary disagreed: the difference is not the candidate's fault
    "records_dropped",  # divergence examples lost because the recorder buffer was full
    "noise_compared",  # legacy compared with itself (secondary or resample_legacy): noise's denominator
)
COUNTER_COLUMNS: Final = tuple(c.value for c in Counter) + EXTRA_COUNTERS
ORIGIN_CANDIDATE: Final = "candidate"  # legacy vs candidate differences
ORIGIN_NOISE: Final = "noise"  # legacy vs secondary differences


def bucket_columns(side: str) -> tuple[str, ...]:
    """Column names of one side's histogram buckets, e.g. `legacy_ms_le_5` … `legacy_ms_le_inf`."""
    return (*(f"{side}_ms_le_{bound}" for bound in LATENCY_BOUNDS_MS), f"{side}_ms_le_inf")


def latency_columns() -> tuple[str, ...]:
    columns: list[str] = []
    for side in SIDES:
        columns += [f"{side}_ms_sum", f"{side}_ms_count", *bucket_columns(side)]
    return tuple(columns)


def minute_of(timestamp: float) -> int:
    return int(timestamp // 60) * 60


def hour_of(timestamp: float) -> int:
    return int(timestamp // 3600) * 3600


class StoreError(Exception):
    """The store could not do what was asked."""


class StoreUnavailable(StoreError):
    """The store cannot be reached right now; the caller keeps its data and retries."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer shadow-proxy: refuse to write into a schema we do not know."""


@dataclass(frozen=True, slots=True)
class Latency:
    """One side's latency over a bucket: sum and count (for the mean) and a fixed histogram (for p95)."""

    sum_ms: float = 0.0
    count: int = 0
    buckets: tuple[int, ...] = (0,) * (len(LATENCY_BOUNDS_MS) + 1)

    def quantile(self, q: float) -> float | None:
        """Estimate a quantile as the upper bound of the bucket holding it (None without data)."""
        total = sum(self.buckets)
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for bound, n in zip((*LATENCY_BOUNDS_MS, None), self.buckets, strict=True):
            seen += n
            if seen >= rank and n:
                # Beyond the last bound only a lower bound is known: report that bound.
                return float(bound if bound is not None else LATENCY_BOUNDS_MS[-1])
        return None

    @property
    def mean_ms(self) -> float | None:
        return self.sum_ms / self.count if self.count else None


@dataclass(frozen=True, slots=True)
class RouteMinute:
    """Counter increments for one route and minute; `counts` keys are COUNTER_COLUMNS (missing means 0)."""

    route: str
    minute: int
    counts: Mapping[str, int]
    legacy: Latency = Latency()
    candidate: Latency = Latency()


@dataclass(frozen=True, slots=True)
class DifferenceCount:
    """How many exchanges showed one (path, kind) difference in one minute; origin is candidate or noise."""

    route: str
    minute: int
    origin: str
    path: str
    kind: str
    count: int


@dataclass(frozen=True, slots=True)
class RuleCount:
    """How often one comparison rule acted (`hits`) and how many differences it hid (`ignored`)."""

    route: str
    minute: int
    rule: str
    hits: int
    ignored: int


Signature = tuple[tuple[str, str], ...]  # sorted (path, kind) pairs


@dataclass(frozen=True, slots=True)
class SignatureCount:
    """How many divergences shared one signature in one hour (hash plus readable paths)."""

    signature: str
    route: str
    paths: Signature
    hour: int
    count: int
    first_seen: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class Body:
    """A stored body: redacted, truncated, as text (`format` "text") or base64 (`format` "base64")."""

    text: str = ""
    format: str = "text"
    size: int = 0  # the original size in bytes, before truncation

    @property
    def truncated(self) -> bool:
        stored = len(base64.b64decode(self.text)) if self.format == "base64" else len(self.text.encode())
        return stored < self.size


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One side's answer in an example; `error` is set instead of a status for transport failures."""

    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: Body
    error: str | None = None
    elapsed_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Example:
    """One full divergence example, already redacted and truncated; `differences` is a JSON document."""

    id: str
    signature: str
    route: str
    recorded_at: float
    request_id: str
    trace_id: str
    method: str
    target: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: Body
    legacy: StoredResponse
    candidate: StoredResponse
    verdict: str
    differences: str  # JSON: [{"path", "kind", "legacy", "candidate"}]
    instance_id: str = ""  # filled by the store from the batch on write, and read back

    @property
    def hour(self) -> int:
        return hour_of(self.recorded_at)


@dataclass(frozen=True, slots=True)
class Batch:
    """One flush: increments and examples from one instance, written in one transaction."""

    instance_id: str
    route_minutes: tuple[RouteMinute, ...] = ()
    differences: tuple[DifferenceCount, ...] = ()
    rules: tuple[RuleCount, ...] = ()
    signatures: tuple[SignatureCount, ...] = ()
    examples: tuple[Example, ...] = ()

    def is_empty(self) -> bool:
        return not (self.route_minutes or self.differences or self.rules or self.signatures or self.examples)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range [since, until) in unix seconds; None leaves that side open."""

    since: float | None = None
    until: float | None = None

    def bounds(self) -> tuple[int, int]:
        low = int(self.since) if self.since is not None else -(2**62)
        high = int(self.until) if self.until is not None else 2**62
        return low, high


ALL_TIME: Final = Window()


@dataclass(frozen=True, slots=True)
class RouteTotals:
    """All counters of one route summed over instances and minutes in a window."""

    route: str
    counts: Mapping[str, int]
    legacy: Latency
    candidate: Latency
    first_minute: int
    last_minute: int
    instances: int

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)


@dataclass(frozen=True, slots=True)
class RouteBucket:
    """All counters of one route summed over instances in one time bucket [start, start + size)."""

    route: str
    start: int
    counts: Mapping[str, int]
    legacy: Latency
    candidate: Latency

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)


@dataclass(frozen=True, slots=True)
class PathTotal:
    route: str
    origin: str
    path: str
    kind: str
    count: int


@dataclass(frozen=True, slots=True)
class RuleTotal:
    route: str
    rule: str
    hits: int
    ignored: int


@dataclass(frozen=True, slots=True)
class SignatureTotal:
    route: str
    signature: str
    paths: Signature
    count: int
    examples: int
    first_seen: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    instance_id: str
    first_minute: int
    last_minute: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one batch became: examples stored and examples turned away by the per-hour bound."""

    examples_stored: int = 0
    examples_over_limit: int = 0
    rows: Mapping[str, int] = field(default_factory=dict)


class Store(Protocol):
    """Where counters and divergences live; SQLite and PostgreSQL implement it with the same behaviour."""

    dialect: str  # "sqlite" or "postgres": which migrations apply

    @property
    def url(self) -> str:
        """The store's URL with any password masked, for messages."""
        ...

    async def migrate(self) -> int:
        """Create or upgrade the schema (safe when several replicas start at once); returns its version."""
        ...

    async def schema_version(self) -> int:
        """The applied schema version, 0 for an empty database."""
        ...

    async def write(self, batch: Batch, examples_per_hour: int) -> WriteResult:
        """Add a batch's increments and keep at most `examples_per_hour` examples per signature and hour."""
        ...

    async def route_totals(self, window: Window = ALL_TIME) -> list[RouteTotals]: ...

    async def route_series(self, window: Window, bucket_seconds: int) -> list[RouteBucket]:
        """Counters per route and time bucket (a multiple of 60 s), by route then time; no empty buckets."""
        ...

    async def path_totals(self, window: Window = ALL_TIME) -> list[PathTotal]:
        """Difference counts per route, origin, path and kind; most frequent first within a route."""
        ...

    async def rule_totals(self, window: Window = ALL_TIME) -> list[RuleTotal]: ...

    async def signature_totals(self, window: Window = ALL_TIME, per_route: int = 10) -> list[SignatureTotal]:
        """The `per_route` most frequent signatures of each route, most frequent first."""
        ...

    async def examples(self, signature: str, limit: int = 10) -> list[Example]:
        """Stored examples of one signature, newest first."""
        ...

    async def example(self, example_id: str) -> Example | None:
        """One stored example by id, or None."""
        ...

    async def instances(self, window: Window = ALL_TIME) -> list[InstanceInfo]: ...

    async def purge(self, before: float) -> int:
        """Delete everything older than `before` (retention); returns the number of rows deleted."""
        ...

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, for tests and debugging."""
        ...

    async def close(self) -> None: ...

    # Cutover (proxy.store.cutover): live route modes, their audit log, learned ids, client-path counters.

    async def route_modes(self) -> list[RouteModeRow]:
        """The live mode of every route anyone switched (routes without a row run their configured mode)."""
        ...

    async def set_mode(self, request: ModeRequest) -> ModeResult:
        """Compare-and-set a route's mode and write its audit entry in the same transaction."""
        ...

    async def audit(self, window: Window = ALL_TIME, route: str | None = None) -> list[AuditEntry]:
        """Mode changes in a window (all replicas), oldest first."""
        ...

    async def learn_ids(self, pairs: Sequence[IdPair], instance_id: str) -> None:
        """Keep legacy id -> candidate id pairs (a pair learned again replaces the old candidate id)."""
        ...

    async def id_pairs(self, since: float | None = None) -> list[IdPair]:
        """Learned id pairs of every kind, oldest first; `since` keeps those learned at or after it."""
        ...

    async def add_cutover_counts(self, counts: Sequence[CutoverCount], instance_id: str) -> None:
        """Add client-path counters (served, candidate_failures, fallbacks) per route and minute."""
        ...

    async def cutover_totals(self, window: Window = ALL_TIME) -> list[CutoverTotals]:
        """Client-path counters per route summed over replicas and minutes in a window."""
        ...

    # Reconciliation (proxy.store.reconcile_runs): finished `reconcile --store` jobs.

    async def save_reconciliation(self, run: ReconcileRun) -> None:
        """Keep one finished reconcile job (every run is kept; none replaces another)."""
        ...

    async def last_reconciliations(self) -> list[ReconcileRun]:
        """The newest run of every job (by finish time), by job name."""
        ...
