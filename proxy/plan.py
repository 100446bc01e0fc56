"""A Plan: everything the client path derives from one Config, swapped whole on reload by one assignment.

A request reads `LivePlan.plan` once when it starts and keeps that plan to the end, so a reload never changes
the rules under a request in flight. What cannot change without a restart (listening sockets, the store, the
shadow concurrency bound, the worker pool) is named by `restart_only_changes` and keeps its startup value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp

from config.model import Config
from proxy.idmap import IdMap
from proxy.mirror_client import MirrorClient
from proxy.records import Recorder
from proxy.routing import Router
from proxy.shadow import Shadow, ShadowTargets
from proxy.tally import ServeTally
from proxy.telemetry import Telemetry
from proxy.upstream import Upstream
from proxy.workers import CompareRunner, ShadowDispatcher

# (label, reader): settings read once at startup; a reload that changes them logs that a restart is needed.
RESTART_ONLY: tuple[tuple[str, Callable[[Config], object]], ...] = (
    ("server.listen", lambda c: c.server.listen),
    ("server.admin_listen", lambda c: c.server.admin_listen),
    ("store", lambda c: c.store),
    ("instance_id", lambda c: c.instance_id),
    ("shadow.max_in_flight", lambda c: c.shadow.max_in_flight),
    ("shadow.worker_threshold_bytes", lambda c: c.shadow.worker_threshold_bytes),
    ("shadow.drain_timeout", lambda c: c.shadow.drain_timeout),
    ("server.drain_timeout", lambda c: c.server.drain_timeout),
    ("server.max_in_flight", lambda c: c.server.max_in_flight),
    ("server.max_request_line", lambda c: c.server.max_request_line),
    ("server.max_header_size", lambda c: c.server.max_header_size),
    ("server.max_headers", lambda c: c.server.max_headers),
    ("server.header_timeout", lambda c: c.server.header_timeout),
)


@dataclass(frozen=True, slots=True)
class Shared:
    """What every plan uses, created once at startup."""

    recorder: Recorder
    dispatcher: ShadowDispatcher
    runner: CompareRunner
    mirror_client: MirrorClient
    ids: IdMap
    tally: ServeTally
    telemetry: Telemetry


@dataclass(frozen=True, slots=True)
class Plan:
    """Routes, upstreams and the shadow path of one Config."""

    config: Config
    router: Router
    legacy: Upstream
    candidate: Upstream | None
    shadow: Shadow | None
    timeout: aiohttp.ClientTimeout  # for whichever side serves

    @property
    def preserve_host(self) -> bool:
        return self.config.server.preserve_host


class LivePlan:
    """The current plan; `plan` is replaced, never mutated."""

    __slots__ = ("plan",)

    def __init__(self, plan: Plan | None = None) -> None:
        self.plan: Plan = plan  # type: ignore[assignment]  # set before the first request


def build_plan(config: Config, shared: Shared) -> Plan:
    """The plan of one config: comparison specs bound to the learned ids, upstreams parsed, shadow wired."""
    rules = tuple(
        replace(rule, compare=shared.ids.bind(rule.compare, rule.id_kind)) for rule in config.routes
    )
    legacy = Upstream.from_url("legacy", config.legacy)
    candidate = Upstream.from_url("candidate", config.candidate) if config.candidate else None
    server = config.server
    return Plan(
        config=config,
        router=Router(rules, config.default_compare, config.shadow.sample_rate),
        legacy=legacy,
        candidate=candidate,
        shadow=_shadow(config, legacy, candidate, shared),
        timeout=aiohttp.ClientTimeout(
            total=None, connect=server.legacy_connect_timeout, sock_read=server.legacy_timeout
        ),
    )


def _shadow(config: Config, legacy: Upstream, candidate: Upstream | None, shared: Shared) -> Shadow | None:
    if candidate is None:
        return None
    targets = ShadowTargets(
        candidate=candidate,
        secondary=Upstream.from_url("secondary", config.secondary) if config.secondary else None,
        client=shared.mirror_client,
        settings=config.shadow,
        preserve_host=config.server.preserve_host,
        legacy=legacy,
        ids=shared.ids,
        tally=shared.tally,
        credential_params=frozenset(p.lower() for p in config.redact.query_params),
    )
    return Shadow(targets, shared.recorder, shared.dispatcher, shared.runner, shared.telemetry)


def restart_only_changes(old: Config, new: Config) -> list[str]:
    """The settings a reload cannot apply (they keep their startup values until a restart)."""
    return [label for label, read in RESTART_ONLY if read(old) != read(new)]
