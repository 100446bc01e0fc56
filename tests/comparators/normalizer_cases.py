"""The per-normalizer case table: what each rule hides, what it must still report, and what it notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from comparators import CompareSpec, Comparison, Observation, compare
from comparators import parse_path as P
from comparators.normalizers import (
    ErrorsOnly,
    Ignore,
    Rule,
    SortedBy,
    Timestamps,
    Tolerance,
    Unordered,
)

JSON = (("Content-Type", "application/json"),)
OID = "5f1d7a3b9c8e4f2a1b3c4d5e"
UUID = "0b9a3c1e-2f4d-4a5b-8c6d-7e8f9a0b1c2d"


def obs(body: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = JSON) -> Observation:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Observation(status, headers, raw)


@dataclass(frozen=True)
class Case:
    id: str
    rule: Rule
    legacy: Any
    candidate: Any
    differences: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    hit: bool = True
    statuses: tuple[int, int] = (200, 200)


def run(case: Case) -> Comparison:
    spec = CompareSpec(normalizers=(case.rule,))
    return compare(spec, obs(case.legacy, case.statuses[0]), obs(case.candidate, case.statuses[1]))


def ignore(*paths: str) -> Ignore:
    return Ignore(paths=tuple(P(p) for p in paths), reason="noise")


def unordered(
    path: str, key: str | None = None, report_order: bool = False, duplicates: str = "count"
) -> Unordered:
    return Unordered(
        paths=(P(path),), key=P(key) if key else None, report_order=report_order, duplicates=duplicates
    )


def mission(n: int, **changes: Any) -> dict[str, Any]:
    return {"id": n, "name": f"m{n}", "status": "open", "tags": ["x", "y"], **changes}


def tolerance(path: str, absolute: float = 0.0, relative: float = 0.0) -> Tolerance:
    return Tolerance(paths=(P(path),), absolute=absolute, relative=relative)


def stamps(path: str, precision: str = "ms", epoch: str = "auto") -> Timestamps:
    return Timestamps(paths=(P(path),), precision=precision, epoch=epoch)


STRUCTURE_CASES = [
    # ignore
    Case(
        "ignore hides a differing field",
        ignore("$.id"),
        {"id": 1, "a": 1},
        {"id": 2, "a": 1},
        ignored=["$.id"],
    ),
    Case(
        "ignore keeps other fields",
        ignore("$.id"),
        {"id": 1, "a": 1},
        {"id": 2, "a": 2},
        [("$.a", "value")],
        ["$.id"],
    ),
    Case(
        "ignore any depth",
        ignore("$..ts"),
        {"a": [{"ts": 1}], "ts": 2},
        {"a": [{"ts": 3}], "ts": 2},
        ignored=["$.a[*].ts"],
    ),
    Case("ignore missing on one side", ignore("$.x"), {"x": 1}, {}, ignored=["$.x"]),
    Case(
        "ignore equal field: hit, nothing hidden",
        ignore("$.x"),
        {"x": 1, "y": 1},
        {"x": 1, "y": 2},
        [("$.y", "value")],
    ),
    Case("ignore dead path", ignore("$.nope"), {"a": 1}, {"a": 2}, [("$.a", "value")], hit=False),
    Case("ignore status", ignore("status"), {}, {}, [], ["status"], statuses=(200, 201)),
    # unordered
    Case("unordered scalars", unordered("$.xs"), {"xs": [1, 2, 3]}, {"xs": [3, 1, 2]}, ignored=["$.xs"]),
    Case(
        "unordered still sees a change",
        unordered("$.xs"),
        {"xs": [1, 2, 3]},
        {"xs": [3, 1, 4]},
        [("$.xs[*]", "value")],
        ["$.xs"],
    ),
    Case(
        "unordered multiset counts",
        unordered("$.xs"),
        {"xs": [1, 1, 2]},
        {"xs": [1, 2, 2]},
        [("$.xs[*]", "value")],
    ),
    Case(
        "unordered missing element", unordered("$.xs"), {"xs": [1, 2]}, {"xs": [2]}, [("$.xs[*]", "missing")]
    ),
    Case(
        "unordered by key: moved and changed element is one field diff",
        unordered("$.data", "$._id"),
        {"data": [{"_id": "a", "v": 1}, {"_id": "b", "v": 2}, {"_id": "c", "v": 3}]},
        {"data": [{"_id": "c", "v": 3}, {"_id": "a", "v": 9}, {"_id": "b", "v": 2}]},
        [("$.data[*].v", "value")],
        ["$.data"],
    ),
    Case(
        "unordered by key: membership",
        unordered("$.data", "$._id"),
        {"data": [{"_id": "a"}, {"_id": "b"}]},
        {"data": [{"_id": "b"}, {"_id": "z"}]},
        [("$.data[*]", "extra"), ("$.data[*]", "missing")],
    ),
    Case(
        "unordered report_order: a move is one order difference",
        unordered("$.data", "$._id", report_order=True),
        {"data": [{"_id": "a"}, {"_id": "b"}]},
        {"data": [{"_id": "b"}, {"_id": "a"}]},
        [("$.data", "order")],
    ),
    Case("unordered not an array", unordered("$.xs"), {"xs": 1}, {"xs": 2}, [("$.xs", "value")]),
    Case(
        "unordered: a changed element meets its most similar counterpart",
        unordered("$.xs"),
        {"xs": [mission(1), mission(2), mission(3)]},
        {"xs": [mission(3), mission(2, status="closed"), mission(1, name="one")]},
        [("$.xs[*].name", "value"), ("$.xs[*].status", "value")],
    ),
    Case(
        "unordered: the similar counterpart among extras",
        unordered("$.xs"),
        {"xs": [mission(1)]},
        {"xs": [mission(7, name="x", status="y"), mission(1, tags=["x"]), mission(8, name="z")]},
        [("$.xs[*]", "extra"), ("$.xs[*].tags[*]", "missing")],
    ),
    # unordered: sets
    Case(
        "unordered set: duplicates ignored",
        unordered("$.xs", duplicates="ignore"),
        {"xs": ["a", "b", "a", "b"]},
        {"xs": ["b", "a"]},
        ignored=["$.xs"],
    ),
    Case(
        "unordered set still sees a change",
        unordered("$.xs", duplicates="ignore"),
        {"xs": ["a", "b", "a"]},
        {"xs": ["a", "c"]},
        [("$.xs[*]", "value")],
    ),
    Case(
        "unordered set: membership",
        unordered("$.xs", duplicates="ignore"),
        {"xs": ["a", "b", "a"]},
        {"xs": ["a", "a"]},
        [("$.xs[*]", "missing")],
    ),
    Case(
        "unordered set: report_order keeps first positions compared",
        unordered("$.xs", report_order=True, duplicates="ignore"),
        {"xs": ["b", "a", "b"]},
        {"xs": ["a", "b"]},
        [("$.xs", "order")],
    ),
    Case(
        "unordered set by key: repeated elements once",
        unordered("$.xs", "$.id", duplicates="ignore"),
        {"xs": [{"id": 1, "v": 1}, {"id": 1, "v": 1}, {"id": 2}]},
        {"xs": [{"id": 2}, {"id": 1, "v": 2}]},
        [("$.xs[*].v", "value")],
        ["$.xs"],
    ),
    # sorted_by
    Case(
        "sorted_by: ties in any order",
        SortedBy(paths=(P("$.xs"),), key=P("$.rank")),
        {"xs": [{"rank": 1, "n": "a"}, {"rank": 1, "n": "b"}, {"rank": 2, "n": "c"}]},
        {"xs": [{"rank": 1, "n": "b"}, {"rank": 1, "n": "a"}, {"rank": 2, "n": "c"}]},
        ignored=["$.xs"],
    ),
    Case(
        "sorted_by: broken sort is an order difference",
        SortedBy(paths=(P("$.xs"),), key=P("$.rank")),
        {"xs": [{"rank": 1}, {"rank": 2}]},
        {"xs": [{"rank": 2}, {"rank": 1}]},
        [("$.xs", "order")],
    ),
    Case(
        "sorted_by: different membership within a tie",
        SortedBy(paths=(P("$.xs"),), key=P("$.rank")),
        {"xs": [{"rank": 1, "n": "a"}, {"rank": 1, "n": "b"}]},
        {"xs": [{"rank": 1, "n": "b"}, {"rank": 1, "n": "z"}]},
        [("$.xs[*].n", "value")],
    ),
    Case(
        "sorted_by descending: missing run",
        SortedBy(paths=(P("$.xs"),), key=P("$.rank"), descending=True),
        {"xs": [{"rank": 3}, {"rank": 2}]},
        {"xs": [{"rank": 3}]},
        [("$.xs[*]", "missing")],
    ),
    # errors
    Case(
        "errors: only code",
        ErrorsOnly(paths=(P("$.code"),)),
        {"code": "E1", "msg": "a"},
        {"code": "E1", "msg": "b"},
        [],
        ["body"],
        statuses=(404, 404),
    ),
    Case(
        "errors: code differs",
        ErrorsOnly(paths=(P("$.code"),)),
        {"code": "E1"},
        {"code": "E2"},
        [("$.code", "value")],
        statuses=(404, 404),
    ),
    Case(
        "errors: success untouched",
        ErrorsOnly(paths=(P("$.code"),)),
        {"msg": "a"},
        {"msg": "b"},
        [("$.msg", "value")],
        hit=False,
    ),
    Case(
        "errors: status still compared",
        ErrorsOnly(paths=(P("$.code"),)),
        {"code": 1},
        {"code": 1, "x": 2},
        [("status", "status")],
        ["body"],
        statuses=(404, 500),
    ),
]
