"""Property tests: self-comparison matches, verdicts are symmetric, random input never raises."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from comparators.compare import compare
from comparators.model import DiffKind, Observation, Verdict
from comparators.spec import CompareSpec

SPEC = CompareSpec()
JSON_TYPE = (("Content-Type", "application/json"),)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


def observe(document: Any, pretty: bool = False) -> Observation:
    option = orjson.OPT_INDENT_2 if pretty else 0
    return Observation(200, JSON_TYPE, orjson.dumps(document, option=option))


@settings(max_examples=200, deadline=None)
@given(documents)
def test_compare_x_with_itself_matches(document: Any) -> None:
    assert compare(SPEC, observe(document), observe(document)).matched
    # Same document, other bytes: the parsed path must match too.
    assert compare(SPEC, observe(document), observe(document, pretty=True)).matched


@settings(max_examples=200, deadline=None)
@given(documents, documents)
def test_verdicts_and_difference_paths_are_symmetric(left: Any, right: Any) -> None:
    forward = compare(SPEC, observe(left), observe(right))
    backward = compare(SPEC, observe(right), observe(left))
    assert forward.verdict is backward.verdict
    swap = {DiffKind.MISSING: DiffKind.EXTRA, DiffKind.EXTRA: DiffKind.MISSING}
    assert sorted((d.path, swap.get(d.kind, d.kind).value) for d in forward.differences) == sorted(
        d.key() for d in backward.differences
    )


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=64),
    st.binary(max_size=64),
    st.sampled_from(["application/json", "text/plain", ""]),
    st.sampled_from(["", "gzip", "br", "deflate", "gzip, br"]),
)
def test_random_bytes_never_raise(left: bytes, right: bytes, content_type: str, encoding: str) -> None:
    headers = (("Content-Type", content_type), ("Content-Encoding", encoding))
    result = compare(SPEC, Observation(200, headers, left), Observation(200, headers, right))
    assert result.verdict is (Verdict.MATCHED if left == right else result.verdict)
    assert all(isinstance(d.kind, DiffKind) for d in result.differences)


@settings(max_examples=100, deadline=None)
@given(documents, documents)
def test_a_difference_is_reported_iff_the_documents_differ(left: Any, right: Any) -> None:
    result = compare(SPEC, observe(left), observe(right))
    assert result.matched == _json_equal(left, right)


def _json_equal(left: Any, right: Any) -> bool:
    """Reference JSON equality: bool is not a number, int and float are one number type."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right
