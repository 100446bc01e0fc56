"""The value rules' case table: tolerance, timestamps, equivalences, ids, strings and urls."""

from __future__ import annotations

import re
from datetime import timedelta

from normalizer_cases import OID, UUID, Case, stamps, tolerance

from comparators import parse_path as P
from comparators.normalizers import (
    EmptyEquivalent,
    Ids,
    StatusEquivalent,
    Strings,
    Timestamps,
    Urls,
    ValueMap,
)


def within(path: str, ms: float, precision: str = "ms") -> Timestamps:
    return Timestamps(paths=(P(path),), precision=precision, tolerance=timedelta(milliseconds=ms))


def tokens(path: str, separator: str = ", ", trim: bool = False) -> Strings:
    return Strings(paths=(P(path),), split=separator, sort=True, trim=trim)


def blanks(path: str) -> Strings:
    return Strings(paths=(P(path),), trim=True, drop_empty=True)


VALUE_CASES = [
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
    # timestamps: tolerance
    Case(
        "timestamps tolerance: truncated vs rounded ms",
        within("$.t", 1),
        {"t": "2024-05-01T10:00:00.123Z"},
        {"t": "2024-05-01T10:00:00.124Z"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps tolerance across a second",
        within("$.t", 1),
        {"t": "2024-05-01T10:00:59.999Z"},
        {"t": "2024-05-01T10:01:00.000Z"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps tolerance across formats",
        within("$.t", 1),
        {"t": 1714557600123},
        {"t": "2024-05-01T12:00:00.124+02:00"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps beyond the tolerance",
        within("$.t", 1),
        {"t": "2024-05-01T10:00:00.123Z"},
        {"t": "2024-05-01T10:00:00.125Z"},
        [("$.t", "value")],
    ),
    Case(
        "timestamps tolerance measured at the precision",
        within("$.t", 1),
        {"t": "2024-05-01T10:00:00.1230Z"},
        {"t": "2024-05-01T10:00:00.1249Z"},
        ignored=["$.t"],
    ),
    Case(
        "timestamps tolerance is not a time zone",
        within("$.t", 1000),
        {"t": "2024-05-01T10:00:00.000Z"},
        {"t": "2024-05-01T10:00:00.000+02:00"},
        [("$.t", "value")],
    ),
    Case(
        "timestamps tolerance, not a time",
        within("$.t", 1),
        {"t": "soon"},
        {"t": "later"},
        [("$.t", "value")],
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
        "empty everywhere with $..*",
        EmptyEquivalent(paths=(P("$..*"),)),
        {"a": {"n": None, "xs": [{"m": ""}]}, "z": 1},
        {"a": {"xs": [{"m": None}]}, "z": 1},
        ignored=["$.a.n", "$.a.xs[*].m"],
    ),
    Case(
        "empty everywhere still sees values",
        EmptyEquivalent(paths=(P("$..*"),)),
        {"a": {"n": None, "xs": [{"m": ""}]}},
        {"a": {"xs": [{"m": "x"}]}},
        [("$.a.xs[*].m", "value")],
        ["$.a.n"],
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
    # strings: tokens
    Case("strings sorted tokens", tokens("$.s"), {"s": "b, a"}, {"s": "a, b"}, ignored=["$.s"]),
    Case(
        "strings sorted tokens still differ",
        tokens("$.s"),
        {"s": "b, a"},
        {"s": "a, c"},
        [("$.s", "value")],
    ),
    Case(
        "strings sorted tokens keep their count",
        tokens("$.s"),
        {"s": "a, a"},
        {"s": "a"},
        [("$.s", "value")],
    ),
    Case(
        "strings sorted tokens are not words",
        tokens("$.s"),
        {"s": "Aide alimentaire, Animation"},
        {"s": "Animation, alimentaire Aide"},
        [("$.s", "value")],
    ),
    Case(
        "strings trimmed tokens",
        tokens("$.s", ",", trim=True),
        {"s": "b ,a"},
        {"s": "a, b"},
        ignored=["$.s"],
    ),
    # strings: dropping blanks
    Case(
        "strings drop blank array entries",
        blanks("$.xs[*]"),
        {"xs": ["a", " ", "b", " b "]},
        {"xs": ["a", "b", "b"]},
        ignored=["$.xs[*]"],
    ),
    Case(
        "strings drop blanks, a value stays",
        blanks("$.xs[*]"),
        {"xs": ["a", "b", ""]},
        {"xs": ["a", "c"]},
        [("$.xs[*]", "value")],
        ["$.xs[*]"],
    ),
    Case(
        "strings drop blanks, an entry lost",
        blanks("$.xs[*]"),
        {"xs": ["a", "b"]},
        {"xs": ["a", "  "]},
        [("$.xs[*]", "missing")],
    ),
    Case("strings drop a blank field", blanks("$.n"), {"n": " "}, {}, ignored=["$.n"]),
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
]
