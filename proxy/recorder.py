"""The store-backed Recorder: counts in memory, buffers redacted examples (bounded), flushes in background.

`record` and `count` return at once and never raise. A background task writes one transaction per flush; when
the store is unreachable the proxy keeps serving, `degraded` turns true, writes are retried with backoff, and
examples wait in a bounded buffer (beyond it they are dropped and counted as `records_dropped`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog

from comparators.model import Verdict
from config.model import Config, StoreSettings
from proxy.records import VERDICT_COUNTERS, Counter, Exchange
from proxy.redact import Redactor
from proxy.store import Store, StoreError, StoreUnavailable, open_store
from proxy.store.base import (
    ORIGIN_CANDIDATE,
    ORIGIN_NOISE,
    Batch,
    Example,
    Signature,
    hour_of,
    minute_of,
)
from proxy.store.examples import FALLBACK_SIGNATURE, ExampleBuilder, signature_hash
from proxy.store.pending import Pending
from proxy.telemetry_logging import divergence_body_fields

REDACT_KEY_ENV = "SHADOW_REDACT_KEY"  # optional HMAC key for redaction hashes (same on every replica)
MAX_BACKOFF = 30.0
DEFAULT_RETENTION_DAYS = 30
PURGE_EVERY = 3600.0
FINAL_FLUSH_TIMEOUT = 10.0
EXAMPLE_VERDICTS = frozenset({Verdict.DIVERGED, Verdict.CANDIDATE_ERROR})
# Enum .value is a Python-level descriptor: read once here, not on every recorded exchange.
_VERDICT_COUNTER_NAMES = {verdict: tuple(c.value for c in cs) for verdict, cs in VERDICT_COUNTERS.items()}
MAX_KNOWN_SIGNATURES = 4096  # (route, paths) -> hash memo; distinct divergences are few in steady state

log = structlog.get_logger("proxy.recorder")
divergence_log = structlog.get_logger("proxy.divergence")


class StoreRecorder:
    """Implements proxy.records.Recorder over a Store; see the module docstring for the failure behaviour."""

    def __init__(
        self,
        store: Store,
        settings: StoreSettings,
        redactor: Redactor,
        instance_id: str,
        *,
        clock: Callable[[], float] = time.time,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        final_flush_timeout: float = FINAL_FLUSH_TIMEOUT,
        log_bodies: bool = False,
    ) -> None:
        self._log_bodies = log_bodies  # config.log_bodies: redacted bodies in each divergence event
        self.store = store
        self.settings = settings
        self.instance_id = instance_id
        self._builder = ExampleBuilder(redactor, settings.max_body_bytes)
        self._clock = clock
        self._retention = retention_days * 86400
        self._final_flush_timeout = final_flush_timeout
        self._pending = Pending()
        self._examples: collections.deque[Example] = collections.deque()
        self._offered: dict[tuple[str, int], int] = {}  # examples this replica offered per (signature, hour)
        self._signatures: dict[tuple[str, Signature], tuple[str, tuple[str, ...]]] = {}
        self._totals: dict[str, collections.Counter[str]] = {}
        self._stats: collections.Counter[str] = collections.Counter()
        self._degraded = False
        self._migrated = False
        self._last_error = ""
        self._last_flush = 0.0
        self._next_purge = 0.0
        self._stopping = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def degraded(self) -> bool:
        """True while the store cannot be written (unreachable or failing); cleared by a successful flush."""
        return self._degraded

    @property
    def buffered(self) -> int:
        return len(self._examples)

    def record(self, exchange: Exchange) -> None:
        try:
            self._record(exchange)
        except Exception:
            self._stats["recorder_errors"] += 1
            log.exception("record_failed", route=getattr(exchange, "route", None))

    def count(self, route: str, counter: Counter, n: int = 1) -> None:
        try:
            self._add(route, minute_of(self._clock()), counter.value, n)
        except Exception:
            self._stats["recorder_errors"] += 1
            log.exception("count_failed", route=route, counter=str(counter))

    def _add(self, route: str, minute: int, name: str, n: int = 1) -> None:
        self._pending.count(route, minute, name, n)
        totals = self._totals.get(route)
        if totals is None:
            totals = self._totals[route] = collections.Counter()
        totals[name] += n

    def _record(self, exchange: Exchange) -> None:
        route, comparison = exchange.route, exchange.comparison
        minute = minute_of(exchange.request.received_at)
        for name in _VERDICT_COUNTER_NAMES[comparison.verdict]:
            self._add(route, minute, name)
        for side, observation in (("legacy", exchange.legacy), ("candidate", exchange.candidate)):
            if not observation.failed:
                self._pending.latency(route, minute, side, observation.elapsed_ms)
        self._record_rules(exchange, minute)
        signature = comparison.signature()
        for path, kind in signature:
            self._pending.difference(route, minute, ORIGIN_CANDIDATE, path, kind)
        noise = exchange.noise
        if noise is not None:
            self._add(route, minute, "noise_compared")
        if noise is not None and noise.verdict is Verdict.DIVERGED:
            self._add(route, minute, "noise")
            for path, kind in noise.signature():
                self._pending.difference(route, minute, ORIGIN_NOISE, path, kind)
        if comparison.verdict in EXAMPLE_VERDICTS:
            self._record_divergence(exchange, minute, signature or FALLBACK_SIGNATURE)

    def _record_rules(self, exchange: Exchange, minute: int) -> None:
        comparison = exchange.comparison
        if comparison.ignored:
            self._add(exchange.route, minute, "ignored")
        for rule in comparison.rules_hit:
            self._pending.rule(exchange.route, minute, rule, hits=1)
        for ignored in comparison.ignored:
            self._pending.rule(exchange.route, minute, ignored.rule, ignored=1)

    def _record_divergence(self, exchange: Exchange, minute: int, paths: Signature) -> None:
        route, at = exchange.route, exchange.request.received_at
        signature, logged_paths = self._signature_of(route, paths)
        hour = hour_of(at)
        self._pending.signature(signature, route, paths, hour, at)
        if exchange.comparison.verdict is Verdict.DIVERGED:
            bodies: dict[str, str] = {}
            if self._log_bodies:
                bodies = divergence_body_fields(self._builder.build(exchange, signature, self.instance_id))
            divergence_log.info(
                "divergence",
                route=route,
                signature=signature,
                paths=list(logged_paths),
                request_id=exchange.request.request_id,
                trace_id=exchange.trace_id or None,
                **bodies,
            )
        if not self._claim_local_slot(signature, hour):
            return
        if len(self._examples) >= self.settings.buffer_size:
            self._drop(route, minute, 1)
            return
        self._examples.append(self._builder.build(exchange, signature, self.instance_id))
        if len(self._examples) >= self.settings.batch_size and not self._degraded:
            self._wake.set()

    def _signature_of(self, route: str, paths: Signature) -> tuple[str, tuple[str, ...]]:
        """The signature's hash and its paths as logged: computed once per distinct divergence, not each."""
        key = (route, paths)
        known = self._signatures.get(key)
        if known is None:
            if len(self._signatures) >= MAX_KNOWN_SIGNATURES:  # many distinct ones: start over, stay bounded
                self._signatures.clear()
            logged = tuple(f"{path} ({kind})" for path, kind in paths)
            known = self._signatures[key] = (signature_hash(route, paths), logged)
        return known

    def _claim_local_slot(self, signature: str, hour: int) -> bool:
        """At most K examples per signature and hour leave this replica (the store bounds all replicas)."""
        key = (signature, hour)
        taken = self._offered.get(key, 0)
        if taken >= self.settings.examples_per_hour:
            return False
        if taken == 0 and len(self._offered) > 4 * self.settings.buffer_size:
            self._offered = {k: v for k, v in self._offered.items() if k[1] >= hour - 3600}
        self._offered[key] = taken + 1
        return True

    def _drop(self, route: str, minute: int, n: int) -> None:
        self._add(route, minute, "records_dropped", n)
        self._stats["records_dropped"] += n

    def snapshot(self) -> dict[str, Any]:
        """JSON for the admin /stats endpoint: counters per route since start, and the store's state."""
        return {
            "instance_id": self.instance_id,
            "degraded": self._degraded,
            "store": {
                "url": self.store.url,
                "degraded": self._degraded,
                "last_error": self._last_error or None,
                "last_flush_at": self._last_flush or None,
                "buffered_examples": len(self._examples),
                "buffer_size": self.settings.buffer_size,
                "pending_rows": len(self._pending),
                **{
                    name: self._stats[name]
                    for name in ("records_dropped", "examples_written", "recorder_errors")
                },
            },
            "routes": {route: dict(sorted(counts.items())) for route, counts in sorted(self._totals.items())},
        }

    async def start(self) -> None:
        """Migrate (a store that is down only makes us degraded) and start the background flusher."""
        try:
            await self._migrate()
        except StoreUnavailable as exc:
            self._fail(exc)
        self._task = asyncio.create_task(self._run(), name="store-flusher")

    async def close(self) -> None:
        """Stop the flusher, write what is left (within final_flush_timeout), close the store."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        try:
            await asyncio.wait_for(self.flush(), self._final_flush_timeout)
        except TimeoutError:
            self._last_error = "final flush timed out"
        if self._examples or len(self._pending):
            log.error(
                "store_flush_lost",
                examples=len(self._examples),
                rows=len(self._pending),
                error=self._last_error,
            )
        await self.store.close()

    async def _run(self) -> None:
        delay = self.settings.flush_interval
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            if self._stopping:
                return
            try:
                written = await self.flush()
                if written:
                    await self._purge_if_due()
            except Exception as exc:  # the flusher must outlive any bug in one flush
                log.exception("flush_crashed")
                self._fail(exc)
                written = False
            delay = self.settings.flush_interval if written else min(MAX_BACKOFF, delay * 2)

    async def flush(self) -> bool:
        """Write everything pending, one batch of examples per transaction; False if the store failed."""
        try:
            await self._migrate()
        except StoreError as exc:
            self._fail(exc)
            return False
        while True:
            examples = tuple(
                self._examples.popleft() for _ in range(min(self.settings.batch_size, len(self._examples)))
            )
            batch = self._pending.take(self.instance_id, examples)
            if batch.is_empty():
                return True
            if not await self._write(batch):
                return False

    async def _write(self, batch: Batch) -> bool:
        try:
            result = await self.store.write(batch, self.settings.examples_per_hour)
        except StoreUnavailable as exc:
            self._pending.restore(batch)
            self._requeue(batch.examples)
            self._fail(exc)
            return False
        except StoreError as exc:
            # The store refused this data: keep the counters for a retry, but give up on its examples so one
            # bad row cannot block every later write.
            self._pending.restore(batch)
            for example in batch.examples:
                self._drop(example.route, minute_of(example.recorded_at), 1)
            self._fail(exc)
            return False
        self._stats["examples_written"] += result.examples_stored
        self._recovered()
        return True

    def _requeue(self, examples: tuple[Example, ...]) -> None:
        """Put unwritten examples back in front; whatever exceeds the bound is dropped (newest first)."""
        self._examples.extendleft(reversed(examples))
        while len(self._examples) > self.settings.buffer_size:
            newest = self._examples.pop()
            self._drop(newest.route, minute_of(newest.recorded_at), 1)

    async def _migrate(self) -> None:
        if not self._migrated:
            await self.store.migrate()
            self._migrated = True

    async def _purge_if_due(self) -> None:
        now = self._clock()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY
        try:
            deleted = await self.store.purge(now - self._retention)
        except StoreError as exc:
            log.warning("store_purge_failed", error=str(exc))
            return
        if deleted:
            log.info("store_purged", rows=deleted, retention_days=self._retention / 86400)

    def _fail(self, exc: BaseException) -> None:
        if not self._degraded:
            log.warning("store_degraded", error=str(exc), store=self.store.url)
        self._degraded = True
        self._last_error = str(exc)

    def _recovered(self) -> None:
        if self._degraded:
            log.info("store_recovered", store=self.store.url)
        self._degraded = False
        self._last_flush = self._clock()


@asynccontextmanager
async def open_recorder(config: Config, instance_id: str) -> AsyncIterator[StoreRecorder]:
    """Open config.store.url, migrate it, run the flusher; on exit flush what is left and close the store.

    A store that is unreachable at start does not stop the proxy (the recorder starts degraded); a store
    that cannot be used at all (bad URL, newer schema) raises StoreError.
    """
    store = open_store(config.store.url)
    redactor = Redactor.from_settings(config.redact, key=os.environ.get(REDACT_KEY_ENV, "").encode())
    recorder = StoreRecorder(
        store,
        config.store,
        redactor,
        instance_id,
        retention_days=config.store.retention_days,
        log_bodies=config.log_bodies,
    )
    try:
        await recorder.start()
    except BaseException:
        await store.close()
        raise
    try:
        yield recorder
    finally:
        await recorder.close()
