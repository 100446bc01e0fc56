"""Table-driven tests per normalizer (cases in normalizer_cases.py), plus pipeline-level behaviour."""

from __future__ import annotations

import pickle
import re

import orjson
import pytest
from normalizer_cases import STRUCTURE_CASES, Case, ignore, obs, run, stamps, tolerance, unordered
from value_cases import VALUE_CASES

from comparators import CompareSpec, Observation, compare
from comparators import parse_path as P
from comparators.body import BodyKind
from comparators.normalizers import (
    EmptyEquivalent,
    Ids,
    Ignore,
    ParseAs,
    Strings,
    Timestamps,
    Tolerance,
    ValueMap,
)

CASES = STRUCTURE_CASES + VALUE_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_normalizer(case: Case) -> None:
    result = run(case)
    assert [d.key() for d in result.differences] == sorted(
        case.differences, key=lambda k: (k[0] != "status", k)
    )
    assert [i.path for i in result.ignored] == case.ignored
    assert (case.rule.name in result.rules_hit) is case.hit
    assert result.rules_evaluated == {case.rule.name}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_normalizers_are_picklable_and_symmetric(case: Case) -> None:
    assert pickle.loads(pickle.dumps(case.rule)) == case.rule
    if isinstance(case.rule, Ids):
        return  # ids are directional by design: formats and the mapping are declared per side
    swapped = Case(case.id, case.rule, case.candidate, case.legacy, statuses=case.statuses[::-1])
    assert run(swapped).verdict is run(case).verdict


def test_ignored_reason_and_rule_name_are_carried() -> None:
    rule = Ignore(paths=(P("$.id"),), name="compare[0]:ignore", reason="random per request")
    (ignored,) = compare(CompareSpec(normalizers=(rule,)), obs({"id": 1}), obs({"id": 2})).ignored
    assert (ignored.rule, ignored.path, ignored.reason) == ("compare[0]:ignore", "$.id", "random per request")


def test_rules_run_in_the_order_written() -> None:
    trim = Strings(paths=(P("$.s"),), trim=True, name="trim")
    values = ValueMap(paths=(P("$.s"),), mapping={"yes": True}, name="map")
    legacy, candidate = obs({"s": " yes"}), obs({"s": True})
    assert compare(CompareSpec(normalizers=(trim, values)), legacy, candidate).matched
    assert not compare(CompareSpec(normalizers=(values, trim)), legacy, candidate).matched


def test_normalizers_never_mutate_the_parsed_documents() -> None:
    from comparators.compare import normalize, read_pair

    spec = CompareSpec(normalizers=(ignore("$..id"), unordered("$.xs"), tolerance("$.n", absolute=1)))
    legacy, candidate = obs({"id": 1, "xs": [2, 1], "n": 1}), obs({"id": 2, "xs": [1, 2], "n": 1.5})
    pair = read_pair(spec, legacy, candidate)
    before = (orjson.dumps(pair.legacy.body.content), orjson.dumps(pair.candidate.body.content))
    normalize(spec, pair)
    assert (orjson.dumps(pair.legacy.body.content), orjson.dumps(pair.candidate.body.content)) == before


def test_headers_and_text_bodies() -> None:
    rules = (
        Ignore(paths=(P("header:etag"),)),
        Strings(paths=(P("header:x-trace"), P("body")), pattern=re.compile(r"\d+"), replacement="N"),
    )
    text = ("Content-Type", "text/plain")
    legacy = Observation(200, (text, ("ETag", "1"), ("X-Trace", "t-1")), b"took 12 ms")
    candidate = Observation(200, (text, ("ETag", "2"), ("X-Trace", "t-2")), b"took 15 ms")
    result = compare(CompareSpec(normalizers=rules), legacy, candidate)
    assert result.matched
    assert [i.path for i in result.ignored] == ["header:etag", "header:x-trace", "body"]


def test_ignore_whole_body() -> None:
    result = compare(CompareSpec(normalizers=(Ignore(paths=(P("body"),)),)), obs(b"\x00"), obs(b"\x01"))
    assert result.matched and [i.path for i in result.ignored] == ["body"]


def test_parse_as_reads_a_mislabelled_body() -> None:
    text = (("Content-Type", "text/plain"),)
    legacy = Observation(200, text, b"a=1&b=2")
    candidate = Observation(200, text, b"b=2&a=1")
    assert not compare(CompareSpec(), legacy, candidate).matched
    assert compare(CompareSpec(normalizers=(ParseAs(kind=BodyKind.FORM),)), legacy, candidate).matched


def test_invalid_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="does not apply"):
        Tolerance(paths=(P("header:x"),), absolute=1)
    with pytest.raises(ValueError, match="precision"):
        Timestamps(paths=(P("$.t"),), precision="fortnight")
    with pytest.raises(ValueError, match="legacy_format"):
        Ids(paths=(P("$.id"),), legacy_format="guid")


def test_compare_runs_in_a_worker_process() -> None:
    import concurrent.futures

    spec = CompareSpec(normalizers=(ignore("$.id"), unordered("$.xs", "$._id"), stamps("$.t")))
    legacy, candidate = obs({"id": 1, "xs": [{"_id": 1}], "t": 0}), obs({"id": 2, "xs": [{"_id": 2}], "t": 0})
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(compare, spec, legacy, candidate).result(timeout=30)
    assert remote == compare(spec, legacy, candidate)
    assert [d.key() for d in remote.differences] == [("$.xs[*]", "extra"), ("$.xs[*]", "missing")]


def test_timestamps_in_headers_read_http_dates() -> None:
    rule = Timestamps(paths=(P("header:last-modified"),), precision="s")
    legacy = Observation(200, (("Last-Modified", "Wed, 01 May 2024 10:00:00 GMT"),), b"")
    candidate = Observation(200, (("Last-Modified", "2024-05-01T12:00:00+02:00"),), b"")
    result = compare(CompareSpec(normalizers=(rule,)), legacy, candidate)
    assert result.matched
    assert [i.path for i in result.ignored] == ["header:last-modified"]


def test_location_rules_meet_elements_where_an_earlier_unordered_put_them() -> None:
    """empty_equivalent compares position with position: after an unordered rule, each element meets its own
    counterpart (paired by key, or by similarity without one); before it, whatever shares its index."""
    empty = EmptyEquivalent(paths=(P("$.xs[*].note"),))
    legacy = obs({"xs": [{"id": 1, "note": ""}, {"id": 2, "note": "x"}]})
    candidate = obs({"xs": [{"id": 2, "note": "x"}, {"id": 1, "note": None}]})
    by_key = unordered("$.xs", "$.id")
    assert compare(CompareSpec(normalizers=(by_key, empty)), legacy, candidate).matched
    too_early = compare(CompareSpec(normalizers=(empty, by_key)), legacy, candidate)
    assert [d.key() for d in too_early.differences] == [("$.xs[*].note", "type")]

    places = [{"city": "Lyon", "zip": "69001", "note": ""}, {"city": "Nice", "zip": "06000", "note": ""}]
    moved = [{**places[1], "note": None}, {**places[0], "note": None}]
    pairs = CompareSpec(normalizers=(unordered("$.xs"), empty))
    assert compare(pairs, obs({"xs": places}), obs({"xs": moved})).matched
    changed = [{**moved[0], "zip": "06100"}, moved[1]]
    result = compare(pairs, obs({"xs": places}), obs({"xs": changed}))
    assert [d.key() for d in result.differences] == [("$.xs[*].zip", "value")]
