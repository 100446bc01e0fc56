"""Table-driven tests per normalizer: what each hides, what it must still report, and what it notes."""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from comparators import CompareSpec, Comparison, Observation, compare
from comparators import parse_path as P
from comparators.body import BodyKind
from comparators.normalizers import (
    EmptyEquivalent,
    ErrorsOnly,
    Ids,
    Ignore,
    ParseAs,
    Rule,
    SortedBy,
    StatusEquivalent,
    Strings,
    Timestamps,
    Tolerance,
    Unordered,
    Urls,
    ValueMap,
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


def unordered(path: str, key: str | None = None, report_order: bool = False) -> Unordered:
    return Unordered(paths=(P(path),), key=P(key) if key else None, report_order=report_order)


def tolerance(path: str, absolute: float = 0.0, relative: float = 0.0) -> Tolerance:
    return Tolerance(paths=(P(path),), absolute=absolute, relative=relative)


def stamps(path: str, precision: str = "ms", epoch: str = "auto") -> Timestamps:
    return Timestamps(paths=(P(path),), precision=precision, epoch=epoch)


CASES = [
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
    # tolerance
    Case("tolerance absolute", tolerance("$.x", absolute=0.01), {"x": 1.0}, {"x": 1.005}, ignored=["$.x"]),
    Case(
        "tolerance absolute exceeded",
        tolerance("$.x", absolute=0.01),
        {"x": 1.0},
        {"x": 1.02},
        [("$.x", "value")],
    ),
    Case("tolerance relative", tolerance("$.x", relative=0.01), {"x": 1000}, {"x": 1009}, ignored=["$.x"]),
    Case(
        "tolerance relative exceeded",
        tolerance("$.x", relative=0.01),
        {"x": 1000},
        {"x": 1011},
        [("$.x", "value")],
    ),
    Case("tolerance not for bools", tolerance("$.x", absolute=1), {"x": True}, {"x": 1}, [("$.x", "type")]),
    Case(
        "tolerance not for strings", tolerance("$.x", absolute=1), {"x": "1"}, {"x": "2"}, [("$.x", "value")]
    ),
    Case(
        "tolerance in arrays",
        tolerance("$.h[*].d", absolute=1e-6),
        {"h": [{"d": 0.1}]},
        {"h": [{"d": 0.1000001}]},
        ignored=["$.h[*].d"],
    ),
    # timestamps
    Case(
        "timestamps zone and format",
        stamps("$.t"),
        {"t": "2024-05-01T12:00:00.123+02:00"},
        {"t": "2024-05-01T10:00:00.123Z"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps epoch ms vs iso",
        stamps("$.t"),
        {"t": 1714557600123},
        {"t": "2024-05-01T10:00:00.123456Z"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps epoch s",
        stamps("$.t", "s"),
        {"t": 1714557600},
        {"t": "2024-05-01 10:00:00"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps nanoseconds",
        stamps("$.t", "us"),
        {"t": "2024-05-01T10:00:00.123456789Z"},
        {"t": "2024-05-01T10:00:00.123456Z"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps beyond precision",
        stamps("$.t", "s"),
        {"t": "2024-05-01T10:00:00Z"},
        {"t": "2024-05-01T10:00:01Z"},
        [("$.t", "value")],
    ),
    Case("timestamps not a time", stamps("$.t"), {"t": "soon"}, {"t": "later"}, [("$.t", "value")]),
    Case(
        "timestamps epoch disabled",
        stamps("$.t", epoch="none"),
        {"t": 1714557600},
        {"t": "2024-05-01T10:00:00Z"},
        [("$.t", "type")],
    ),
    # equivalences
    Case(
        "null equals missing",
        EmptyEquivalent(paths=(P("$..note"),)),
        {"a": {"note": None}},
        {"a": {}},
        ignored=["$.a.note"],
    ),
    Case(
        "empty string equals null",
        EmptyEquivalent(paths=(P("$.n"),)),
        {"n": ""},
        {"n": None},
        ignored=["$.n"],
    ),
    Case(
        "empty is not a value", EmptyEquivalent(paths=(P("$.n"),)), {"n": ""}, {"n": "x"}, [("$.n", "value")]
    ),
    Case(
        "empty forms are opt-in",
        EmptyEquivalent(paths=(P("$.n"),), forms=frozenset({"null", "missing"})),
        {"n": ""},
        {},
        [("$.n", "missing")],
    ),
    Case(
        "value map yes/true",
        ValueMap(paths=(P("$.ok"),), mapping={"yes": True, "no": False}),
        {"ok": "yes"},
        {"ok": True},
        ignored=["$.ok"],
    ),
    Case(
        "value map no/true differs",
        ValueMap(paths=(P("$.ok"),), mapping={"yes": True, "no": False}),
        {"ok": "no"},
        {"ok": True},
        [("$.ok", "value")],
    ),
    Case(
        "value map case-insensitive",
        ValueMap(paths=(P("$.ok"),), mapping={"Yes": True}, case_insensitive=True),
        {"ok": "YES"},
        {"ok": True},
        ignored=["$.ok"],
    ),
    Case(
        "status class",
        StatusEquivalent(classes=(frozenset({404, 410}),)),
        {},
        {},
        [],
        ["status"],
        statuses=(404, 410),
    ),
    Case(
        "status class does not hide 500",
        StatusEquivalent(classes=(frozenset({404, 410}),)),
        {},
        {},
        [("status", "status")],
        statuses=(404, 500),
    ),
    Case(
        "status class unused",
        StatusEquivalent(classes=(frozenset({404, 410}),)),
        {},
        {},
        [("status", "status")],
        hit=False,
        statuses=(200, 500),
    ),
    # ids
    Case(
        "ids by format",
        Ids(paths=(P("$.id"),), legacy_format="objectid", candidate_format="uuid"),
        {"id": OID},
        {"id": UUID},
        ignored=["$.id"],
    ),
    Case(
        "ids wrong format",
        Ids(paths=(P("$.id"),), legacy_format="objectid", candidate_format="uuid"),
        {"id": OID},
        {"id": "42"},
        [("$.id", "value")],
    ),
    Case(
        "ids int",
        Ids(paths=(P("$..id"),), legacy_format="objectid", candidate_format="int"),
        {"a": {"id": OID}},
        {"a": {"id": 42}},
        ignored=["$.a.id"],
    ),
    Case(
        "ids presence",
        Ids(paths=(P("$.id"),), legacy_format="objectid", candidate_format="uuid"),
        {"id": OID},
        {},
        [("$.id", "missing")],
    ),
    Case(
        "ids mapped",
        Ids(paths=(P("$.id"),), mapping={OID: UUID}),
        {"id": OID},
        {"id": UUID},
        ignored=["$.id"],
    ),
    Case(
        "ids mapped to another",
        Ids(paths=(P("$.id"),), mapping={OID: UUID}),
        {"id": OID},
        {"id": "0" * 8 + UUID[8:]},
        [("$.id", "value")],
    ),
    # strings
    Case("strings trim", Strings(paths=(P("$.s"),), trim=True), {"s": " a "}, {"s": "a"}, ignored=["$.s"]),
    Case(
        "strings casefold",
        Strings(paths=(P("$.s"),), casefold=True),
        {"s": "Straße"},
        {"s": "STRASSE"},
        ignored=["$.s"],
    ),
    Case(
        "strings nfc",
        Strings(paths=(P("$.s"),), nfc=True),
        {"s": "\u00e9"},
        {"s": "e\u0301"},
        ignored=["$.s"],
    ),
    Case(
        "strings regex",
        Strings(paths=(P("$.msg"),), pattern=re.compile(r"req-[0-9a-f]+"), replacement="req-*"),
        {"msg": "failed req-abc1"},
        {"msg": "failed req-99"},
        ignored=["$.msg"],
    ),
    Case(
        "strings still differ",
        Strings(paths=(P("$.s"),), trim=True, casefold=True),
        {"s": "a"},
        {"s": "b "},
        [("$.s", "value")],
    ),
    # urls
    Case(
        "urls path only",
        Urls(paths=(P("$.self"),)),
        {"self": "http://legacy:8080/v0/m/1"},
        {"self": "https://new.example/v0/m/1"},
        ignored=["$.self"],
    ),
    Case(
        "urls path differs",
        Urls(paths=(P("$.self"),)),
        {"self": "http://a/v0/m/1"},
        {"self": "http://a/v1/m/1"},
        [("$.self", "value")],
    ),
    Case(
        "urls selected query keys",
        Urls(paths=(P("$.next"),), query_keys=("page",)),
        {"next": "http://a/x?page=2&sig=abc"},
        {"next": "http://b/x?sig=zzz&page=2"},
        ignored=["$.next"],
    ),
    Case(
        "urls query key differs",
        Urls(paths=(P("$.next"),), query_keys=("page",)),
        {"next": "http://a/x?page=2"},
        {"next": "http://a/x?page=3"},
        [("$.next", "value")],
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
    from comparators.compare import _read_pair, normalize

    spec = CompareSpec(normalizers=(ignore("$..id"), unordered("$.xs"), tolerance("$.n", absolute=1)))
    legacy, candidate = obs({"id": 1, "xs": [2, 1], "n": 1}), obs({"id": 2, "xs": [1, 2], "n": 1.5})
    pair = _read_pair(spec, legacy, candidate)
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
