"""Pairing leftovers by similarity (comparators/deep.py): the table, the bounds, what it may not depend on."""

from __future__ import annotations

import random
from typing import Any

import pytest

from comparators.deep import MAX_PER_SIDE, pair_by_similarity


def person(n: int, **changes: Any) -> dict[str, Any]:
    return {"id": n, "name": f"person {n}", "city": "Lyon", "roles": ["a", "b"], **changes}


CASES: list[tuple[str, list[Any], list[Any], list[tuple[int, int]]]] = [
    ("nothing to pair", [], [person(1)], []),
    ("one each: no choice to make", [person(1)], [person(2)], [(0, 0)]),
    ("scalars pair by position", [1, 2], [3, 4], [(0, 0), (1, 1)]),
    (
        "swapped objects meet their own",
        [person(1), person(2)],
        [person(2, city="Nice"), person(1)],
        [(0, 1), (1, 0)],
    ),
    (
        "one legacy, its counterpart among extras",
        [person(5, name="five")],
        [person(7), person(8), person(5)],
        [(0, 2)],
    ),
    (
        "more legacy than candidate",
        [person(1), person(2), person(3)],
        [person(3, roles=[]), person(1, city="Paris")],
        [(0, 1), (2, 0)],
    ),
    ("nested arrays count", [[1, 2, 3], [7, 8, 9]], [[7, 8, 0], [1, 2, 0]], [(0, 1), (1, 0)]),
    ("1 and 1.0 are the same number", [{"v": 1}, {"v": 5}], [{"v": 5.0}, {"v": 1.0}], [(0, 1), (1, 0)]),
]


@pytest.mark.parametrize(("legacy", "candidate", "pairs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pairs(legacy: list[Any], candidate: list[Any], pairs: list[tuple[int, int]]) -> None:
    assert pair_by_similarity(legacy, candidate) == pairs


def test_pairing_depends_on_the_elements_not_their_order() -> None:
    legacy = [person(n) for n in range(6)]
    candidate = [person(n, name=f"p{n}") if n % 2 else person(n, city="Nice") for n in range(6)]
    shuffled = candidate[:]
    random.Random(7).shuffle(shuffled)
    pairs = pair_by_similarity(legacy, shuffled)
    assert [(legacy[i]["id"], shuffled[j]["id"]) for i, j in pairs] == [(n, n) for n in range(6)]


def test_pairing_is_symmetric() -> None:
    legacy = [person(1), person(2), {"id": 2, "name": "person 1"}]
    candidate = [person(2, city="x"), person(1, city="y"), {"id": 1, "name": "person 2"}]
    forward = pair_by_similarity(legacy, candidate)
    backward = pair_by_similarity(candidate, legacy)
    assert sorted(forward) == sorted((i, j) for j, i in backward)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_ties_are_broken_by_content(order: tuple[int, int]) -> None:
    """Two candidates equally far from the legacy element: the same one is chosen in either order."""
    equally_far = [{"k": 1, "v": "b"}, {"k": 1, "v": "c"}]
    candidate = [equally_far[i] for i in order]
    ((_, chosen),) = pair_by_similarity([{"k": 1, "v": "a"}], [*candidate, 5])
    assert candidate[chosen] == {"k": 1, "v": "b"}


def test_beyond_the_side_bound_pairs_by_position() -> None:
    legacy = [person(n) for n in range(MAX_PER_SIDE + 1)]
    candidate = legacy[::-1]
    assert pair_by_similarity(legacy, candidate) == [(n, n) for n in range(MAX_PER_SIDE + 1)]


def test_beyond_the_work_budget_pairs_by_position() -> None:
    big = "x" * 5000
    legacy = [person(1, bio=big), person(2, bio=big)]
    assert pair_by_similarity(legacy, legacy[::-1]) == [(0, 0), (1, 1)]


def test_past_orjson_depth_pairs_by_position() -> None:
    deep: Any = 0
    for _ in range(300):
        deep = [deep]
    assert pair_by_similarity([deep, {"a": 1}], [{"a": 1}, deep]) == [(0, 0), (1, 1)]
