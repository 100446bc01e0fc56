"""Table-driven tests of compare() without rules: status, headers, encodings, JSON and non-JSON bodies."""

from __future__ import annotations

import gzip
import zlib

import brotli
import orjson
import pytest

from comparators.compare import compare
from comparators.model import Comparison, Difference, DiffKind, Observation, TransportError, Verdict
from comparators.spec import CompareSpec

JSON = (("Content-Type", "application/json"),)
SPEC = CompareSpec()


def obs(
    body: bytes | str = b"", headers: tuple[tuple[str, str], ...] = JSON, status: int = 200
) -> Observation:
    return Observation(status, headers, body.encode() if isinstance(body, str) else body)


def run(legacy: Observation, candidate: Observation) -> Comparison:
    return compare(SPEC, legacy, candidate)


def keys(comparison: Comparison) -> list[tuple[str, str]]:
    return [d.key() for d in comparison.differences]


JSON_CASES = [
    ("identical", '{"a": 1}', '{"a": 1}', []),
    ("whitespace and key order", '{"a":1,"b":2}', '{ "b": 2, "a": 1 }', []),
    ("int equals float", '{"n": 1}', '{"n": 1.0}', []),
    ("value", '{"a": {"b": 1}}', '{"a": {"b": 2}}', [("$.a.b", "value")]),
    ("bool vs int is a type change", '{"a": true}', '{"a": 1}', [("$.a", "type")]),
    ("false vs 0", "[false]", "[0]", [("$[*]", "type")]),
    ("string vs number", '{"a": "1"}', '{"a": 1}', [("$.a", "type")]),
    ("null vs object", '{"a": null}', '{"a": {}}', [("$.a", "type")]),
    ("missing key", '{"a": 1, "b": 2}', '{"a": 1}', [("$.b", "missing")]),
    ("extra key", '{"a": 1}', '{"a": 1, "c": 3}', [("$.c", "extra")]),
    (
        "nested array items",
        '{"xs": [{"id": 1}, {"id": 2}]}',
        '{"xs": [{"id": 1}, {"id": 3}]}',
        [("$.xs[*].id", "value")],
    ),
    ("indices collapse", "[1, 2, 3]", "[9, 9, 9]", [("$[*]", "value")]),
    ("shorter array", "[1, 2, 3]", "[1, 2]", [("$[*]", "missing")]),
    ("longer array", "[1]", "[1, 5, 6]", [("$[*]", "extra")]),
    ("shorter and changed", "[1, 2, 3]", "[7]", [("$[*]", "missing"), ("$[*]", "value")]),
    ("reordered array", '{"xs": [1, 2, 3]}', '{"xs": [3, 1, 2]}', [("$.xs", "order")]),
    ("reordered objects", '[{"a": 1}, {"b": 2}]', '[{"b": 2}, {"a": 1}]', [("$", "order")]),
    ("odd key", '{"a b": 1}', '{"a b": 2}', [("$['a b']", "value")]),
    ("NFC vs NFD is a difference without a rule", '{"s": "\u00e9"}', '{"s": "e\u0301"}', [("$.s", "value")]),
    ("top-level scalar", "1", "2", [("$", "value")]),
]


@pytest.mark.parametrize(
    ("legacy", "candidate", "expected"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES]
)
def test_json_differences(legacy: str, candidate: str, expected: list[tuple[str, str]]) -> None:
    result = run(obs(legacy), obs(candidate))
    assert sorted(keys(result)) == sorted(expected)
    assert result.verdict is (Verdict.DIVERGED if expected else Verdict.MATCHED)


def test_differences_are_sorted_status_then_headers_then_body() -> None:
    legacy = obs('{"b": 1, "a": 1}', (*JSON, ("X-B", "1"), ("X-A", "1")), 200)
    candidate = obs('{"b": 2, "a": 2}', (*JSON, ("X-B", "2"), ("X-A", "2")), 500)
    assert keys(run(legacy, candidate)) == [
        ("status", "status"),
        ("header:x-a", "header"),
        ("header:x-b", "header"),
        ("$.a", "value"),
        ("$.b", "value"),
    ]


def test_values_are_carried_and_short() -> None:
    big = orjson.dumps({"text": "x" * 10_000}).decode()
    (difference,) = run(obs('{"a": {"text": "y"}}'), obs(f'{{"a": {big}}}')).differences
    assert difference.path == "$.a.text"
    assert difference.legacy == "y"
    assert len(difference.candidate) <= 201


HEADER_CASES = [
    ("ignored by default", (("Date", "Mon"), ("Server", "a")), (("Date", "Tue"), ("Server", "b")), []),
    ("case-insensitive names", (("ETag", "1"),), (("etag", "1"),), []),
    ("changed", (("ETag", "1"),), (("ETag", "2"),), [("header:etag", "header", "1", "2")]),
    ("missing", (("X-A", "1"),), (), [("header:x-a", "header", "1", None)]),
    ("extra", (), (("X-A", "1"),), [("header:x-a", "header", None, "1")]),
    (
        "multi-valued order",
        (("Vary", "a"), ("Vary", "b")),
        (("Vary", "b"), ("Vary", "a")),
        [("header:vary", "header", "a | b", "b | a")],
    ),
]


@pytest.mark.parametrize(
    ("left", "right", "expected"), [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES]
)
def test_headers(
    left: tuple[tuple[str, str], ...],
    right: tuple[tuple[str, str], ...],
    expected: list[tuple[str, str, str | None, str | None]],
) -> None:
    result = run(obs("{}", (*JSON, *left)), obs("{}", (*JSON, *right)))
    assert [(d.path, d.kind.value, d.legacy, d.candidate) for d in result.differences] == expected


def test_status_difference() -> None:
    assert run(obs("{}", status=200), obs("{}", status=404)).differences == (
        Difference("status", DiffKind.STATUS, 200, 404),
    )


def test_transport_errors() -> None:
    failed = Observation.transport_error(TransportError.TIMEOUT, "no answer in 5s")
    assert run(failed, obs("{}")).verdict is Verdict.LEGACY_ERROR
    result = run(obs("{}"), failed)
    assert result.verdict is Verdict.CANDIDATE_ERROR
    assert result.differences == (Difference("error", DiffKind.ERROR, None, "timeout: no answer in 5s"),)


ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw-deflate": lambda b: zlib.compressobj(wbits=-15).compress(b) + zlib.compressobj(wbits=-15).flush(),
    "br": brotli.compress,
}


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_encoded_candidate_compares_decoded(coding: str) -> None:
    encoded = ENCODERS[coding](b'{"a": 1, "b": 2}')
    headers = (*JSON, ("Content-Encoding", coding))
    same = compare(
        CompareSpec(ignore_headers=frozenset({"content-encoding"})),
        obs('{"a":1,"b":2}'),
        obs(encoded, headers),
    )
    assert same.matched
    changed = run(obs('{"a": 1, "b": 3}'), obs(encoded, headers))
    assert keys(changed) == [("header:content-encoding", "header"), ("$.b", "value")]


def test_stacked_encodings_are_undone_last_first() -> None:
    body = brotli.compress(gzip.compress(b'{"a": 1}'))
    headers = (*JSON, ("Content-Encoding", "gzip, br"))
    assert run(
        obs(body, headers),
        obs(gzip.compress(brotli.compress(b'{"a": 2}')), (*JSON, ("Content-Encoding", "br, gzip"))),
    ).differences[-1].key() == ("$.a", "value")
    assert run(obs(body, headers), obs(body, headers)).matched


def test_undecodable_body_is_a_clear_difference_not_an_exception() -> None:
    headers = (*JSON, ("Content-Encoding", "gzip"))
    result = run(obs(gzip.compress(b'{"a": 1}'), headers), obs(b"not gzip at all", headers))
    (difference,) = result.differences
    assert difference.key() == ("body", "type")
    assert "undecodable gzip" in difference.candidate


def test_unknown_encoding_is_compared_raw() -> None:
    headers = (*JSON, ("Content-Encoding", "zstd"))
    result = run(obs(b"abc", headers), obs(b"abd", headers))
    assert keys(result) == [("body", "value")]
    assert "unsupported content-encoding 'zstd'" in result.differences[0].legacy


BODY_KIND_CASES = [
    ("plain text", "text/plain", "hello", "hello!", [("body", "value")]),
    ("bytes", "application/octet-stream", b"\x00\x01", b"\x00\x02", [("body", "value")]),
    ("sniffed json without type", "", '{"a": 1}', '{"a":2}', [("$.a", "value")]),
    ("sniffed json under text/plain", "text/plain", "[1]", "[2]", [("$[*]", "value")]),
    ("problem+json", "application/problem+json", '{"a":1}', '{"a": 1}', []),
    ("invalid json compared as bytes", "application/json", "{oops", "{oops!", [("body", "value")]),
    ("invalid vs valid json", "application/json", '{"a": 1}', "{oops", [("body", "type")]),
    ("brace that is not json", "text/plain", "{ not json", "{ not json either", [("body", "value")]),
    ("empty vs body", "application/json", "", "{}", [("body", "extra")]),
    ("body vs empty", "application/json", "{}", "", [("body", "missing")]),
    (
        "ndjson lines",
        "application/x-ndjson",
        '{"a":1}\n{"a":2}\n',
        '{"a":1}\n{"a":3}\n',
        [("$[*].a", "value")],
    ),
    ("form fields", "application/x-www-form-urlencoded", "a=1&b=2", "b=2&a=3", [("$.a", "value")]),
    ("html as text", "text/html; charset=utf-8", "<p>é</p>", "<p>e</p>", [("body", "value")]),
]


@pytest.mark.parametrize(
    ("content_type", "legacy", "candidate", "expected"),
    [c[1:] for c in BODY_KIND_CASES],
    ids=[c[0] for c in BODY_KIND_CASES],
)
def test_body_kinds(
    content_type: str, legacy: str | bytes, candidate: str | bytes, expected: list[tuple[str, str]]
) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    assert keys(run(obs(legacy, headers), obs(candidate, headers))) == expected


def test_non_json_difference_is_bounded() -> None:
    headers = (("Content-Type", "application/octet-stream"),)
    (difference,) = run(obs(b"a" * 1_000_000, headers), obs(b"b" * 1_000_000, headers)).differences
    assert len(difference.legacy) < 400
    assert "1000000 bytes sha256:" in difference.legacy


def test_deep_nesting_does_not_crash() -> None:
    depth = 100_000
    legacy = obs("[" * depth + "1" + "]" * depth)
    candidate = obs("[" * depth + "2" + "]" * depth)
    assert run(legacy, candidate).verdict is Verdict.DIVERGED
    assert run(legacy, legacy).matched


def test_nesting_past_the_recursion_limit_is_walked() -> None:
    depth = 1020  # orjson parses it; Python's `==` on it would raise RecursionError
    left, right = "[" * depth + "1" + "]" * depth, "[" * depth + "1.0" + "]" * depth
    assert run(obs(left), obs(right)).matched
    result = run(obs(left), obs("[" * depth + "true" + "]" * depth))
    assert keys(result) == [("$" + "[*]" * depth, "type")]
