"""What one divergence costs the event loop: compare() and the recorder, on the bench's differing pair.

Run: `.venv/bin/python -m bench.divergence [--profile]` (about 20 s). The pair is what nginx serves for
/differ-1k.json in `bench.run` (1 KB JSON, every item with a changed value, a type change and a missing key),
with nginx's response headers. Measured per call, medians over rounds: compare() under the default rules;
StoreRecorder.record() of the diverging exchange in steady state (its signature already holds its K examples
for the hour, so no example is built: what most divergences cost); the example build alone (paid K times per
signature per hour); and the divergence log line alone. The structlog pipeline is the proxy's own, writing to
/dev/null. `--profile` prints a cProfile of the whole per-divergence path instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from bench.payloads import PAYLOADS
from comparators import CompareSpec, Observation, compare
from comparators.model import Comparison
from config.model import RedactSettings, StoreSettings
from proxy.recorder import StoreRecorder
from proxy.records import Exchange, RequestInfo
from proxy.redact import Redactor
from proxy.server import configure_logging
from proxy.store import open_store
from proxy.store.examples import ExampleBuilder

NGINX_HEADERS = (
    ("Server", "nginx/1.22.1"),
    ("Date", "Fri, 27 Nov 2026 20:00:00 GMT"),
    ("Content-Type", "application/json"),
    ("Content-Length", "1024"),
    ("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT"),
    ("Connection", "keep-alive"),
    ("Accept-Ranges", "bytes"),
)
REQUEST_HEADERS = (("Host", "127.0.0.1:8080"), ("User-Agent", "wrk"), ("Authorization", "Bearer abc123"))


def differing_exchange(spec: CompareSpec) -> Exchange:
    payload = next(p for p in PAYLOADS if p.path == "/differ-1k.json")
    legacy = Observation(200, NGINX_HEADERS, payload.legacy, elapsed_ms=0.4)
    candidate = Observation(200, NGINX_HEADERS, payload.candidate, elapsed_ms=0.5)
    request = RequestInfo("GET", payload.path, REQUEST_HEADERS, b"", "bench-1", time.time())
    return Exchange("GET /differ-1k.json", request, legacy, candidate, compare(spec, legacy, candidate))


def steady_recorder() -> StoreRecorder:
    """A recorder whose store is never opened: record() only touches memory (flushes run elsewhere)."""
    store = open_store("sqlite:///:memory:")
    return StoreRecorder(store, StoreSettings(), Redactor.from_settings(RedactSettings()), "bench")


def per_call_us(run: Callable[[], object], rounds: int, budget: float) -> float:
    """Median CPU microseconds per call over `rounds` rounds of about `budget` seconds each.

    CPU time of this process, not wall time: on a machine shared with other work it moves far less.
    """
    start = time.process_time()
    for _ in range(10):
        run()
    loops = max(1, int(budget / max((time.process_time() - start) / 10, 1e-7)))
    costs = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(loops):
            run()
        costs.append((time.process_time() - start) / loops * 1e6)
    return statistics.median(costs)


def cases(spec: CompareSpec, exchange: Exchange) -> dict[str, Callable[[], object]]:
    recorder = steady_recorder()
    for _ in range(StoreSettings().examples_per_hour):  # the signature's examples for this hour are taken
        recorder.record(exchange)
    builder = ExampleBuilder(Redactor.from_settings(RedactSettings()), StoreSettings().max_body_bytes)
    divergence_log = structlog.get_logger("proxy.divergence")
    legacy, candidate = exchange.legacy, exchange.candidate
    signature = exchange.comparison.signature()

    def compare_and_record() -> None:
        comparison = compare(spec, legacy, candidate)
        recorder.record(Exchange(exchange.route, exchange.request, legacy, candidate, comparison))

    return {
        "compare()": lambda: compare(spec, legacy, candidate),
        "record(), steady state": lambda: recorder.record(exchange),
        "compare() + record()": compare_and_record,
        "example build (K/hour)": lambda: builder.build(exchange, "0123456789abcdef"),
        "divergence log line": lambda: divergence_log.info(
            "divergence",
            route=exchange.route,
            signature="0123456789abcdef",
            paths=[f"{path} ({kind})" for path, kind in signature],
            request_id="bench-1",
            trace_id=None,
        ),
    }


def profile(run: Callable[[], object], seconds: float) -> None:
    profiler = cProfile.Profile()
    deadline = time.perf_counter() + seconds
    profiler.enable()
    while time.perf_counter() < deadline:
        run()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per round")
    parser.add_argument("--profile", action="store_true", help="cProfile compare() + record() instead")
    args = parser.parse_args()
    with Path("/dev/null").open("wb") as null:
        sys.stdout.flush()
        configure_logging()
        structlog.configure(logger_factory=structlog.BytesLoggerFactory(null))
        spec = CompareSpec()
        exchange = differing_exchange(spec)
        comparison: Comparison = exchange.comparison
        measured = cases(spec, exchange)
        if args.profile:
            profile(measured["compare() + record()"], 5.0)
            return
        print(f"differing 1 KB pair: {len(comparison.differences)} differences, verdict {comparison.verdict}")
        for name, run in measured.items():
            print(f"  {name:<26} {per_call_us(run, args.rounds, args.budget):8.1f} us")


if __name__ == "__main__":
    main()
