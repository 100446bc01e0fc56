"""The shadow path: mirror a request to the candidate (and secondary), compare with legacy, record the result.

Nothing here may reach the client path: the client path only calls `Shadow.admits`, `Shadow.start` and the
returned `LegacyTap`'s non-blocking methods. Everything else runs in tasks owned by the ShadowDispatcher.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import random
import time
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog

from comparators.compare import compare
from comparators.model import Comparison, Observation, TransportError
from comparators.spec import CompareSpec
from config.model import ShadowSettings
from proxy.headers import Header, mirror_request_headers
from proxy.mirror_client import MirrorClient, OutgoingRequest, observe
from proxy.records import Counter, Exchange, Recorder, RequestInfo
from proxy.routing import Route
from proxy.upstream import Upstream

log = structlog.get_logger(__name__)


class ShadowDispatcher:
    """Runs shadow work in named, tracked tasks: bounded in number, counted, and awaited on shutdown."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task[None]] = set()
        self._serial = itertools.count(1)
        self.started = 0
        self.dropped = 0
        self.cancelled = 0

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def try_spawn(self, work: Coroutine[Any, Any, None], label: str) -> bool:
        """Run `work` in a tracked task if there is room; otherwise close it unstarted and return False."""
        if len(self._tasks) >= self.max_in_flight:
            work.close()
            self.dropped += 1
            return False
        task = asyncio.create_task(work, name=f"shadow-{next(self._serial)} {label}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        self.started += 1
        return True

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The work catches its own failures; reaching here is a bug in that handling, never fatal.
            log.error("shadow_task_crashed", task=task.get_name(), exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait until no shadow work is in flight (used by tests and by drain)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def drain(self, deadline: float) -> int:
        """Give in-flight work `deadline` seconds, then cancel the rest; return how many were cancelled."""
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=deadline)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        self.cancelled += len(pending)
        return len(pending)

    def stats(self) -> dict[str, int]:
        return {
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "started": self.started,
            "dropped": self.dropped,
            "cancelled": self.cancelled,
        }


class CompareRunner:
    """Runs compare() inline for small bodies and in a lazily created worker process pool for large ones."""

    def __init__(self, worker_threshold_bytes: int) -> None:
        self._threshold = worker_threshold_bytes
        self._pool: ProcessPoolExecutor | None = None

    async def compare(self, spec: CompareSpec, legacy: Observation, candidate: Observation) -> Comparison:
        if len(legacy.body) <= self._threshold and len(candidate.body) <= self._threshold:
            return compare(spec, legacy, candidate)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), compare, spec, legacy, candidate)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a process that runs an event loop and store threads is unsafe.
            workers = max(1, (os.cpu_count() or 2) // 2)
            self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


class LegacyTap:
    """Collects legacy's answer for the shadow job while it streams to the client; never blocks."""

    __slots__ = ("_chunks", "_future", "_headers", "_limit", "_size", "_started", "_status")

    def __init__(self, limit: int) -> None:
        self._future: asyncio.Future[Observation | None] = asyncio.get_running_loop().create_future()
        self._limit = limit
        self._chunks: list[bytes] | None = []
        self._size = 0
        self._status = 0
        self._headers: tuple[Header, ...] = ()
        self._started = time.perf_counter()

    def response(self, status: int, headers: tuple[Header, ...]) -> None:
        self._status, self._headers = status, headers

    def feed(self, chunk: bytes) -> None:
        """Keep a copy of a body chunk, until the body outgrows the comparison limit."""
        if self._chunks is None:
            return
        self._size += len(chunk)
        if self._size > self._limit:
            self._chunks = None
            self._resolve(self._observation(b"", TransportError.TOO_LARGE, f"over {self._limit} bytes"))
        else:
            self._chunks.append(chunk)

    def finish(self) -> None:
        if self._chunks is not None:
            self._resolve(self._observation(b"".join(self._chunks)))

    def fail(self, error: TransportError, detail: str) -> None:
        self._resolve(self._observation(b"", error, detail))

    def abandon(self) -> None:
        """The client went away before legacy's answer was complete: there is nothing to compare."""
        self._resolve(None)

    async def observation(self) -> Observation | None:
        return await self._future

    def _observation(self, body: bytes, error: TransportError | None = None, detail: str = "") -> Observation:
        elapsed = (time.perf_counter() - self._started) * 1000.0
        if error is not None and error is not TransportError.TOO_LARGE:
            return Observation.transport_error(error, detail, elapsed)
        return Observation(self._status, self._headers, body, error, detail, elapsed)

    def _resolve(self, observation: Observation | None) -> None:
        if not self._future.done():
            self._future.set_result(observation)


@dataclass(frozen=True, slots=True)
class ShadowTargets:
    """Where mirrors go and how: the upstreams, the client that reaches them, and the bounds."""

    candidate: Upstream
    secondary: Upstream | None
    client: MirrorClient
    settings: ShadowSettings
    preserve_host: bool


class Shadow:
    """Decides what is mirrored, starts mirrors, and turns their outcomes into recorded exchanges."""

    def __init__(
        self, targets: ShadowTargets, recorder: Recorder, dispatcher: ShadowDispatcher, runner: CompareRunner
    ) -> None:
        self._targets = targets
        self._settings = targets.settings
        self._recorder = recorder
        self._dispatcher = dispatcher
        self._runner = runner
        self.max_body = targets.settings.max_compare_bytes

    def admits(self, route: Route, method: str) -> bool:
        """Whether this request should be mirrored at all (method and sampling); counts it when not."""
        if route.mirrors(method) and (route.sample_rate >= 1.0 or random.random() < route.sample_rate):
            return True
        self._recorder.count(route.name, Counter.NOT_MIRRORED)
        return False

    def too_large(self, route: Route) -> None:
        self._recorder.count(route.name, Counter.TOO_LARGE)

    def start(
        self, route: Route, info: RequestInfo, forwarded: list[Header], client_host: str | None
    ) -> LegacyTap | None:
        """Start mirroring now, concurrently with legacy; None when over max_in_flight (counted dropped)."""
        tap = LegacyTap(self.max_body)
        work = self._mirror(route, info, forwarded, client_host, tap)
        if self._dispatcher.try_spawn(work, route.name):
            return tap
        self._recorder.count(route.name, Counter.DROPPED)
        return None

    async def _mirror(
        self,
        route: Route,
        info: RequestInfo,
        forwarded: list[Header],
        client_host: str | None,
        tap: LegacyTap,
    ) -> None:
        try:
            await self._compare_and_record(route, info, forwarded, client_host, tap)
        except asyncio.CancelledError:
            self._recorder.count(route.name, Counter.DROPPED)
            raise
        except Exception:
            log.exception("shadow_failure", route=route.name, request_id=info.request_id)
            self._recorder.count(route.name, Counter.SHADOW_FAILURES)

    async def _compare_and_record(
        self,
        route: Route,
        info: RequestInfo,
        forwarded: list[Header],
        client_host: str | None,
        tap: LegacyTap,
    ) -> None:
        outgoing = OutgoingRequest(info.method, info.target, info.body if info.body else None)
        candidate, secondary = await self._observe_all(outgoing, forwarded, client_host)
        legacy = await tap.observation()
        if legacy is None:
            self._recorder.count(route.name, Counter.DROPPED)
            return
        if _too_large(legacy) or _too_large(candidate):
            self._recorder.count(route.name, Counter.TOO_LARGE)
            return
        comparison = await self._runner.compare(route.compare, legacy, candidate)
        noise: Comparison | None = None
        if secondary is not None and not _too_large(secondary):
            noise = await self._runner.compare(route.compare, legacy, secondary)
        exchange = Exchange(route.name, info, legacy, candidate, comparison, secondary, noise)
        self._recorder.record(exchange)

    async def _observe_all(
        self, outgoing: OutgoingRequest, forwarded: list[Header], client_host: str | None
    ) -> tuple[Observation, Observation | None]:
        targets = self._targets
        candidate = self._observe(targets.candidate, outgoing, forwarded, client_host)
        if targets.secondary is None:
            return await candidate, None
        secondary = self._observe(targets.secondary, outgoing, forwarded, client_host)
        both = await asyncio.gather(candidate, secondary)
        return both[0], both[1]

    async def _observe(
        self, upstream: Upstream, outgoing: OutgoingRequest, forwarded: list[Header], client_host: str | None
    ) -> Observation:
        host = client_host if self._targets.preserve_host and client_host else upstream.host
        headers = mirror_request_headers(forwarded, host, self._settings.marker_header)
        return await observe(
            self._targets.client,
            upstream,
            outgoing,
            headers,
            time_limit=self._settings.timeout,
            max_bytes=self.max_body,
        )


def _too_large(observation: Observation) -> bool:
    return observation.error is TransportError.TOO_LARGE
