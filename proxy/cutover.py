"""The cutover runtime of one proxy: live modes, learned ids, serve counters, the pilot, and config reloads.

Background work (all off the client path, each step guarded so a store outage only delays it):

- every `poll_interval`: follow the modes in the store (switches made on any replica), read ids learned by
  other replicas, write the ids and client-path counters learned here;
- every `pilot_interval`: one AutoPilot pass (automatic promotion and rollback).

A reload builds a new Plan from the new Config and swaps it in with one assignment (requests in flight keep
the plan they started with), then applies the modes the file changed through the audited switch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from config.loader import ConfigError
from config.model import Config
from proxy.autopilot import AutoPilot
from proxy.idmap import IdMap
from proxy.modes import ACTOR_CONFIG, ACTOR_RELOAD, ModeSwitcher, ModeTable
from proxy.plan import LivePlan, Shared, build_plan, restart_only_changes
from proxy.store import Store, StoreError
from proxy.tally import ServeTally

ConfigLoader = Callable[[], Config]
ID_OVERLAP = 60.0  # seconds re-read on each id poll: replicas' clocks and commit order need not agree
FINAL_FLUSH_TIMEOUT = 5.0

log = structlog.get_logger("proxy.cutover")


@dataclass(frozen=True, slots=True)
class CutoverTiming:
    poll_interval: float = 1.0  # how soon a replica follows a switch made elsewhere
    pilot_interval: float = 5.0  # how often automatic decisions are taken
    readiness_interval: float = 60.0  # how often readiness is read from the store for promotion
    startup_timeout: float = 5.0  # how long the start waits on the store for the live modes


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload did: `ok` False keeps the old config (errors say why)."""

    ok: bool
    errors: tuple[str, ...] = ()
    restart_required: tuple[str, ...] = ()
    routes: int = 0
    source: str = ""


class Cutover:
    """Owns the mode table, the switcher, the id map, the serve tally and the pilot of one proxy."""

    def __init__(
        self,
        store: Store,
        instance_id: str,
        live: LivePlan,
        *,
        loader: ConfigLoader | None = None,
        timing: CutoverTiming = CutoverTiming(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.instance_id = instance_id
        self.live = live
        self.timing = timing
        self.table = ModeTable()
        self.ids = IdMap()
        self.tally = ServeTally(clock)
        self.switcher = ModeSwitcher(self.table, store, instance_id, clock)
        self.pilot = AutoPilot(
            live, self.switcher, self.tally, store, clock=clock, readiness_interval=timing.readiness_interval
        )
        self.shared: Shared | None = None  # set once the shadow path exists; reloads build plans with it
        self.store_ok = False
        self._loader = loader
        self._adopted: Config | None = None
        self._id_cursor: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reload_lock = asyncio.Lock()

    @property
    def can_reload(self) -> bool:
        return self._loader is not None

    async def start(self, config: Config) -> None:
        """Load the live modes and learned ids (bounded wait: the proxy serves even if the store is down)."""
        try:
            async with asyncio.timeout(self.timing.startup_timeout):
                await self.store.migrate()
                await self._adopt(config)
                await self._pull_ids()
        except (StoreError, TimeoutError) as exc:
            log.error("cutover_state_unavailable", error=str(exc) or "timeout", using="configured modes")

    def run(self) -> None:
        """Start the background loops (after the first plan is live)."""
        self._spawn(self._every(self.timing.poll_interval, self.sync_once), "cutover-sync")
        self._spawn(self._every(self.timing.pilot_interval, self._pilot_once), "cutover-pilot")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            async with asyncio.timeout(FINAL_FLUSH_TIMEOUT):
                await self._push()
        except (StoreError, TimeoutError) as exc:  # shutting down: say what is lost, never fail the stop
            pending = {"ids": len(self.ids.take_pending()), "counts": len(self.tally.take_counts())}
            log.warning("cutover_final_flush_failed", error=str(exc) or "timeout", **pending)

    async def sync_once(self) -> None:
        """Follow the store (modes, ids from other replicas) and write what this replica learned."""
        try:
            if self._adopted is not self.live.plan.config:
                await self._adopt(self.live.plan.config)
            await self.switcher.follow()
            await self._pull_ids()
            await self._push()
            self._healthy()
        except StoreError as exc:
            if self.store_ok:
                log.warning("cutover_store_unavailable", error=str(exc))
            self.store_ok = False

    async def reload(self) -> ReloadOutcome:
        """Load the config again; valid: swap it in for new requests and apply its mode changes."""
        if self._loader is None:
            return ReloadOutcome(False, ("reload: the proxy was started without a config file to reload",))
        async with self._reload_lock:
            try:
                config = await asyncio.to_thread(self._loader)
            except ConfigError as exc:
                log.error("reload_rejected", source=exc.source, errors=exc.errors)
                return ReloadOutcome(False, tuple(exc.errors), source=exc.source)
            return await self._swap(config)

    async def _swap(self, config: Config) -> ReloadOutcome:
        assert self.shared is not None
        old = self.live.plan.config
        restart = tuple(restart_only_changes(old, config))
        self.live.plan = build_plan(config, self.shared)  # from here on, new requests use the new config
        log.info("reloaded", source=config.source, routes=len(config.routes), restart_required=list(restart))
        try:
            await self.switcher.adopt_config(old, config, ACTOR_RELOAD)
            self._adopted = config
        except StoreError as exc:  # the next sync applies the file's modes once the store answers
            log.error("reload_modes_pending", error=str(exc))
        return ReloadOutcome(True, (), restart, len(config.routes), config.source)

    async def _adopt(self, config: Config) -> None:
        await self.switcher.adopt_config(None, config, ACTOR_CONFIG)
        self._adopted = config
        self._healthy()

    async def _pull_ids(self) -> None:
        since = self._id_cursor - ID_OVERLAP if self._id_cursor is not None else None
        pairs = await self.store.id_pairs(since)
        self.ids.add(pairs)
        if pairs:
            self._id_cursor = max(pair.learned_at for pair in pairs)
        elif self._id_cursor is None:
            self._id_cursor = 0.0

    async def _push(self) -> None:
        pairs = self.ids.take_pending()
        if pairs:
            try:
                await self.store.learn_ids(pairs, self.instance_id)
            except StoreError:
                self.ids.give_back(pairs)
                raise
        counts = self.tally.take_counts()
        if counts:
            try:
                await self.store.add_cutover_counts(counts, self.instance_id)
            except StoreError:
                self.tally.give_back(counts)
                raise

    async def _pilot_once(self) -> None:
        await self.pilot.tick()

    def _healthy(self) -> None:
        if not self.store_ok:
            log.info("cutover_store_available")
        self.store_ok = True

    async def _every(self, interval: float, step: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the loop that keeps replicas in step
                log.exception("cutover_step_failed", step=getattr(step, "__name__", "step"))

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
