"""Property tests of the normalizers: idempotent, self-comparison matches, symmetric, never raise."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from comparators import CompareSpec, Observation, compare
from comparators import parse_path as P
from comparators.compare import normalize, read_pair
from comparators.normalizers import (
    EmptyEquivalent,
    ErrorsOnly,
    Ids,
    Ignore,
    Rule,
    SortedBy,
    StatusEquivalent,
    Strings,
    Timestamps,
    Tolerance,
    Unordered,
    Urls,
    ValueMap,
    same,
)
from comparators.pair import Pair

KEYS = ["a", "b", "c", "d", "e", "n", "t", "v", "s", "u", "id", "_id", "k", "code"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.sampled_from(
        ["", " Yes ", "yes", "no", "2024-05-01T10:00:00.5Z", "http://h/p?q=1&r=2", "5f1d7a3b9c8e4f2a1b3c4d5e"]
    )
    | st.sampled_from(
        ["2024-05-01T10:00:00.501Z", "2024-05-01T10:00:00.5023Z", "b, a", "a, b", " a ,b", "  "]
    )
    | st.text(max_size=6)
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=25,
)
statuses = st.sampled_from([200, 404, 410, 500])

SYMMETRIC_RULES: list[Rule] = [
    Ignore(paths=(P("$..a"), P("header:x-a"))),
    Unordered(paths=(P("$..b"),)),
    Unordered(paths=(P("$..c"),), key=P("$._id")),
    Unordered(paths=(P("$..c"),), key=P("$._id"), report_order=True),
    Unordered(paths=(P("$..k"),), duplicates="ignore"),
    Unordered(paths=(P("$..e"),), key=P("$.id"), duplicates="ignore", report_order=True),
    SortedBy(paths=(P("$..d"),), key=P("$.k")),
    Tolerance(paths=(P("$..n"),), absolute=0.5, relative=0.01),
    Timestamps(paths=(P("$..t"),), precision="s"),
    Timestamps(paths=(P("$..t"), P("header:x-a")), tolerance=timedelta(milliseconds=1)),
    EmptyEquivalent(paths=(P("$..e"),), forms=frozenset({"null", "missing", "empty_string", "empty_array"})),
    ValueMap(paths=(P("$..v"),), mapping={"yes": True, "no": False}, case_insensitive=True),
    Strings(
        paths=(P("$..s"),), trim=True, casefold=True, nfc=True, pattern=re.compile(r"\d+"), replacement="#"
    ),
    Strings(paths=(P("$..s[*]"), P("$..u")), split=",", sort=True, trim=True, drop_empty=True),
    Strings(paths=(P("$..v[*]"), P("header:x-a")), split=" ", sort=True, casefold=True, drop_empty=True),
    Urls(paths=(P("$..u"),), query_keys=("q",)),
    ErrorsOnly(paths=(P("$.code"),)),
    StatusEquivalent(classes=(frozenset({404, 410}),)),
]
ALL_RULES: list[Rule] = [
    *SYMMETRIC_RULES,
    Ids(paths=(P("$..id"),), legacy_format="objectid", candidate_format="int"),
]
PIPELINE = CompareSpec(normalizers=tuple(ALL_RULES))
SYMMETRIC = CompareSpec(normalizers=tuple(SYMMETRIC_RULES))


def observe(document: Any, status: int = 200) -> Observation:
    return Observation(
        status, (("Content-Type", "application/json"), ("X-A", str(status))), orjson.dumps(document)
    )


def sides_equal(left: Pair, right: Pair) -> bool:
    return all(
        a.status == b.status
        and a.headers == b.headers
        and a.body.kind is b.body.kind
        and same(a.body.content, b.body.content)
        for a, b in ((left.legacy, right.legacy), (left.candidate, right.candidate))
    )


@settings(max_examples=150, deadline=None)
@given(documents, documents, statuses, statuses)
def test_each_normalizer_is_idempotent(left: Any, right: Any, left_status: int, right_status: int) -> None:
    for rule in ALL_RULES:
        spec = CompareSpec(normalizers=(rule,))
        once = normalize(spec, read_pair(spec, observe(left, left_status), observe(right, right_status)))
        assert sides_equal(normalize(spec, once), once), rule.name


@settings(max_examples=150, deadline=None)
@given(documents, statuses)
def test_compare_x_with_x_matches_under_the_pipeline(document: Any, status: int) -> None:
    assert compare(PIPELINE, observe(document, status), observe(document, status)).matched
    pretty = Observation(
        status, observe(document, status).headers, orjson.dumps(document, option=orjson.OPT_INDENT_2)
    )
    assert compare(PIPELINE, observe(document, status), pretty).matched


@settings(max_examples=150, deadline=None)
@given(documents, documents, statuses, statuses)
def test_verdicts_are_symmetric(left: Any, right: Any, left_status: int, right_status: int) -> None:
    forward = compare(SYMMETRIC, observe(left, left_status), observe(right, right_status))
    backward = compare(SYMMETRIC, observe(right, right_status), observe(left, left_status))
    assert forward.verdict is backward.verdict


@settings(max_examples=150, deadline=None)
@given(documents, documents, statuses, statuses)
def test_random_json_never_raises(left: Any, right: Any, left_status: int, right_status: int) -> None:
    result = compare(PIPELINE, observe(left, left_status), observe(right, right_status))
    assert result.rules_hit <= result.rules_evaluated
    assert all(i.rule in result.rules_hit for i in result.ignored)


def test_pipeline_on_nesting_past_the_recursion_limit() -> None:
    units = 250  # 4 levels each: 1000 levels, parsed by orjson, too deep for Python's `==` or repr
    left = '{"x": [{"t": 1, "c": [' * units + "1" + "]}]}" * units
    right = left.replace('"t": 1', '"t": 2', 1)
    legacy = Observation(200, (("Content-Type", "application/json"),), left.encode())
    candidate = Observation(200, legacy.headers, right.encode())
    assert compare(PIPELINE, legacy, Observation(200, legacy.headers, left.encode() + b" ")).matched
    result = compare(PIPELINE, legacy, candidate)
    assert [d.key() for d in result.differences] == [("$.x[*].t", "value")]


small_objects = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), scalars | st.lists(scalars, max_size=2), max_size=3),
    max_size=6,
)


@settings(max_examples=100, deadline=None)
@given(small_objects, small_objects, st.randoms(use_true_random=False))
def test_unordered_objects_pair_by_similarity_soundly(left: Any, right: Any, rng: Any) -> None:
    """Leftover objects meet by similarity: a shuffle still matches, twice is once, and both ways agree."""
    spec = CompareSpec(normalizers=(Unordered(paths=(P("$.xs"),)),))
    shuffled = left[:]
    rng.shuffle(shuffled)
    assert compare(spec, observe({"xs": left}), observe({"xs": shuffled})).matched
    once = normalize(spec, read_pair(spec, observe({"xs": left}), observe({"xs": right})))
    assert sides_equal(normalize(spec, once), once)
    forward = compare(spec, observe({"xs": left}), observe({"xs": right}))
    assert forward.verdict is compare(spec, observe({"xs": right}), observe({"xs": left})).verdict
