"""Where shadow work runs: tracked, bounded tasks (ShadowDispatcher), comparisons inline or in workers."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import structlog

from comparators.compare import compare
from comparators.model import Comparison, Observation
from comparators.spec import CompareSpec

log = structlog.get_logger("proxy.shadow")


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
