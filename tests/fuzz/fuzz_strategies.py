"""Hypothesis strategies for the fuzz tests: wire-level observations, rule tables, TOML documents.

Every fuzz test runs with FUZZ: a fixed example budget, derandomized (the same examples on every CI run, so
a failure reproduces), no deadline (the machine is shared). Locally, search longer and wider with
FUZZ_EXAMPLES=5000 FUZZ_RANDOM=1.
"""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Any

import brotli
import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from comparators.model import Observation, TransportError

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "250")),
    derandomize=os.environ.get("FUZZ_RANDOM", "") == "",  # FUZZ_RANDOM=1: new examples each run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# For targets costing ~100 ms an example (loading the whole engagement config): a fifth of the budget.
FUZZ_FEW = settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 5))

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "yes", "no", "2024-01-02T03:04:05Z", "1700000000", "65a1f0c2e4b0a1b2c3d4e5f6"])
)
keys = st.text(max_size=6) | st.sampled_from(["a", "id", "_id", "items", "updatedAt", "n", "k", "$", "."])
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)

# JSON that parsers disagree on: huge numbers, NaN, duplicate keys, a BOM, lone surrogates, deep nesting.
ODD_JSON = [
    b'{"n": 123456789012345678901234567890}',
    b"[1e400, -1e400]",
    b'{"a": NaN}',
    b'{"a": 1, "a": 2}',
    b'\xef\xbb\xbf{"a": 1}',
    b'{"s": "\\ud800"}',
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 1100 + b"1" + b"}" * 1100,
]
CONTENT_TYPES = [
    "application/json",
    "application/problem+json; charset=utf-8",
    "application/x-ndjson",
    "application/x-www-form-urlencoded",
    "text/plain; charset=latin-1",
    "text/html",
    "application/xml",
    "application/octet-stream",
    "",
    "json",
    ";;;",
]


def encode(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "br":
        return brotli.compress(body)
    return body


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """JSON documents, NDJSON, forms, raw bytes, truncated or corrupted versions of them."""
    kind = draw(st.sampled_from(["json", "ndjson", "form", "bytes", "cut", "odd"]))
    if kind == "odd":
        return draw(st.sampled_from(ODD_JSON))
    if kind == "json":
        return orjson.dumps(draw(documents))
    if kind == "ndjson":
        return b"\n".join(orjson.dumps(d) for d in draw(st.lists(documents, max_size=4)))
    if kind == "form":
        pairs = draw(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=4))
        return "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    whole = orjson.dumps(draw(documents))
    return whole[: draw(st.integers(0, len(whole)))]


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    """What an upstream may put on the wire: any status, headers, content type and (broken) encoding."""
    if draw(st.integers(0, 9)) == 0:
        return Observation.transport_error(
            draw(st.sampled_from(list(TransportError))), draw(st.text(max_size=10))
        )
    body = draw(bodies())
    coding = draw(st.sampled_from(["", "", "gzip", "deflate", "br", "gzip, br", "identity", "bogus"]))
    encoded = encode(body, coding) if coding in ("gzip", "deflate", "br") else body
    if coding == "gzip, br":
        encoded = brotli.compress(gzip.compress(body))
    if draw(st.booleans()) and encoded:
        encoded = encoded[: draw(st.integers(0, len(encoded) - 1))]  # a cut or corrupted encoding
    headers: list[tuple[str, str]] = [("Content-Type", draw(st.sampled_from(CONTENT_TYPES)))]
    if coding:
        headers.append(("Content-Encoding", coding))
    headers += draw(
        st.lists(
            st.tuples(st.sampled_from(["X-A", "x-a", "ETag", "Set-Cookie"]), st.text(max_size=6)), max_size=3
        )
    )
    return Observation(draw(st.integers(100, 599)), tuple(headers), encoded)


PATHS = st.sampled_from(
    [
        "$",
        "$.a",
        "$..a",
        "$.items[*].id",
        "$..*",
        "$.a.*",
        "$['odd key']",
        "header:x-a",
        "status",
        "body",
        "$..n",
    ]
) | st.text(max_size=10)
OPS = [
    "ignore",
    "unordered",
    "sorted_by",
    "tolerance",
    "timestamps",
    "empty_equivalent",
    "value_map",
    "status_equivalent",
    "ids",
    "strings",
    "urls",
    "errors",
    "parse_as",
]
RULE_KEYS = [
    "absolute",
    "at",
    "case_insensitive",
    "casefold",
    "classes",
    "collapse_spaces",
    "descending",
    "drop_empty",
    "forms",
    "headers",
    "key",
    "map",
    "mapping",
    "min_status",
    "nfc",
    "parts",
    "path",
    "paths",
    "pattern",
    "query_keys",
    "reason",
    "relative",
    "replacement",
    "report_order",
    "sort",
    "split",
    "trim",
    "precision",
    "unit",
    "as",
    "surprise",
]
toml_scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | PATHS
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    """One [[routes.compare]] table: a known (or unknown) op with any of the keys, valid or not."""
    rule: dict[str, Any] = {"op": draw(st.sampled_from(OPS) | st.text(max_size=6))}
    for key in draw(st.lists(st.sampled_from(RULE_KEYS), max_size=5, unique=True)):
        rule[key] = draw(PATHS if key in ("path", "key") else toml_values)
    if draw(st.booleans()):
        rule["path"] = draw(PATHS)
    return rule


JSON_PATHS = st.sampled_from(
    ["$.a", "$..a", "$.items[*].id", "$..*", "$.a.*", "$..n", "$.k", "$..id", "$[*]"]
)
ELEMENT_KEYS = st.sampled_from(["id", "_id", "k", "$.a", "n"])


def _valid(op: str, draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed table for `op` (so the fuzzing reaches the normalizers, not only the config errors)."""
    paths = draw(st.lists(JSON_PATHS, min_size=1, max_size=2))
    if op == "ignore":
        return {"paths": paths, "headers": draw(st.lists(st.sampled_from(["x-a", "etag"]), max_size=1))}
    if op == "unordered":
        table = {"paths": paths, "report_order": draw(st.booleans())}
        return table | ({"key": draw(ELEMENT_KEYS)} if draw(st.booleans()) else {})
    if op == "sorted_by":
        return {"paths": paths, "key": draw(ELEMENT_KEYS), "descending": draw(st.booleans())}
    if op == "tolerance":
        return {"paths": paths, "absolute": draw(st.floats(0, 10)), "relative": draw(st.floats(0, 1))}
    if op == "timestamps":
        return {"paths": paths, "precision": draw(st.sampled_from(["s", "ms"]))}
    if op == "empty_equivalent":
        forms = draw(st.lists(st.sampled_from(["null", "missing", "empty_string"]), min_size=2, unique=True))
        return {"paths": paths, "forms": forms}
    if op == "value_map":
        mapping = draw(st.dictionaries(st.sampled_from(["yes", "no", "1", "Y"]), scalars_for_map, min_size=1))
        return {"paths": paths, "map": mapping, "case_insensitive": draw(st.booleans())}
    if op == "status_equivalent":
        return {"classes": [draw(st.lists(st.integers(100, 599), min_size=2, max_size=3))]}
    if op == "ids":
        return {"paths": paths, "mapping": draw(st.dictionaries(st.text(max_size=4), st.text(max_size=4)))}
    if op == "strings":
        table = {"paths": paths, "trim": draw(st.booleans()), "casefold": draw(st.booleans())}
        table |= {"nfc": draw(st.booleans()), "collapse_spaces": draw(st.booleans())}
        if draw(st.booleans()):
            table |= {"pattern": draw(st.sampled_from(["[0-9]+", "^a", "x*", "(a|b)"])), "replacement": "#"}
        if draw(st.booleans()):
            table |= {"split": ",", "sort": draw(st.booleans()), "drop_empty": draw(st.booleans())}
        return table
    if op == "urls":
        parts = draw(st.lists(st.sampled_from(["scheme", "host", "path", "query"]), min_size=1, unique=True))
        return {"paths": paths, "parts": parts, "query_keys": draw(st.lists(st.sampled_from(["a", "page"])))}
    if op == "errors":
        return {"paths": paths, "min_status": draw(st.integers(100, 599))}
    return {"as": draw(st.sampled_from(["json", "text", "bytes", "form", "ndjson"]))}


scalars_for_map = st.booleans() | st.integers(-5, 5) | st.text(max_size=3)


@st.composite
def valid_rules(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(OPS))
    return {"op": op, "reason": "fuzz", **_valid(op, draw)}
