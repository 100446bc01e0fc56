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
    found: dict[tuple[str, DiffKind], Difference] = {}
    stack: Children = [(None, legacy, candidate)]
    while stack and len(found) < limit:
        location, left, right = stack.pop()
        differences: list[Difference] = []
        children = _compare_node(location, left, right, differences)
        for difference in differences:
            found.setdefault((difference.path, difference.kind), difference)
        stack.extend(reversed(children))
    return sorted(found.values(), key=lambda d: (d.path, d.kind.value))


# A location as a linked list (parent, step): O(1) to extend at any depth, rendered only when reported.
Link = tuple[Any, Step] | None
Children = list[tuple[Link, Any, Any]]


def _path(link: Link, extra: Step | None = None) -> str:
    steps: list[Step] = [] if extra is None else [extra]
    while link is not None:
        link, step = link
        steps.append(step)
    return render(tuple(reversed(steps)))


def _compare_node(location: Link, left: Any, right: Any, out: list[Difference]) -> Children:
    """Report this node's own differences into `out`; return the child pairs still to compare."""
    left_type, right_type = json_type(left), json_type(right)
    if left_type != right_type:
        out.append(Difference(_path(location), DiffKind.TYPE, brief(left), brief(right)))
    elif left_type == "object":
        return _object(location, left, right, out)
    elif left_type == "array":
        return _array(location, left, right, out)
    elif left != right:
        out.append(Difference(_path(location), DiffKind.VALUE, brief(left), brief(right)))
    return []


def _object(location: Link, left: dict[str, Any], right: dict[str, Any], out: list[Difference]) -> Children:
    children: Children = []
    for key in sorted(left.keys() | right.keys()):
        if key not in right:
            out.append(Difference(_path(location, key), DiffKind.MISSING, brief(left[key]), None))
        elif key not in left:
            out.append(Difference(_path(location, key), DiffKind.EXTRA, None, brief(right[key])))
        else:
            children.append(((location, key), left[key], right[key]))
    return children


def _array(location: Link, left: list[Any], right: list[Any], out: list[Difference]) -> Children:
    if len(left) == len(right) > 1 and _same_multiset(left, right):
        out.append(Difference(_path(location), DiffKind.ORDER, brief(left), brief(right)))
        return []
    shared = min(len(left), len(right))
    if len(left) > shared:
        out.append(Difference(_path(location, 0), DiffKind.MISSING, brief(left[shared]), None))
    if len(right) > shared:
        out.append(Difference(_path(location, 0), DiffKind.EXTRA, None, brief(right[shared])))
    return [((location, i), left[i], right[i]) for i in range(shared)]


def _same_multiset(left: list[Any], right: list[Any]) -> bool:
    """Same elements in another order (exact, via canonical serialization); False when unsure."""
    option = orjson.OPT_SORT_KEYS
    try:
        left_keys = [orjson.dumps(item, option=option) for item in left]
        right_keys = [orjson.dumps(item, option=option) for item in right]
    except (TypeError, orjson.JSONEncodeError):
        return False
    return left_keys != right_keys and sorted(left_keys) == sorted(right_keys)
