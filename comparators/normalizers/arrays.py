"""Order rules for arrays: unordered (multiset, optionally matched by a key) and sorted-by with ties."""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from comparators.deep import pair_by_similarity
from comparators.model import Difference, DiffKind
from comparators.normalizers.base import Notes, PathRule, same
from comparators.paths import MISSING, Path
from comparators.walk import brief, json_type

Identity = Callable[[Any], Hashable]


def canonical(value: Any) -> bytes:
    """Equal bytes exactly for equal JSON values (keys sorted), at any depth."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return _canonical_deep(value)


def _canonical_deep(value: Any) -> bytes:
    """The same serialization without recursion, for values nested deeper than orjson goes.

    JSON values never hold bytes, so bytes on the stack are output tokens.
    """
    parts: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            parts.append(item)
        elif isinstance(item, dict):
            tokens: list[Any] = [b"{"]
            for index, key in enumerate(sorted(item)):
                tokens += [(b"," if index else b"") + orjson.dumps(key) + b":", item[key]]
            stack.extend(reversed([*tokens, b"}"]))
        elif isinstance(item, list):
            tokens = [b"["]
            for index, element in enumerate(item):
                tokens += [b","] if index else []
                tokens.append(element)
            stack.extend(reversed([*tokens, b"]"]))
        else:
            parts.append(orjson.dumps(item))
    return b"".join(parts)


def key_reader(key: Path | None) -> Callable[[Any], Any]:
    """Read an element's key: a plain field fast, a relative path through Path.find; MISSING if absent."""
    if key is None:
        return lambda element: MISSING
    if len(key.segments) == 1 and not key.segments[0].startswith("\x00"):
        field = key.segments[0]
        return lambda element: element.get(field, MISSING) if isinstance(element, dict) else MISSING
    return lambda element: (key.find(element) or [("", MISSING)])[0][1]


@dataclass(frozen=True, slots=True)
class Alignment:
    """Both arrays rearranged so equal elements face each other; `moved` when matched order differed."""

    legacy: list[Any]
    candidate: list[Any]
    missing: list[Any]  # legacy elements with no counterpart, dropped from the arrays
    extra: list[Any]  # candidate elements with no counterpart, dropped from the arrays
    moved: bool


def align(legacy: list[Any], candidate: list[Any], identity: Identity, pair_leftovers: bool) -> Alignment:
    """Match elements by identity in legacy order; leftovers meet their most similar counterpart, or drop."""
    waiting: dict[Hashable, deque[int]] = defaultdict(deque)
    for index, element in enumerate(candidate):
        waiting[identity(element)].append(index)
    matched: list[int] = []
    left_over: list[Any] = []
    new_legacy: list[Any] = []
    for element in legacy:
        queue = waiting.get(identity(element))
        if queue:
            matched.append(queue.popleft())
            new_legacy.append(element)
        else:
            left_over.append(element)
    taken = set(matched)
    right_over = [element for index, element in enumerate(candidate) if index not in taken]
    new_candidate = [candidate[index] for index in matched]
    moved = any(a > b for a, b in itertools.pairwise(matched))
    if not pair_leftovers:
        return Alignment(new_legacy, new_candidate, left_over, right_over, moved)
    pairs = pair_by_similarity(left_over, right_over)
    paired_left, paired_right = {i for i, _ in pairs}, {j for _, j in pairs}
    return Alignment(
        new_legacy + [left_over[i] for i, _ in pairs],
        new_candidate + [right_over[j] for _, j in pairs],
        [e for i, e in enumerate(left_over) if i not in paired_left],
        [e for j, e in enumerate(right_over) if j not in paired_right],
        moved,
    )


def report_unpaired(path: str, alignment: Alignment, notes: Notes) -> None:
    item = f"{path}[*]"
    notes.differences.extend(
        Difference(item, DiffKind.MISSING, brief(e), None) for e in alignment.missing[:1]
    )
    notes.differences.extend(Difference(item, DiffKind.EXTRA, None, brief(e)) for e in alignment.extra[:1])


DUPLICATES = ("count", "ignore")


def distinct(elements: list[Any]) -> list[Any]:
    """The elements without repeats (first occurrence kept); the same list when none repeats."""
    seen: set[bytes] = set()
    kept = []
    for element in elements:
        text = canonical(element)
        if text not in seen:
            seen.add(text)
            kept.append(element)
    return elements if len(kept) == len(elements) else kept


@dataclass(frozen=True, kw_only=True)
class Unordered(PathRule):
    """Arrays as multisets (or sets); with `key`, elements are matched by it and compared field by field."""

    op: ClassVar[str] = "unordered"
    key: Path | None = None
    report_order: bool = False  # report a reordering as one `order` difference instead of ignoring it
    duplicates: str = "count"  # "ignore": arrays are sets, an element equal to an earlier one is dropped

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.duplicates not in DUPLICATES:
            raise ValueError(f"duplicates must be one of {', '.join(DUPLICATES)}, got {self.duplicates!r}")

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        if not (isinstance(legacy, list) and isinstance(candidate, list)):
            return legacy, candidate
        if self.duplicates == "ignore":
            legacy, candidate = distinct(legacy), distinct(candidate)
        alignment = align(legacy, candidate, self._identity(), pair_leftovers=self.key is None)
        report_unpaired(path, alignment, notes)
        if alignment.moved and self.report_order:
            notes.differences.append(Difference(path, DiffKind.ORDER, brief(legacy), brief(candidate)))
        elif alignment.moved and (
            alignment.missing or alignment.extra or not same(alignment.legacy, alignment.candidate)
        ):
            notes.ignored.append(
                self.ignored(path)
            )  # the order was hidden even though other differences remain
        return _unchanged_if_equal(legacy, alignment.legacy), _unchanged_if_equal(
            candidate, alignment.candidate
        )

    def _identity(self) -> Identity:
        if self.key is None:
            return canonical
        read_key = key_reader(self.key)

        def keyed(element: Any) -> Hashable:
            key = read_key(element)
            return ("key", canonical(key)) if key is not MISSING else ("element", canonical(element))

        return keyed


def _unchanged_if_equal(before: list[Any], after: list[Any]) -> list[Any]:
    """Keep the original object when nothing moved, so the edit counts as no change."""
    if len(before) == len(after) and all(a is b for a, b in zip(before, after, strict=True)):
        return before
    return after


_TYPE_RANK = {"null": 0, "boolean": 1, "number": 2, "string": 3}


def sort_key(value: Any) -> tuple[int, Any]:
    """A total order over JSON values: by type, then value (containers by canonical text)."""
    kind = json_type(value) if value is not MISSING else "missing"
    rank = _TYPE_RANK.get(kind, 4 if kind != "missing" else -1)
    if rank in (1, 2, 3):
        return (rank, value)
    return (rank, canonical(value) if rank == 4 else 0)


@dataclass(frozen=True, kw_only=True)
class SortedBy(PathRule):
    """Arrays sorted by `key`: the key order is compared, ties (equal keys) are compared as multisets."""

    op: ClassVar[str] = "sorted_by"
    key: Path
    descending: bool = False

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        if not (isinstance(legacy, list) and isinstance(candidate, list)):
            return legacy, candidate
        read_key = key_reader(self.key)
        if self._is_sorted(legacy, read_key) != self._is_sorted(candidate, read_key):
            notes.differences.append(Difference(path, DiffKind.ORDER, brief(legacy), brief(candidate)))
        left_runs, right_runs = self._runs(legacy, read_key), self._runs(candidate, read_key)
        new_left: list[Any] = []
        new_right: list[Any] = []
        missing: list[Any] = []
        extra: list[Any] = []
        for run_key in sorted(left_runs.keys() | right_runs.keys(), reverse=self.descending):
            run = align(
                left_runs.get(run_key, []), right_runs.get(run_key, []), canonical, pair_leftovers=True
            )
            new_left += run.legacy
            new_right += run.candidate
            missing += run.missing
            extra += run.extra
        report_unpaired(path, Alignment([], [], missing, extra, False), notes)
        return _unchanged_if_equal(legacy, new_left), _unchanged_if_equal(candidate, new_right)

    def _is_sorted(self, elements: list[Any], read_key: Callable[[Any], Any]) -> bool:
        keys = [sort_key(read_key(e)) for e in elements]
        pairs = itertools.pairwise(keys)
        return all(a >= b for a, b in pairs) if self.descending else all(a <= b for a, b in pairs)

    def _runs(self, elements: list[Any], read_key: Callable[[Any], Any]) -> dict[tuple[int, Any], list[Any]]:
        runs: dict[tuple[int, Any], list[Any]] = defaultdict(list)
        for element in elements:
            runs[sort_key(read_key(element))].append(element)
        return runs
