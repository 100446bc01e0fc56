"""Comparisons per second of compare() on 1 KB, 50 KB and 1 MB JSON under a realistic rule pipeline.

Run: `.venv/bin/python -m bench.compare` (about 20 s). Prints one table of medians over several rounds.
Cases per size: `identical` (same bytes: the fast path), `equivalent` (other bytes, equal once normalized:
the whole pipeline runs and matches), `differing` (normalized and still different: the walker runs too), and
`differing, no rules` for reference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from comparators import CompareSpec, Observation, compare
from comparators import parse_path as P
from comparators.normalizers import Ignore, Strings, Timestamps, Tolerance, Unordered, Urls

KIB = 1024
JSON = (("Content-Type", "application/json"), ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"))

PIPELINE = CompareSpec(
    normalizers=(
        Ignore(paths=(P("$.meta.requestId"), P("$..etag"))),
        Unordered(paths=(P("$.data"),), key=P("$._id")),
        Tolerance(paths=(P("$.data[*].score"),), absolute=1e-6),
        Timestamps(paths=(P("$.data[*].updatedAt"), P("$.meta.generatedAt")), precision="ms"),
        Urls(paths=(P("$.data[*].href"),)),
        Strings(paths=(P("$.data[*].name"),), trim=True),
    )
)


def mission(n: int, host: str, epoch: bool) -> dict[str, Any]:
    stamp: Any = 1714557600123 + n * 1000 if epoch else _iso(1714557600123 + n * 1000)
    return {
        "_id": f"{n:024x}",
        "name": f"Mission {n}",
        "status": ["draft", "active", "done"][n % 3],
        "score": n * 0.1,
        "updatedAt": stamp,
        "href": f"https://{host}/v0/mission/{n:024x}",
        "owner": {"id": n % 17, "email": f"user{n % 17}@example.org", "etag": f"W/{n}"},
        "tags": ["alpha", "beta", "gamma", "delta"][: 1 + n % 4],
        "steps": [{"order": i, "label": f"step {i}", "done": i < n % 5} for i in range(n % 4)],
    }


def _iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def documents(target: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(legacy, equivalent candidate, differing candidate) of about `target` bytes."""
    sample = len(orjson.dumps([mission(i, "legacy.internal", False) for i in range(100)])) / 100
    count = max(1, round((target - 120) / sample))
    legacy = {
        "meta": {"requestId": "a1", "generatedAt": _iso(1714557600000), "total": count},
        "data": [mission(i, "legacy.internal", False) for i in range(count)],
    }
    moved = [mission(i, "api.example.com", True) for i in range(count)]
    moved = moved[1:] + moved[:1]  # same missions, another order, another host, epoch timestamps
    equivalent = {"meta": {"requestId": "b2", "generatedAt": 1714557600000, "total": count}, "data": moved}
    changed = [dict(m, status="archived") if i % 10 == 0 else m for i, m in enumerate(moved)]
    differing = {"meta": equivalent["meta"], "data": changed}
    return legacy, equivalent, differing


def observe(document: dict[str, Any]) -> Observation:
    return Observation(200, JSON, orjson.dumps(document))


def per_second(run: Callable[[], object], rounds: int, budget: float) -> float:
    """Median comparisons per second over `rounds`, each about `budget` seconds long."""
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-7)
    loops = max(1, int(budget / once))
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(loops):
            run()
        rates.append(loops / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per round")
    args = parser.parse_args()
    print(f"{'size':>7}  {'case':<20} {'bytes':>9} {'compares/s':>11} {'ms/compare':>10}  verdict")
    for label, size in (("1 KB", KIB), ("50 KB", 50 * KIB), ("1 MB", KIB * KIB)):
        legacy, equivalent, differing = (observe(d) for d in documents(size))
        cases = (
            ("identical", PIPELINE, legacy, legacy),
            ("equivalent", PIPELINE, legacy, equivalent),
            ("differing", PIPELINE, legacy, differing),
            ("differing, no rules", CompareSpec(), legacy, differing),
        )
        for name, spec, left, right in cases:
            verdict = compare(spec, left, right).verdict.value
            rate = per_second(lambda s=spec, a=left, b=right: compare(s, a, b), args.rounds, args.budget)
            print(
                f"{label:>7}  {name:<20} {len(left.body):>9} {rate:>11,.0f} {1000 / rate:>10.3f}  {verdict}"
            )


if __name__ == "__main__":
    main()
