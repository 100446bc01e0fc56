"""Frozen configuration values: what the proxy, the store and the comparators are told at start."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from comparators.noise import NoiseThresholds
from comparators.spec import CompareSpec

SAFE_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})

DEFAULT_REDACTED_HEADERS: frozenset[str] = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "apikey", "proxy-authorization"}
)


class Mode(enum.StrEnum):
    """Who serves a route and who is compared."""

    LEGACY = "legacy"
    SHADOW = "shadow"
    CANDIDATE_PRIMARY = "candidate_primary"
    CANDIDATE = "candidate"


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The client path: where the proxy listens and how patiently it waits on legacy."""

    listen: HostPort = HostPort("0.0.0.0", 8080)
    admin_listen: HostPort = HostPort("127.0.0.1", 9901)
    preserve_host: bool = False
    legacy_connect_timeout: float = 5.0
    legacy_timeout: float = 60.0  # seconds between reads from legacy before a 504
    max_request_body: int = 100 * 1024 * 1024  # larger bodies: 413 (declared or, when chunked, counted)
    drain_timeout: float = 10.0  # SIGTERM: how long client requests may take to finish
    max_request_line: int = 8190  # bytes of the request target; longer: 414
    max_header_size: int = 8190  # bytes of one header field, name and value; larger: 431
    max_headers: int = 128  # header fields per request; more: 431
    header_timeout: float = 75.0  # seconds a connection may go without a complete request head, then closed
    body_timeout: float = 60.0  # seconds a request body may go without sending a byte; then 408
    max_in_flight: int = 1024  # client requests served at once; beyond: 503 (0: no bound)


@dataclass(frozen=True, slots=True)
class ShadowSettings:
    """Bounds on the shadow path: nothing there may grow without limit or touch the client path."""

    max_in_flight: int = 256
    timeout: float = 5.0
    max_compare_bytes: int = 10 * 1024 * 1024
    sample_rate: float = 1.0
    marker_header: str = "X-Shadow-Request"
    worker_threshold_bytes: int = 256 * 1024  # bodies above this are compared in a worker process
    drain_timeout: float = 5.0  # SIGTERM: deadline for shadow work in flight
    strip_credentials_for_candidate: bool = False  # a request carrying credentials is not mirrored
    resample_legacy: float = 0.0  # without a secondary: share of safe requests sent to legacy a second time


@dataclass(frozen=True, slots=True)
class StoreSettings:
    url: str = "sqlite:///shadow.db"
    batch_size: int = 200
    flush_interval: float = 1.0
    buffer_size: int = 10_000
    max_body_bytes: int = 64 * 1024  # bodies kept in a divergence example are truncated to this
    examples_per_hour: int = 5
    retention_days: float = 30.0  # older counters and examples are purged in the background


@dataclass(frozen=True, slots=True)
class RedactSettings:
    headers: frozenset[str] = DEFAULT_REDACTED_HEADERS
    query_params: frozenset[str] = frozenset({"apikey", "api_key", "token", "access_token"})
    body_paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CutoverSettings:
    """When a route may be cut over: the trailing zero-diff window and its bounds (see cutover_section)."""

    window: float = 7 * 86400.0  # seconds of trailing history judged
    min_samples: int = 1000  # comparisons needed in the window
    max_divergence_rate: float = 0.0  # unexplained divergences / comparisons
    max_candidate_error_rate: float = 0.001  # candidate error rate minus legacy's, as a fraction
    max_latency_ratio: float = 1.5  # candidate p95 / legacy p95
    dead_rule_after: int = 1000  # comparisons after which a rule that never acted is reported dead


class Fallback(enum.StrEnum):
    """Who answers in candidate_primary when the candidate fails (transport error, timeout or 5xx)."""

    NONE = "none"  # the candidate's failure is the answer
    LEGACY = "legacy"  # legacy's concurrent answer is served instead (counted)


class Promote(enum.StrEnum):
    MANUAL = "manual"
    AUTO = "auto"  # shadow -> candidate_primary -> candidate, each after a READY cutover window


@dataclass(frozen=True, slots=True)
class RollbackSettings:
    """Automatic rollback: over a sliding window in the current mode, rates above these move one step back."""

    window: float = 300.0  # seconds of the sliding window
    min_samples: int = 20  # requests needed in the window before a rate is trusted
    max_divergence_rate: float = 0.05  # divergences / comparisons (candidate_primary)
    max_candidate_error_rate: float = 0.05  # candidate errors (transport or 5xx) / requests


@dataclass(frozen=True, slots=True)
class IdPaths:
    """Where each side's new resource id is found in a write's response body (the project's path syntax)."""

    legacy: str
    candidate: str


@dataclass(frozen=True, slots=True)
class RouteRule:
    """One configured endpoint: what it matches, how it is mirrored and how it is compared."""

    name: str
    methods: frozenset[str]
    path: str  # pattern with {param} segments, e.g. /v0/mission/{id}
    mode: Mode = Mode.SHADOW
    mirror_writes: bool = False
    sample_rate: float | None = None  # None: the [shadow] default
    compare: CompareSpec = field(default_factory=CompareSpec)
    cutover: CutoverSettings | None = None  # None: the global [cutover] settings
    fallback: Fallback = Fallback.NONE
    promote: Promote = Promote.MANUAL
    rollback: RollbackSettings | None = None  # None: no automatic rollback
    id_paths: IdPaths | None = None  # learn legacy -> candidate ids from mirrored writes
    id_kind: str = "default"  # the id namespace this route learns into and compares through
    rewrite_ids: bool = False  # rewrite known ids in the request path for the other side

    def mirrors(self, method: str) -> bool:
        return method in SAFE_METHODS or self.mirror_writes


class KeyKind(enum.StrEnum):
    """How one part of a reconcile key is compared and ordered on both sides."""

    TEXT = "text"  # ObjectId as lowercase hex, strings as-is, ordered by code point (Postgres COLLATE "C")
    INT = "int"  # integers, ordered numerically


@dataclass(frozen=True, slots=True)
class KeyPart:
    """One part of a reconcile key: a document field and the query column that holds the same value."""

    source: str  # document field, dotted (`_id`, `publisher.id`)
    target: str  # column of the target query's rows
    kind: KeyKind = KeyKind.TEXT
    lowercase: bool = False  # fold case on both sides (Postgres orders by lower(column))


@dataclass(frozen=True, slots=True)
class FieldMap:
    """One compared field: a document path and where the same value sits in the target row."""

    source: str  # path in the project's syntax, `$.a.b`
    target: str  # `$.column` or `$.json_column.key`


@dataclass(frozen=True, slots=True)
class MongoSide:
    """The reconcile source: one MongoDB collection, narrowed by a filter and a projection."""

    uri: str
    database: str
    collection: str
    filter: Mapping[str, Any] = field(default_factory=dict)  # read-only: copied before each query
    projection: Mapping[str, Any] = field(default_factory=dict)
    updated_at: str = ""  # document field compared with --since


@dataclass(frozen=True, slots=True)
class PostgresSide:
    """The reconcile target: a SELECT (or a table) whose rows are read in key order."""

    dsn: str
    query: str  # a SELECT; a `table` in the config becomes `SELECT * FROM table`
    updated_at: str = ""  # column of the query's rows compared with --since


@dataclass(frozen=True, slots=True)
class ReconcileJob:
    """One `[[reconcile]]` job: prove a collection and a query hold the same data."""

    name: str
    mongo: MongoSide
    postgres: PostgresSide
    key: tuple[KeyPart, ...]
    fields: tuple[FieldMap, ...] = ()  # empty: the whole document against the whole row
    compare: CompareSpec = field(default_factory=CompareSpec)
    batch_size: int = 1000
    examples: int = 10  # examples kept per class (missing, extra, different) and per field


@dataclass(frozen=True, slots=True)
class Config:
    """The whole, validated configuration; built once at start and never mutated."""

    legacy: str
    candidate: str | None = None
    secondary: str | None = None
    server: ServerSettings = ServerSettings()
    shadow: ShadowSettings = ShadowSettings()
    store: StoreSettings = StoreSettings()
    redact: RedactSettings = RedactSettings()
    default_compare: CompareSpec = field(default_factory=CompareSpec)
    routes: tuple[RouteRule, ...] = ()
    reconcile: tuple[ReconcileJob, ...] = ()
    instance_id: str = ""
    log_bodies: bool = False
    source: str = ""  # the file it was read from, for reloads and messages
    cutover: CutoverSettings = CutoverSettings()  # global defaults; a route may override them
    noise: NoiseThresholds = field(default_factory=NoiseThresholds)  # when a difference is legacy's own noise
