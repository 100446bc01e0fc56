"""Exact structural diff of two parsed JSON documents into flat differences, iteratively (any depth)."""

from __future__ import annotations

from typing import Any

import orjson

from comparators.model import Difference, DiffKind
from comparators.paths import Step, render

MAX_DIFFERENCES = 1000  # per comparison, after collapsing identical (path, kind) pairs
BRIEF_CHARS = 200


def json_type(value: Any) -> str:
    """The JSON type name; bool is not a number here, and int and float are one number type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def brief(value: Any) -> Any:
    """A bounded stand-in for a value in a Difference: scalars as they are, long text and trees cut short."""
    if isinstance(value, str):
        return value if len(value) <= BRIEF_CHARS else value[:BRIEF_CHARS] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = f"<{json_type(value)} nested too deep to show>"
    return text if len(text) <= BRIEF_CHARS else text[:BRIEF_CHARS] + "…"


def documents_equal(legacy: Any, candidate: Any) -> bool:
    """Exact JSON equality: `==` decides fast, but True == 1 must not count as equal."""
    try:
        if legacy != candidate:
            return False
    except RecursionError:
        return not diff_documents(legacy, candidate)
    option = orjson.OPT_SORT_KEYS
    try:
        if orjson.dumps(legacy, option=option) == orjson.dumps(candidate, option=option):
            return True
    except (TypeError, orjson.JSONEncodeError):
        pass
    # Equal by `==` yet serialized differently: 1 vs 1.0 (equal) or true vs 1 (not); the walker knows.
    return not diff_documents(legacy, candidate)


def diff_documents(legacy: Any, candidate: Any, limit: int = MAX_DIFFERENCES) -> list[Difference]:
    """Every difference, one per (collapsed path, kind), in deterministic order."""
    walk = _Walk()
    stack: list[tuple[Link, Any, Any]] = [(None, legacy, candidate)]
    children: list[tuple[Link, Any, Any]] = []
    found = walk.found
    while stack and len(found) < limit:
        link, left, right = stack.pop()
        walk.node(link, left, right, children)
        if children:
            children.reverse()  # popped last-in first: visit children in document order
            stack.extend(children)
            children.clear()
    differences = [
        Difference(_path(link), kind, brief(left), brief(right))
        for (link, kind, left, right) in walk.found.values()
    ]
    return sorted(differences, key=lambda d: (d.path, d.kind.value))


# A location as an interned linked list (parent, step) with array indices collapsed to 0: O(1) to extend at
# any depth, one object per collapsed path (so differences deduplicate by identity), rendered only at the end.
Link = tuple[Any, Step] | None
_CONTAINERS = (dict, list)
_NUMBERS = (int, float)


def _path(link: Link) -> str:
    steps: list[Step] = []
    while link is not None:
        link, step = link
        steps.append(step)
    return render(tuple(reversed(steps)))


class _Walk:
    """The state of one diff: interned links and the first difference seen per (path, kind)."""

    __slots__ = ("found", "links")

    def __init__(self) -> None:
        self.links: dict[tuple[int, Step], Link] = {}
        self.found: dict[tuple[int, DiffKind], tuple[Link, DiffKind, Any, Any]] = {}

    def child(self, link: Link, step: Step) -> Link:
        key = (id(link), step)
        found = self.links.get(key)
        if found is None:
            found = self.links[key] = (link, step)
        return found

    def report(self, link: Link, kind: DiffKind, left: Any, right: Any) -> None:
        self.found.setdefault((id(link), kind), (link, kind, left, right))

    def node(self, link: Link, left: Any, right: Any, stack: list[tuple[Link, Any, Any]]) -> None:
        """Report this node's own differences; push the child pairs that may still differ."""
        left_type, right_type = type(left), type(right)
        if left_type is dict and right_type is dict:
            self._object(link, left, right, stack)
        elif left_type is list and right_type is list:
            self._array(link, left, right, stack)
        elif left_type is right_type or (left_type in _NUMBERS and right_type in _NUMBERS):
            if left != right:
                self.report(link, DiffKind.VALUE, left, right)
        else:
            self.report(link, DiffKind.TYPE, left, right)

    def _object(self, link: Link, left: dict[str, Any], right: dict[str, Any], stack: list[Any]) -> None:
        # Insertion order, not sorted: the output is sorted anyway and the input fixes the order.
        same_keys = left.keys() == right.keys()
        for key in left if same_keys else [*left, *(k for k in right if k not in left)]:
            if not same_keys and key not in right:
                self.report(self.child(link, key), DiffKind.MISSING, left[key], None)
            elif not same_keys and key not in left:
                self.report(self.child(link, key), DiffKind.EXTRA, None, right[key])
            else:
                left_value, right_value = left[key], right[key]
                if left_value is right_value:
                    continue
                # _pair inlined for two scalars of one type, most fields of most documents: no call each.
                value_type = type(left_value)
                if value_type is type(right_value) and value_type not in _CONTAINERS:
                    if left_value != right_value:
                        self.report(self.child(link, key), DiffKind.VALUE, left_value, right_value)
                else:
                    self._pair(link, key, left_value, right_value, stack)

    def _array(self, link: Link, left: list[Any], right: list[Any], stack: list[Any]) -> None:
        texts = _element_texts(left, right) if len(left) == len(right) > 1 else None
        if texts is not None:
            if _reordered(left, right, *texts):
                self.report(link, DiffKind.ORDER, left, right)
            else:
                self._elements(link, left, right, texts[0], texts[1], stack)
            return
        if len(left) == len(right) > 1 and _same_multiset(left, right):  # (unserializable: False)
            self.report(link, DiffKind.ORDER, left, right)
            return
        shared = min(len(left), len(right))
        if len(left) > shared:
            self.report(self.child(link, 0), DiffKind.MISSING, left[shared], None)
        if len(right) > shared:
            self.report(self.child(link, 0), DiffKind.EXTRA, None, right[shared])
        for left_value, right_value in zip(left, right, strict=False):  # the first `shared` elements
            if left_value is right_value:
                continue
            value_type = type(left_value)  # _pair inlined for scalars, as in _object
            if value_type is type(right_value) and value_type not in _CONTAINERS:
                if left_value != right_value:
                    self.report(self.child(link, 0), DiffKind.VALUE, left_value, right_value)
            else:
                self._pair(link, 0, left_value, right_value, stack)

    def _elements(
        self,
        link: Link,
        left: list[Any],
        right: list[Any],
        left_texts: list[bytes],
        right_texts: list[bytes],
        stack: list[Any],
    ) -> None:
        """_pair for each element of two same-length arrays, their serializations already at hand."""
        for index, left_value in enumerate(left):
            right_value = right[index]
            if left_value is right_value:
                continue
            value_type = type(left_value)
            if value_type is type(right_value):
                if value_type in _CONTAINERS:
                    if left_texts[index] != right_texts[index]:  # what _same_bytes would say
                        stack.append((self.child(link, 0), left_value, right_value))
                elif left_value != right_value:
                    self.report(self.child(link, 0), DiffKind.VALUE, left_value, right_value)
            else:
                self.node(self.child(link, 0), left_value, right_value, stack)

    def _pair(self, parent: Link, step: Step, left: Any, right: Any, stack: list[Any]) -> None:
        """Settle two scalars on the spot; push two containers unless they are byte-identical."""
        if left is right:
            return
        left_type = type(left)
        if left_type is type(right):
            if left_type in _CONTAINERS:
                if not _same_bytes(left, right):
                    stack.append((self.child(parent, step), left, right))
            elif left != right:
                self.report(self.child(parent, step), DiffKind.VALUE, left, right)
        else:
            self.node(self.child(parent, step), left, right, stack)


def _same_bytes(left: Any, right: Any) -> bool:
    """Exact equality of two containers when their compact serializations match (False: walk them)."""
    try:
        return orjson.dumps(left) == orjson.dumps(right)
    except orjson.JSONEncodeError:
        return False


def _same_multiset(
    left: list[Any],
    right: list[Any],
    left_texts: list[bytes] | None = None,
    right_texts: list[bytes] | None = None,
) -> bool:
    """Same elements in another order (exact, via canonical serialization); False when unsure.

    Given the elements' compact serializations, a scalar's is reused: only containers (whose keys may be
    in another order) are serialized again with sorted keys.
    """
    try:
        left_keys = _canonical(left, left_texts)
        right_keys = _canonical(right, right_texts)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return left_keys != right_keys and sorted(left_keys) == sorted(right_keys)


def _canonical(items: list[Any], texts: list[bytes] | None) -> list[bytes]:
    option = orjson.OPT_SORT_KEYS
    if texts is None:
        return [orjson.dumps(item, option=option) for item in items]
    return [
        orjson.dumps(item, option=option) if type(item) in _CONTAINERS else text
        for item, text in zip(items, texts, strict=True)
    ]


def _element_texts(left: list[Any], right: list[Any]) -> tuple[list[bytes], list[bytes]] | None:
    """Each element's compact serialization, both sides; None when one cannot be serialized."""
    dumps = orjson.dumps
    try:
        return [dumps(item) for item in left], [dumps(item) for item in right]
    except (TypeError, orjson.JSONEncodeError):
        return None


def _reordered(left: list[Any], right: list[Any], left_texts: list[bytes], right_texts: list[bytes]) -> bool:
    """_same_multiset, skipped when the serializations show it false: identical in order, or sizes differ.

    Sorting keys does not change a serialization's size, so unequal multisets of sizes rule out a reorder.
    """
    if left_texts == right_texts:
        return False
    if sorted(map(len, left_texts)) != sorted(map(len, right_texts)):
        return False
    return _same_multiset(left, right, left_texts, right_texts)
