"""Pairing of unmatched array elements by similarity (deepdiff's distance): the one module using deepdiff.

When an unordered array leaves elements without an exact counterpart on both sides, pairing each with its most
similar counterpart makes one changed element report its own changed fields, instead of every field of
whatever element happens to share its position. deepdiff measures the similarity; nothing of it leaves this
module: callers get index pairs.

deepdiff is slow for this (about 0.5 ms per pair plus ~2.5 us per byte of the pair, measured on the project's
bench machine), so pairing by similarity runs only within a work budget; beyond it, and for leftovers holding
no object or array (where the reported path is the same whatever the pairing), elements pair by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

MAX_PER_SIDE = 32
PAIR_OVERHEAD = 220  # a deepdiff call's fixed cost, in bytes of input costing as much
MAX_WORK = 12_000  # budget in those bytes: about 25 ms of deepdiff on the bench machine

IndexPairs = list[tuple[int, int]]


def pair_by_similarity(legacy: Sequence[Any], candidate: Sequence[Any]) -> IndexPairs:
    """min(len) index pairs (legacy index, candidate index), in legacy order.

    Most similar first (greedy on deepdiff's distance; ties broken by content, so the result depends only on
    the elements, not on their order: normalizing twice gives the same arrays) within the budget; otherwise
    by position.
    """
    by_position = [(index, index) for index in range(min(len(legacy), len(candidate)))]
    if not _worth_it(legacy, candidate):
        return by_position
    texts = _texts(legacy), _texts(candidate)
    if texts[0] is None or texts[1] is None or _work(texts[0], texts[1]) > MAX_WORK:
        return by_position
    try:
        distances = _distances(legacy, candidate, texts[0], texts[1])
    except Exception:  # a heuristic: whatever deepdiff raises, pairing by position still holds
        return by_position
    return sorted(_greedy(distances, texts[0], texts[1]))


def _worth_it(legacy: Sequence[Any], candidate: Sequence[Any]) -> bool:
    if not legacy or not candidate or len(legacy) + len(candidate) <= 2:
        return False  # nothing to choose: zero or one possible pair
    if max(len(legacy), len(candidate)) > MAX_PER_SIDE:
        return False
    return any(isinstance(e, dict | list) for e in legacy) and any(
        isinstance(e, dict | list) for e in candidate
    )


def _texts(elements: Sequence[Any]) -> list[bytes] | None:
    """Each element's canonical JSON (its size and a tie-breaker); None past orjson's depth (too deep)."""
    try:
        return [orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in elements]
    except (TypeError, orjson.JSONEncodeError):
        return None


def _work(legacy: list[bytes], candidate: list[bytes]) -> int:
    """The estimated cost of every pair's deepdiff call, in bytes of input."""
    pairs = len(legacy) * len(candidate)
    sizes = len(candidate) * sum(map(len, legacy)) + len(legacy) * sum(map(len, candidate))
    return pairs * PAIR_OVERHEAD + sizes


def _distances(
    legacy: Sequence[Any], candidate: Sequence[Any], left: list[bytes], right: list[bytes]
) -> dict[tuple[int, int], float]:
    from deepdiff import DeepDiff  # imported on first use: ~0.2 s that most processes never need

    distances: dict[tuple[int, int], float] = {}
    for i, a in enumerate(legacy):
        for j, b in enumerate(candidate):
            first, second = (a, b) if left[i] <= right[j] else (b, a)  # the same call either way round
            diff = DeepDiff(first, second, get_deep_distance=True, ignore_numeric_type_changes=True)
            distances[i, j] = float(diff.get("deep_distance", 0.0))
    return distances


def _greedy(distances: dict[tuple[int, int], float], left: list[bytes], right: list[bytes]) -> IndexPairs:
    """The closest free pair first, repeatedly; equal distances are ordered by the pair's content."""

    def rank(pair: tuple[int, int]) -> tuple[float, bytes, bytes, int, int]:
        low, high = sorted((left[pair[0]], right[pair[1]]))
        return (distances[pair], low, high, *pair)

    taken_left: set[int] = set()
    taken_right: set[int] = set()
    chosen: IndexPairs = []
    for i, j in sorted(distances, key=rank):
        if i not in taken_left and j not in taken_right:
            chosen.append((i, j))
            taken_left.add(i)
            taken_right.add(j)
    return chosen
