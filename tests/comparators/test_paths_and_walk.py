"""Table-driven tests of the path syntax (parse, match, find, copy-on-write edit) and the iterative walker."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from comparators.paths import MISSING, parse_path, render
from comparators.walk import diff_documents, documents_equal

INVALID = [
    ("a.b", "starts with '$'"),
    ("$.a[0]", "write [*] instead of [0]"),
    ("$.", "ends with a dot"),
    ("$..", "ends with a dot"),
    ("$...a", "expected a key name at offset 3"),
    ("$[x]", "expected [*] or ['key']"),
    ("$.a b", "expected '.' or '['"),
    ("$['open", "unterminated"),
    ("header:", "header:<name>"),
    ("header:bad name", "header:<name>"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_paths_raise_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_path(text)


MATCHES = [
    ("$.a.b", "$.a.b", True),
    ("$.a.b", "$.a.b.c", False),
    ("$.a.b", "$.a", False),
    ("$.items[*].id", "$.items[*].id", True),
    ("$.items[*].id", "$.items.id", False),
    ("$..updatedAt", "$.updatedAt", True),
    ("$..updatedAt", "$.a[*].b.updatedAt", True),
    ("$..updatedAt", "$.a.updatedAt.x", False),
    ("$.meta.*", "$.meta.x", True),
    ("$.meta.*", "$.meta[*]", False),
    ("$..[*]", "$.a.b[*]", True),
    ("$['odd key'].x", "$['odd key'].x", True),
    ("$..['a b']", "$.x[*]['a b']", True),
    ("$.a-b", "$.a-b", True),
    ("header:ETag", "header:etag", True),
    ("status", "status", True),
    ("body", "body", True),
    ("status", "$.status", False),
]


@pytest.mark.parametrize(("pattern", "concrete", "expected"), MATCHES)
def test_matches(pattern: str, concrete: str, expected: bool) -> None:
    assert parse_path(pattern).matches(concrete) is expected


def test_render_quotes_odd_keys_and_collapses_indices() -> None:
    assert render(("a", 3, "b c", "it's", 0)) == "$.a[*]['b c']['it\\'s'][*]"
    assert parse_path("$['it\\'s']").matches(render(("it's",)))


DOC = {"a": {"id": 1, "items": [{"id": 2, "x": 1}, {"x": 2}]}, "id": 0, "b c": {"id": 9}}

FIND = [
    ("$.a.id", [("$.a.id", 1)]),
    ("$..id", [("$.a.id", 1), ("$.a.items[*].id", 2), ("$.id", 0), ("$['b c'].id", 9)]),
    ("$.a.items[*].x", [("$.a.items[*].x", 1), ("$.a.items[*].x", 2)]),
    ("$.nope", []),
    ("$", [("$", DOC)]),
]


@pytest.mark.parametrize(("pattern", "expected"), FIND)
def test_find(pattern: str, expected: list[tuple[str, Any]]) -> None:
    assert parse_path(pattern).find(DOC) == expected


def test_edit_deletes_without_mutating_the_input() -> None:
    before = copy.deepcopy(DOC)
    new, count = parse_path("$..id").edit(DOC, lambda _path, _value: MISSING)
    assert count == 4
    assert new == {"a": {"items": [{"x": 1}, {"x": 2}]}, "b c": {}}
    assert before == DOC
    assert new["a"]["items"] is not DOC["a"]["items"]


def test_edit_shares_untouched_subtrees() -> None:
    new, _ = parse_path("$.a.id").edit(DOC, lambda _path, value: value + 1)
    assert new["a"]["id"] == 2
    assert new["b c"] is DOC["b c"]
    assert new["a"]["items"] is DOC["a"]["items"]


def test_edit_deletes_array_items_from_the_end() -> None:
    new, count = parse_path("$[*]").edit([1, 2, 3, 4], lambda _path, value: MISSING if value % 2 else value)
    assert (new, count) == ([2, 4], 4)


def test_edit_pair_sees_both_sides_with_missing_placeholders() -> None:
    seen: list[tuple[str, Any, Any]] = []

    def record(path: str, left: Any, right: Any) -> tuple[Any, Any]:
        seen.append((path, left, right))
        return left, right

    parse_path("$.xs[*].v").edit_pair({"xs": [{"v": 1}, {"v": 2}]}, {"xs": [{"v": 1}], "y": 1}, record)
    assert seen == [("$.xs[*].v", 1, 1), ("$.xs[*].v", 2, MISSING)]


def test_edit_at_any_depth_is_iterative() -> None:
    depth = 100_000
    doc: Any = {"leaf": 1}
    for _ in range(depth):
        doc = {"n": doc}
    new, count = parse_path("$..leaf").edit(doc, lambda _path, value: value + 1)
    assert count == 1
    node = new
    while "n" in node:
        node = node["n"]
    assert node == {"leaf": 2}


def test_walker_handles_100k_levels() -> None:
    def nested(leaf: Any) -> Any:
        doc: Any = leaf
        for _ in range(100_000):
            doc = [doc]
        return doc

    (difference,) = diff_documents(nested(1), nested("1"))
    assert difference.kind.value == "type"
    assert difference.path == "$" + "[*]" * 100_000
    assert documents_equal(nested(1), nested(1.0))
    assert not documents_equal(nested(True), nested(1))


def test_walker_limits_and_deduplicates() -> None:
    differences = diff_documents(
        {"xs": [{"v": i} for i in range(500)]}, {"xs": [{"v": -i - 1} for i in range(500)]}
    )
    assert [d.key() for d in differences] == [("$.xs[*].v", "value")]
    assert (differences[0].legacy, differences[0].candidate) == (0, -1)
