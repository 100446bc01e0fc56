"""The end-to-end harness: both engagement services and the real proxy app, in-process, with a SQLite store.

One scenario = fresh services and proxy on free ports, a list of probes sent through the proxy, the shadow
work awaited, the proxy shut down (which flushes its store), then the report read back from that store.
"""

from __future__ import annotations

import asyncio
import os
import threading
import tomllib
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from config.loader import parse_config
from config.model import Config
from examples.engagement import candidate, legacy
from examples.engagement.candidate import Bug
from examples.engagement.model import Dataset
from proxy.app import DISPATCHER, build_app
from proxy.recorder import open_recorder
from proxy.records import Counter, Exchange
from proxy.report import build_report
from proxy.report_json import report_json
from proxy.store import open_store
from proxy.testing import MemoryRecorder

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REFERENCE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "examples" / "engagement.toml"
E2E_MISSIONS = 300  # the lightest size that keeps every edge case of the dataset
CONCURRENCY = 8
T = TypeVar("T")
PathKind = tuple[str, str]


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own thread and event loop (fixtures are synchronous)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Stack:
    """Where the loaded dataset lives."""

    dataset: Dataset
    mongo_uri: str
    mongo_db: str
    pg_dsn: str
    pg_schema: str

    def key(self, diffuseur: str = "Leboncoin") -> str:
        return self.dataset.api_keys[diffuseur]


@dataclass(frozen=True, slots=True)
class Probe:
    """One request sent through the proxy with a diffuseur's API key (paths are unique within a scenario)."""

    path: str
    diffuseur: str = "Leboncoin"
    method: str = "GET"
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """The report JSON read back from the store, and every exchange the proxy recorded."""

    report: dict[str, Any]
    exchanges: tuple[Exchange, ...]
    statuses: dict[str, int]  # what the client got, per probe path

    def route(self, name: str) -> dict[str, Any]:
        return next(r for r in self.report["routes"] if r["route"] == name)

    def differences(self, route: str) -> set[PathKind]:
        return {(d["path"], d["kind"]) for d in self.route(route)["differences"]}

    def ignored_by_rule(self, route: str) -> dict[str, int]:
        return {r["rule"]: r["ignored"] for r in self.route(route)["rules"]}

    def exchange(self, path: str) -> Exchange:
        return next(e for e in self.exchanges if e.request.target == path)

    def found(self, path: str) -> set[PathKind]:
        """The (path, kind) differences the comparison of one probe found."""
        return {d.key() for d in self.exchange(path).comparison.differences}


def reference_config(legacy_url: str, candidate_url: str, store_url: str) -> Config:
    """The reference rules with this run's upstreams and store written in the file's own keys.

    (Command-line style overrides of keys the file also sets are refused by the loader today.)
    """
    data = tomllib.loads(REFERENCE_CONFIG.read_text(encoding="utf-8"))
    data["upstreams"] = {"legacy": legacy_url, "candidate": candidate_url}
    data["store"] = {**data.get("store", {}), "url": store_url}
    return parse_config(data, source=str(REFERENCE_CONFIG))


class TeeRecorder:
    """Records into the real store and into memory, so tests can read both the report and the exchanges."""

    def __init__(self, store: Any, memory: MemoryRecorder) -> None:
        self.store = store
        self.memory = memory

    def record(self, exchange: Exchange) -> None:
        self.memory.record(exchange)
        self.store.record(exchange)

    def count(self, route: str, counter: Counter, n: int = 1) -> None:
        self.memory.count(route, counter, n)
        self.store.count(route, counter, n)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on a free local port; its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def run_scenario(
    stack: Stack, probes: Sequence[Probe], store_path: Path, bug: Bug | None = None
) -> ScenarioResult:
    """Send `probes` through the proxy (reference rules, SQLite store), then read its report back."""
    memory = MemoryRecorder()
    legacy_app = legacy.create_app(
        stack.mongo_uri, stack.mongo_db, legacy.LegacyOptions("http://legacy.test")
    )
    candidate_app = candidate.create_app(
        stack.pg_dsn, stack.pg_schema, candidate.CandidateOptions("http://candidate.test", bug)
    )
    async with serving(legacy_app) as legacy_url, serving(candidate_app) as candidate_url:
        config = reference_config(legacy_url, candidate_url, f"sqlite:///{store_path}")

        @asynccontextmanager
        async def recorder(config: Config) -> AsyncIterator[TeeRecorder]:
            async with open_recorder(config, "e2e") as store_recorder:
                yield TeeRecorder(store_recorder, memory)

        proxy_app = build_app(config, recorder_factory=recorder)
        async with serving(proxy_app) as proxy_url:
            statuses = await _send_all(stack, proxy_url, probes)
            await proxy_app[DISPATCHER].wait_idle()
    # The proxy app is cleaned up: shadow work drained, store flushed.
    return ScenarioResult(await _read_report(config), tuple(memory.exchanges), statuses)


async def _send_all(stack: Stack, base_url: str, probes: Sequence[Probe]) -> dict[str, int]:
    gate = asyncio.Semaphore(CONCURRENCY)
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:

        async def send(probe: Probe) -> None:
            headers = {"x-api-key": stack.key(probe.diffuseur), "content-type": "application/json"}
            url = base_url + probe.path
            async with (
                gate,
                session.request(
                    probe.method, url, headers=headers, data=probe.body, allow_redirects=False
                ) as r,
            ):
                await r.read()
                statuses[probe.path] = r.status

        await asyncio.gather(*(send(p) for p in probes))
    return statuses


async def _read_report(config: Config) -> dict[str, Any]:
    store = open_store(config.store.url, create=False)
    try:
        return report_json(await build_report(store, config=config))
    finally:
        await store.close()
