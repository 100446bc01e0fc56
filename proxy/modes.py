"""Who serves each route now: the live mode table (one dict read per request), switching, following the store.

The store holds the truth: a switch is a compare-and-set there (with its audit entry), then applied to this
replica's table at once; other replicas pick it up on their next poll (`ModeSwitcher.follow`). A route
without a row in the store runs the mode its config names. A config file that names a different mode than
the one recorded with the row (`config_mode`) is an operator's decision: at start and on reload it is
applied like any switch (actor `config` or `reload`), so editing the file and reloading is a way to switch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from config.model import Config, Mode, RouteRule
from config.route_cutover_section import CANDIDATE_MODES
from proxy.routing import Route
from proxy.store import Store
from proxy.store.cutover import ModeRequest, ModeResult, RouteModeRow

ACTOR_CONFIG = "config"
ACTOR_RELOAD = "reload"
ACTOR_PROMOTE = "auto-promote"
ACTOR_ROLLBACK = "auto-rollback"
MAX_REASON = 500

log = structlog.get_logger("proxy.modes")


class SwitchRejected(Exception):
    """A switch request that cannot be applied as asked: `status` 404 (no such route) or 400 (invalid)."""

    def __init__(self, status: int, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = errors


@dataclass(frozen=True, slots=True)
class LiveMode:
    """A route's live mode as recorded in the store: since when, set by whom."""

    mode: Mode
    since: float
    actor: str


class ModeTable:
    """Live modes of the routes anyone switched; `current` is replaced whole, so readers see one dict."""

    __slots__ = ("current", "details", "generation")

    def __init__(self) -> None:
        self.current: dict[str, Mode] = {}
        self.details: dict[str, LiveMode] = {}
        self.generation = 0  # counts local changes, so rows read before one are never applied after it

    def mode_of(self, route: Route) -> Mode:
        return self.current.get(route.name, route.mode)

    def since(self, name: str) -> float | None:
        live = self.details.get(name)
        return live.since if live is not None else None

    def follow(self, rows: list[RouteModeRow]) -> list[tuple[str, Mode | None, Mode]]:
        """Adopt the store's rows; returns (route, before, after) for every mode that changed here."""
        details: dict[str, LiveMode] = {}
        for row in rows:
            try:
                details[row.route] = LiveMode(Mode(row.mode), row.updated_at, row.actor)
            except ValueError:
                log.warning("unknown_mode_in_store", route=row.route, mode=row.mode)
        before = self.current
        self.details = details
        self.current = {name: live.mode for name, live in details.items()}
        return [
            (name, before.get(name), mode) for name, mode in self.current.items() if before.get(name) != mode
        ]

    def set(self, name: str, mode: Mode, since: float, actor: str) -> None:
        self.details = {**self.details, name: LiveMode(mode, since, actor)}
        self.current = {**self.current, name: mode}
        self.generation += 1


def parse_switch(config: Config, name: str, mode: Any, reason: Any) -> tuple[RouteRule, Mode, str]:
    """Validate a switch request against the config: the route, the mode and the reason, every error named."""
    rule = next((r for r in config.routes if r.name == name), None)
    if rule is None:
        known = ", ".join(r.name for r in config.routes) or "none configured"
        raise SwitchRejected(404, [f"route: no configured route named {name!r} (routes: {known})"])
    errors: list[str] = []
    target: Mode | None = None
    if not isinstance(mode, str):
        errors.append(f"mode: required, one of {', '.join(m.value for m in Mode)}")
    else:
        try:
            target = Mode(mode)
        except ValueError:
            errors.append(f"mode: expected one of {', '.join(m.value for m in Mode)}, got {mode!r}")
    if target in CANDIDATE_MODES and config.candidate is None:
        errors.append(f"mode: {mode} needs a candidate upstream, and none is configured")
    if not isinstance(reason, str) or not reason.strip():
        errors.append("reason: required, a short text saying why (it goes to the audit log)")
    elif len(reason) > MAX_REASON:
        errors.append(f"reason: at most {MAX_REASON} characters, got {len(reason)}")
    if errors or target is None:
        raise SwitchRejected(400, errors)
    return rule, target, str(reason).strip()


class ModeSwitcher:
    """Applies mode changes through the store (audited) and keeps this replica's table in step with it."""

    def __init__(
        self, table: ModeTable, store: Store, instance_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.table = table
        self.store = store
        self.instance_id = instance_id
        self._clock = clock

    def mode_of(self, rule: RouteRule) -> Mode:
        return self.table.current.get(rule.name, rule.mode)

    async def switch(
        self,
        rule: RouteRule,
        to: Mode,
        *,
        actor: str,
        reason: str,
        expected: Mode | None = None,
        assumed: Mode | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> ModeResult:
        """Compare-and-set in the store, then here. Raises StoreError when the store cannot be written."""
        request = ModeRequest(
            route=rule.name,
            to=to.value,
            actor=actor,
            reason=reason,
            instance_id=self.instance_id,
            at=self._clock(),
            assumed=(assumed or rule.mode).value,
            config_mode=rule.mode.value,
            expected=expected.value if expected is not None else None,
            details=dict(details or {}),
        )
        result = await self.store.set_mode(request)
        if result.entry is not None:
            self.table.set(rule.name, to, result.entry.at, actor)
            _log_change(result, details or {})
        return result

    async def follow(self) -> None:
        """Read every route's live mode from the store (changes made by any replica); StoreError escapes."""
        generation = self.table.generation
        rows = await self.store.route_modes()
        if self.table.generation != generation:
            return  # a switch landed here while reading: these rows may predate it; the next poll applies
        for route, before, after in self.table.follow(rows):
            log.info("mode_followed", route=route, before=before, mode=after)

    async def adopt_config(self, old: Config | None, new: Config, actor: str) -> None:
        """Apply the modes a config file changed (at start: `old` is None); every change is audited."""
        rows = {row.route: row for row in await self.store.route_modes()}
        previous = {rule.name: rule for rule in old.routes} if old is not None else {}
        for rule in new.routes:
            row = rows.get(rule.name)
            if row is not None and row.config_mode != rule.mode.value:
                live = _mode_or_none(row.mode)
                reason = f"the config now names {rule.mode.value} (it named {row.config_mode})"
                await self.switch(rule, rule.mode, actor=actor, reason=reason, expected=live)
            elif row is None and rule.name in previous and previous[rule.name].mode is not rule.mode:
                was = previous[rule.name].mode
                reason = f"the config now names {rule.mode.value} (it named {was.value})"
                await self.switch(rule, rule.mode, actor=actor, reason=reason, expected=was, assumed=was)
        await self.follow()


def _mode_or_none(text: str) -> Mode | None:
    try:
        return Mode(text)
    except ValueError:
        return None


def _log_change(result: ModeResult, details: Mapping[str, Any]) -> None:
    entry = result.entry
    assert entry is not None
    fields = {
        "route": entry.route,
        "from_mode": entry.from_mode,
        "to_mode": entry.to_mode,
        "actor": entry.actor,
        "reason": entry.reason,
        **{f"n_{key}": value for key, value in details.items()},
    }
    if entry.actor == ACTOR_ROLLBACK:
        log.error("mode_rolled_back", **fields)
    else:
        log.info("mode_changed", **fields)
