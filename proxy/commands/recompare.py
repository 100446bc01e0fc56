"""`shadow-proxy recompare`: re-run the current rules on stored divergence examples to see their effect."""

from __future__ import annotations

import asyncio
import base64
import gzip
import sys
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import brotli

from comparators.compare import compare
from comparators.model import Observation, Verdict
from comparators.spec import CompareSpec
from config import Config
from proxy.store import Store, StoreError, open_store
from proxy.store.base import Example, StoredResponse

EXIT_OK, EXIT_DIVERGED, EXIT_ERROR = 0, 1, 2
_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "identity": bytes,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the current rules say of one stored example."""

    route: str
    example_id: str
    status: str  # "now matches", "still diverges", "truncated", "not comparable"
    paths: tuple[str, ...] = ()


def observation(side: StoredResponse) -> Observation | None:
    """A stored side rebuilt for comparison; None when it was a transport error or its body was withheld."""
    if side.status is None or side.body.truncated or side.body.text.startswith("[withheld:"):
        return None
    raw = base64.b64decode(side.body.text) if side.body.format == "base64" else side.body.text.encode()
    encoding = next((v for k, v in side.headers if k.lower() == "content-encoding"), "")
    return Observation(status=side.status, headers=side.headers, body=encode(raw, encoding))


def encode(decoded: bytes, content_encoding: str) -> bytes:
    """Apply the codings again: the store keeps bodies decoded, while the headers say how they travelled."""
    for coding in (c.strip().lower() for c in content_encoding.split(",") if c.strip()):
        decoded = _ENCODERS.get(coding, bytes)(decoded)
    return decoded


def recompare_example(spec: CompareSpec, example: Example) -> Outcome:
    legacy, candidate = observation(example.legacy), observation(example.candidate)
    if legacy is None or candidate is None:
        truncated = example.legacy.body.truncated or example.candidate.body.truncated
        return Outcome(example.route, example.id, "truncated" if truncated else "not comparable")
    comparison = compare(spec, legacy, candidate)
    if comparison.verdict is Verdict.MATCHED:
        return Outcome(example.route, example.id, "now matches")
    paths = tuple(f"{path} ({kind})" for path, kind in comparison.signature())
    return Outcome(example.route, example.id, "still diverges", paths)


def spec_for(config: Config, route: str) -> CompareSpec:
    return next((r.compare for r in config.routes if r.name == route), config.default_compare)


async def recompare_store(
    store: Store, config: Config, routes: tuple[str, ...], per_signature: int
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for signature in await store.signature_totals(per_route=1_000_000):
        if routes and signature.route not in routes:
            continue
        spec = spec_for(config, signature.route)
        for example in await store.examples(signature.signature, limit=per_signature):
            outcomes.append(recompare_example(spec, example))
    return outcomes


def render(outcomes: list[Outcome], out: TextIO) -> None:
    if not outcomes:
        out.write("no stored divergence examples to re-compare\n")
        return
    per_route: dict[str, Counter[str]] = {}
    remaining: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        per_route.setdefault(outcome.route, Counter())[outcome.status] += 1
        for path in outcome.paths:
            remaining.setdefault(outcome.route, Counter())[path] += 1
    out.write("| route | examples | now match | still diverge | not re-comparable |\n|---|---|---|---|---|\n")
    for route, counts in sorted(per_route.items()):
        skipped = counts["truncated"] + counts["not comparable"]
        total = sum(counts.values())
        out.write(
            f"| {route} | {total} | {counts['now matches']} | {counts['still diverges']} | {skipped} |\n"
        )
    for route, paths in sorted(remaining.items()):
        out.write(f"\n{route}: still differing\n")
        for path, count in paths.most_common(20):
            out.write(f"  {count:>5}  {path}\n")


async def _load(store_url: str, config: Config, routes: tuple[str, ...], per_signature: int) -> list[Outcome]:
    store = open_store(store_url, create=False)
    try:
        return await recompare_store(store, config, routes, per_signature)
    finally:
        await store.close()


def run_recompare(store_url: str, config: Config, routes: tuple[str, ...], per_signature: int) -> int:
    """Exit 0 when every re-comparable example now matches, 1 when some still diverge, 2 on errors."""
    try:
        outcomes = asyncio.run(_load(store_url, config, routes, per_signature))
    except StoreError as exc:
        print(f"recompare: {exc}", file=sys.stderr)
        return EXIT_ERROR
    render(outcomes, sys.stdout)
    return EXIT_DIVERGED if any(o.status == "still diverges" for o in outcomes) else EXIT_OK
