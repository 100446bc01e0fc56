"""The cost of one mirrored fetch: the mirror client now, at an earlier commit, and aiohttp's, side by side.

Run: `.venv/bin/python -m bench.mirror_client [--against REV]` (about 30 s). nginx serves the bench payloads
from another process, so what is measured is the client: CPU microseconds of this process per fetch (the
figure that decides the proxy's throughput on a loaded machine) and wall microseconds per fetch, sequential
and with concurrent fetches. Implementations alternate within each round; medians over rounds are printed,
with each one's ratio to the current client. `--against REV` loads proxy/mirror_client.py as it was at REV
(e.g. the commit before a rewrite), so old and new are measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from bench.nginx import StaticPair, prepare
from bench.payloads import PAYLOADS
from examples.simple.processes import REPO_ROOT, ChildGroup, free_port, wait_until_healthy
from proxy import mirror_client
from proxy.upstream import Upstream, open_session

WORK_DIR = REPO_ROOT / "bench" / ".work" / "mirror-client"  # beside bench.run's, which it never wipes
MAX_BYTES = 10 * 1024 * 1024
Fetch = Callable[[str], Awaitable[int]]  # path -> body size


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    path: str
    concurrency: int


WORKLOADS = (
    Workload("1 KB sequential", "/same-1k.json", 1),
    Workload("1 KB x32 concurrent", "/same-1k.json", 32),
    Workload("50 KB sequential", "/same-50k.json", 1),
)


@dataclass(frozen=True, slots=True)
class Cost:
    cpu_us: float
    wall_us: float


def load_at(revision: str) -> ModuleType:
    """proxy/mirror_client.py as it was at `revision`, imported under another name."""
    source = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", f"{revision}:proxy/mirror_client.py"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    name = f"mirror_client_at_{revision.replace('~', '_').replace('^', '_')}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    exec(compile(source, f"{revision}:proxy/mirror_client.py", "exec"), module.__dict__)
    return module


class MirrorFetch:
    """Fetches through one mirror client module (the current one, or one loaded from history)."""

    def __init__(self, module: ModuleType, base: str) -> None:
        self._module = module
        self._client = module.MirrorClient()
        self._upstream = Upstream.from_url("candidate", base)
        self._headers = [("Host", self._upstream.host), ("X-Shadow-Request", "1")]

    async def __call__(self, path: str) -> int:
        request = self._module.OutgoingRequest("GET", path, None)
        observation = await self._module.observe(
            self._client, self._upstream, request, self._headers, time_limit=5.0, max_bytes=MAX_BYTES
        )
        if observation.error is not None:
            raise RuntimeError(f"fetch failed: {observation.error_detail}")
        return len(observation.body)

    async def close(self) -> None:
        await self._client.close()


class AiohttpFetch:
    """The same fetch through aiohttp's client session, configured as the proxy's client path is."""

    def __init__(self, base: str) -> None:
        self._base = base
        self._session = open_session(connect_timeout=5.0, read_timeout=5.0)

    async def __call__(self, path: str) -> int:
        async with asyncio.timeout(5.0):
            async with self._session.get(self._base + path, headers={"X-Shadow-Request": "1"}) as response:
                return len(await response.read())

    async def close(self) -> None:
        await self._session.close()


async def run_workload(fetch: Fetch, workload: Workload, fetches: int) -> Cost:
    per_task = max(1, fetches // workload.concurrency)

    async def worker() -> None:
        for _ in range(per_task):
            await fetch(workload.path)

    await asyncio.gather(*(worker() for _ in range(workload.concurrency)))  # warm the pool
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workload.concurrency)))
    done = per_task * workload.concurrency
    return Cost((time.process_time() - cpu) / done * 1e6, (time.perf_counter() - wall) / done * 1e6)


async def measure(
    fetches: dict[str, Fetch], workload: Workload, rounds: int, count: int
) -> dict[str, tuple[Cost, ...]]:
    costs: dict[str, list[Cost]] = {name: [] for name in fetches}
    names = list(fetches)
    for round_number in range(rounds):
        shift = round_number % len(names)  # each takes every place in the order, so drift hits all alike
        for name in names[shift:] + names[:shift]:
            costs[name].append(await run_workload(fetches[name], workload, count))
    return {name: tuple(found) for name, found in costs.items()}


def report(workload: Workload, costs: dict[str, tuple[Cost, ...]]) -> None:
    cpu = {name: statistics.median(c.cpu_us for c in found) for name, found in costs.items()}
    wall = {name: statistics.median(c.wall_us for c in found) for name, found in costs.items()}
    reference = cpu["current"]
    print(f"\n{workload.name}")
    for name in costs:
        print(
            f"  {name:<24} CPU {cpu[name]:7.1f} us/fetch  wall {wall[name]:7.1f} us/fetch"
            f"  CPU ratio to current {cpu[name] / reference:5.2f}"
        )


async def run(base: str, args: argparse.Namespace) -> None:
    implementations: dict[str, MirrorFetch | AiohttpFetch] = {"current": MirrorFetch(mirror_client, base)}
    if args.against:
        implementations[f"at {args.against}"] = MirrorFetch(load_at(args.against), base)
    if not args.no_aiohttp:
        implementations["aiohttp client"] = AiohttpFetch(base)
    try:
        for workload in WORKLOADS:
            report(workload, await measure(dict(implementations), workload, args.rounds, args.fetches))
    finally:
        for implementation in implementations.values():
            await implementation.close()


def start_nginx(group: ChildGroup) -> str:
    nginx = "/usr/sbin/nginx"
    pair = StaticPair(WORK_DIR, free_port(), free_port())
    prepare(pair, PAYLOADS)
    child = group.start("nginx", [*pair.command(nginx), "-e", str(WORK_DIR / "error.log")], WORK_DIR / "log")
    wait_until_healthy(child, pair.candidate_url + PAYLOADS[0].path)
    return pair.candidate_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also measure proxy/mirror_client.py at REV")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--fetches", type=int, default=2000, help="fetches per workload per round")
    parser.add_argument("--no-aiohttp", action="store_true", help="skip the aiohttp reference")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    with ChildGroup() as group:
        base = start_nginx(group)
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(run(base, args))
        else:
            asyncio.run(run(base, args))


if __name__ == "__main__":
    Path(WORK_DIR).mkdir(parents=True, exist_ok=True)
    main()
