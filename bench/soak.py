"""Soak: a fixed request rate for minutes, a candidate hanging on 10% of requests, the store down mid-run.

    python -m bench.soak                         # 10 min at 200 req/s, the store down for the middle minute
    python -m bench.soak --minutes 3 --rate 150  # a shorter validation run
    python -m bench.soak --out soak.md           # also write the printed section to a file

Processes: the upstreams (legacy, and a candidate that never answers 10% of requests and differs on 20%)
run in one child process, `shadow-proxy serve` in another; this process sends an open-loop fixed-rate load
twice, through the proxy and direct to legacy (the same requests at the same instants), so the p99 added by
the proxy is read from the same moments. The store is PostgreSQL reached through a TCP relay that this
process cuts for one minute in the middle of the run (a third of a run shorter than three minutes), then
restores. Every window reports client errors (must be 0), latencies, the proxy's RSS (flat after
warm-up), the shadow work in flight and what was dropped. Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiohttp import web
from yarl import URL

from proxy.testing import TcpRelay

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
WINDOW = 30.0  # seconds per reported row
HANG_EVERY = 10  # the candidate never answers one request in ten
DIFFER_EVERY = 5  # and answers a different document to one in five
SIGNATURES = 1000  # distinct differences: 5 examples each are kept per hour, so the store keeps writing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def document(n: int, side: str) -> dict[str, Any]:
    items = [
        {"id": f"{n:06d}-{i}", "name": f"item {i}", "price": i * 1.25, "tags": ["a", "b"]} for i in range(8)
    ]
    if side == "candidate" and n % DIFFER_EVERY == 0:
        items[0][f"extra{n // DIFFER_EVERY % SIGNATURES}"] = True  # SIGNATURES distinct divergences
    return {"id": n, "items": items, "page": 1, "total": 8}


def upstreams_app(side: str) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if side == "candidate" and n % HANG_EVERY == 0:
            await asyncio.Event().wait()  # never answers: the proxy's shadow timeout gives up on it
        return web.Response(body=orjson.dumps(document(n, side)), content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/items/{n}", answer)
    return app


async def serve_upstreams(legacy_port: int, candidate_port: int) -> None:
    """The child process's body: both upstreams until SIGTERM."""
    runners = []
    for side, port in (("legacy", legacy_port), ("candidate", candidate_port)):
        runner = web.AppRunner(upstreams_app(side), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for runner in runners:
        await runner.cleanup()


@dataclass
class Window:
    """What one reporting window saw."""

    start: float
    direct: list[float] = field(default_factory=list)  # ms
    proxied: list[float] = field(default_factory=list)
    errors: int = 0
    rss_mb: float = 0.0
    buffered: int = 0  # most examples waiting for the store at once
    load: float = 0.0  # the host's 1-minute load average: the machine is shared, contention shows here
    stats: dict[str, Any] = field(default_factory=dict)
    store_down: bool = False


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.windows: list[Window] = []
        self.started = 0.0
        self.outage = (0.0, 0.0)
        self.errors: dict[str, int] = {}

    def window(self, now: float) -> Window:
        index = int((now - self.started) // WINDOW)
        while len(self.windows) <= index:
            self.windows.append(Window(self.started + len(self.windows) * WINDOW))
        return self.windows[index]

    async def timed(self, session: aiohttp.ClientSession, url: str, into: str) -> None:
        began = time.perf_counter()
        failure = ""
        try:
            async with session.get(url) as response:
                await response.read()
                failure = "" if response.status == 200 else f"status {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = type(exc).__name__
        window = self.window(time.perf_counter())
        if failure:
            key = f"{into}: {failure}"
            self.errors[key] = self.errors.get(key, 0) + 1
            window.errors += into == "proxied"
            return
        getattr(window, into).append((time.perf_counter() - began) * 1000)

    async def load(self, proxy: str, legacy: str, until: float) -> None:
        """Open loop: request n starts at started + n / rate, whether earlier ones finished or not."""
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            tasks: set[asyncio.Task[None]] = set()
            n = 0
            while (due := self.started + n / self.args.rate) < until:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                path = f"/v1/items/{n}?page=1"
                for base, into in ((proxy, "proxied"), (legacy, "direct")):
                    task = asyncio.create_task(self.timed(session, base + path, into))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.gather(*tasks)

    async def watch(self, pid: int, admin: str, until: float) -> None:
        async with aiohttp.ClientSession() as session:
            while (now := time.perf_counter()) < until + 1:
                window = self.window(now)
                window.rss_mb = max(window.rss_mb, rss_mb(pid))
                window.load = max(window.load, os.getloadavg()[0])
                window.store_down = window.store_down or self.outage[0] <= now < self.outage[1]
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{admin}/stats") as response:
                        window.stats = await response.json()
                    window.buffered = max(window.buffered, window.stats["store"]["buffered_examples"])
                await asyncio.sleep(2.0)

    async def outage_schedule(self, relay: TcpRelay) -> None:
        await asyncio.sleep(max(0.0, self.outage[0] - time.perf_counter()))
        await relay.cut()
        await asyncio.sleep(max(0.0, self.outage[1] - time.perf_counter()))
        await relay.start()


async def start_process(*args: str, log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, stdout=log.open("wb"), stderr=asyncio.subprocess.STDOUT
    )


async def serving_line(log: Path, process: asyncio.subprocess.Process) -> dict[str, Any]:
    for _ in range(600):
        for line in (await asyncio.to_thread(log.read_bytes)).splitlines():
            with contextlib.suppress(ValueError):
                event = orjson.loads(line)
                if isinstance(event, dict) and event.get("event") == "serving":
                    return event
        if process.returncode is not None:
            raise SystemExit(f"the proxy exited: {(await asyncio.to_thread(log.read_text))[-2000:]}")
        await asyncio.sleep(0.1)
    raise SystemExit("the proxy did not start")


async def schema_url() -> tuple[str, str]:
    schema = f"soak_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await connection.close()
    return schema, f"{PG_DSN}?search_path={schema}"


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> Soak:
    soak = Soak(args)
    duration = args.minutes * 60
    down = min(60.0, duration / 3)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    legacy_port, candidate_port = free_port(), free_port()
    schema, pg_url = await schema_url()
    pg = URL(PG_DSN)
    relay = TcpRelay((pg.host or "127.0.0.1", pg.port or 5432))
    await relay.start()
    store = pg_url.replace(f"{pg.host}:{pg.port or 5432}", f"127.0.0.1:{relay.port}")
    config = work / "soak.toml"
    config.write_text(
        f'instance_id = "soak"\n[upstreams]\nlegacy = "http://127.0.0.1:{legacy_port}"\n'
        f'candidate = "http://127.0.0.1:{candidate_port}"\n'
        f'[server]\nlisten = "127.0.0.1:0"\nadmin_listen = "127.0.0.1:0"\n[store]\nurl = "{store}"\n',
        encoding="utf-8",
    )
    upstreams = await start_process(
        "-m", "bench.soak", "--upstreams", f"{legacy_port},{candidate_port}", log=work / "upstreams.log"
    )
    proxy = await start_process("-m", "proxy.cli", "serve", f"--config={config}", log=work / "proxy.log")
    try:
        serving = await serving_line(work / "proxy.log", proxy)
        await asyncio.sleep(1.0)  # the upstreams are up by now
        soak.started = time.perf_counter()
        until = soak.started + duration
        middle = soak.started + duration / 2
        soak.outage = (middle - down / 2, middle + down / 2)
        admin = f"http://{serving['admin']}"
        tasks: list[Awaitable[None]] = [
            soak.load(f"http://{serving['proxy']}", f"http://127.0.0.1:{legacy_port}", until),
            soak.watch(proxy.pid, admin, until),
            soak.outage_schedule(relay),
        ]
        await asyncio.gather(*tasks)
        await asyncio.sleep(3.0)  # the flusher's backoff retries, then writes what waited
        async with aiohttp.ClientSession() as session, session.get(f"{admin}/stats") as response:
            soak.windows[-1].stats = await response.json()
    finally:
        for process in (proxy, upstreams):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 30)
            if process.returncode is None:
                process.kill()
        await relay.cut()
        await drop_schema(schema)
    return soak


def totals(stats: dict[str, Any]) -> dict[str, int]:
    summed: dict[str, int] = {}
    for counts in stats.get("routes", {}).values():
        for name, value in counts.items():
            summed[name] = summed.get(name, 0) + int(value)
    return summed


def section(soak: Soak) -> str:
    args = soak.args
    rows = [
        f"## Soak ({args.minutes:g} min at {args.rate:g} req/s, `python -m bench.soak`)",
        "",
        f"Candidate never answers 1 request in {HANG_EVERY} (the shadow timeout, 5 s, gives up on it) and "
        f"differs on 1 in {DIFFER_EVERY}; PostgreSQL store cut (TCP relay) from "
        f"t={soak.outage[0] - soak.started:.0f}s to t={soak.outage[1] - soak.started:.0f}s. "
        "Latencies in ms: the same requests, through the proxy and direct to legacy, at the same instants.",
        "",
        "| t (s) | requests | client errors | p50 direct | p50 proxy | p99 direct | p99 proxy | p99 added | "
        "RSS MB | shadow in flight | store | examples buffered | dropped (shadow) | dropped (store) | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for window in (w for w in soak.windows if w.proxied or w.errors):
        stats, count = window.stats, totals(window.stats)
        store = stats.get("store", {})
        direct, proxied = window.direct, window.proxied
        p99_added = quantile(proxied, 0.99) - quantile(direct, 0.99)
        rows.append(
            f"| {window.start - soak.started:.0f} | {len(proxied) + window.errors} | {window.errors} | "
            f"{quantile(direct, 0.5):.1f} | {quantile(proxied, 0.5):.1f} | "
            f"{quantile(direct, 0.99):.1f} | {quantile(proxied, 0.99):.1f} | {p99_added:+.1f} | "
            f"{window.rss_mb:.0f} | {stats.get('shadow', {}).get('in_flight', '?')} | "
            f"{'down' if window.store_down else ('degraded' if stats.get('store_degraded') else 'ok')} | "
            f"{window.buffered} | {count.get('dropped', 0)} | "
            f"{store.get('records_dropped', '?')} | {window.load:.1f} |"
        )
    final = soak.windows[-1].stats if soak.windows else {}
    count, store = totals(final), final.get("store", {})
    buffered = max((w.buffered for w in soak.windows), default=0)
    errors = sum(w.errors for w in soak.windows)
    warm = [w.rss_mb for w in soak.windows[2:] if w.rss_mb] or [0.0]
    rows += [
        "",
        f"Client errors: **{errors}** (must be 0){'; ' + str(soak.errors) if soak.errors else ''}. "
        f"Compared {count.get('compared', 0)}, diverged {count.get('diverged', 0)}, candidate errors "
        f"{count.get('candidate_errors', 0)}, shadow drops {count.get('dropped', 0)}. Store: at most "
        f"{buffered} examples buffered, {store.get('records_dropped', 0)} dropped, "
        f"{store.get('examples_written', 0)} written, degraded at the end: {final.get('store_degraded')}. "
        f"RSS after warm-up (from t={2 * WINDOW:.0f}s): {min(warm):.0f} to {max(warm):.0f} MB.",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="duration (default 10)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--out", metavar="FILE", help="also write the section to FILE")
    parser.add_argument("--upstreams", metavar="LEGACY,CANDIDATE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstreams:
        legacy, candidate = (int(port) for port in args.upstreams.split(","))
        asyncio.run(serve_upstreams(legacy, candidate))
        return
    text = section(asyncio.run(run(args)))
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
