"""The merge-joins over in-memory batch streams: every record's fate, order checks, partitions, stopping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from proxy.reconcile.errors import ReconcileError
from proxy.reconcile.keys import Key
from proxy.reconcile.merge import Batch, merge_join, merge_ordered, prefetch


async def stream(keys: Sequence[Any], size: int = 2) -> AsyncIterator[Batch]:
    """Records keyed by `keys` (a str, or None for unkeyed), `size` per batch."""
    records = [((key,) if key is not None else None, f"v{key}") for key in keys]
    for start in range(0, len(records), size):
        yield records[start : start + size]


class Log:
    """A JoinSink writing down each fate in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def missing(self, key: Key, document: Any) -> None:
        self.events.append(("missing", *map(str, key)))

    def extra(self, key: Key, row: Any) -> None:
        self.events.append(("extra", *map(str, key)))

    def pair(self, key: Key, document: Any, row: Any) -> None:
        self.events.append(("pair", *map(str, key)))

    def unkeyed(self, side: str, record: Any) -> None:
        self.events.append(("unkeyed", side))

    def duplicate(self, side: str, key: Key, record: Any) -> None:
        self.events.append(("duplicate", side, *map(str, key)))


async def join(source: Sequence[Any], target: Sequence[Any], size: int = 2) -> list[tuple[str, ...]]:
    log = Log()
    await merge_join(("src", stream(source, size)), ("dst", stream(target, size)), log)
    return log.events


@pytest.mark.parametrize("size", [1, 2, 5])
async def test_every_record_gets_exactly_one_fate_in_key_order(size: int) -> None:
    events = await join(["a", "b", "d", "f"], ["b", "c", "d", "e", "g"], size)
    assert events == [
        ("missing", "a"),
        ("pair", "b"),
        ("extra", "c"),
        ("pair", "d"),
        ("extra", "e"),
        ("missing", "f"),
        ("extra", "g"),
    ]


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ([], [], []),
        (["a"], [], [("missing", "a")]),
        ([], ["a"], [("extra", "a")]),
        (["a", "a", "b"], ["a", "b"], [("pair", "a"), ("duplicate", "source", "a"), ("pair", "b")]),
        ([None, "a"], ["a", None], [("unkeyed", "source"), ("pair", "a"), ("unkeyed", "target")]),
    ],
)
async def test_edges(source: list[Any], target: list[Any], expected: list[tuple[str, ...]]) -> None:
    assert await join(source, target) == expected


async def test_a_side_out_of_order_stops_the_join_naming_both_keys() -> None:
    with pytest.raises(ReconcileError, match="dst returned key 'a' after 'c'"):
        await join(["a", "b", "c"], ["b", "c", "a"])


async def test_stopping_ends_the_join_between_records() -> None:
    log = Log()
    await merge_join(("s", stream("abcdef")), ("t", stream("abcdef")), log, lambda: len(log.events) >= 3)
    assert log.events == [("pair", "a"), ("pair", "b"), ("pair", "c")]


async def collect(batches: AsyncIterator[Batch]) -> list[Any]:
    return [record[0] for batch in [b async for b in batches] for record in batch]


async def test_partitions_merge_into_one_order() -> None:
    strings = stream(["01-uuid", "3e-uuid", "fe-uuid"], 2)
    object_ids = stream(["00aa", "3f00", "9a00", "ff00"], 3)
    merged = await collect(merge_ordered([strings, object_ids, stream([])]))
    assert merged == [(k,) for k in ["00aa", "01-uuid", "3e-uuid", "3f00", "9a00", "fe-uuid", "ff00"]]


async def test_a_disordered_partition_passes_through_for_the_join_to_report() -> None:
    merged = await collect(merge_ordered([stream(["b", "a"], 2), stream(["a0"], 1)]))
    assert sorted(merged) == [("a",), ("a0",), ("b",)]
    assert merged != sorted(merged)


async def test_prefetch_reads_ahead_in_order_and_hands_errors_over() -> None:
    async def failing() -> AsyncIterator[Batch]:
        yield [(("a",), 1)]
        raise ReconcileError("boom")

    assert await collect(prefetch(stream("abcde", 2), depth=1)) == [(c,) for c in "abcde"]
    with pytest.raises(ReconcileError, match="boom"):
        await collect(prefetch(failing()))


async def test_closing_a_prefetch_early_stops_its_reader() -> None:
    finished = asyncio.Event()

    async def endless() -> AsyncIterator[Batch]:
        try:
            while True:
                yield [(("a",), 1)]
        finally:
            finished.set()

    reader = prefetch(endless(), depth=2)
    assert await anext(reader) == [(("a",), 1)]
    await reader.aclose()  # type: ignore[attr-defined]
    assert finished.is_set()
