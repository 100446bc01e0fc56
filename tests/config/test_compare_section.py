"""`[[routes.compare]]` parsing: every op builds its normalizer, every bad field is reported with its key."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from comparators import CompareSpec, Observation, compare
from comparators.normalizers import Ids, SortedBy, Strings, Timestamps, Unordered
from config.compare_section import parse_pipeline
from config.reader import Section

HEADER = '[upstreams]\nlegacy = "http://legacy"\n[[routes]]\nname = "r"\npath = "/r"\n'


def pipeline(toml: str) -> tuple[tuple[object, ...], list[str]]:
    """Parse the compare tables of one route through the real Section reader."""
    errors: list[str] = []
    route = Section(tomllib.loads(HEADER + toml)["routes"][0], "routes[3]", errors)
    return parse_pipeline(route.tables("compare")), errors


VALID = [
    ('op = "ignore"\npaths = ["$.id", "header:etag", "status", "body"]', "Ignore"),
    ('op = "ignore"\nheaders = ["ETag"]', "Ignore"),
    ('op = "unordered"\npath = "$.data"\nkey = "_id"\nreport_order = true', "Unordered"),
    ('op = "unordered"\npath = "$.tags"\nduplicates = "ignore"', "Unordered"),
    ('op = "sorted_by"\npath = "$.hits"\nkey = "$.meta.score"\ndescending = true', "SortedBy"),
    ('op = "tolerance"\npath = "$..price"\nabsolute = 0.01\nrelative = 0.001', "Tolerance"),
    (
        'op = "timestamps"\npaths = ["$..updatedAt", "header:last-modified"]\nprecision = "s"\nepoch = "ms"',
        "Timestamps",
    ),
    ('op = "timestamps"\npath = "$..updatedAt"\ntolerance = "1ms"', "Timestamps"),
    (
        'op = "empty_equivalent"\npath = "$..note"\nforms = ["null", "missing", "empty_array"]',
        "EmptyEquivalent",
    ),
    (
        'op = "value_map"\npath = "$.active"\nmap = { yes = true, no = false }\ncase_insensitive = true',
        "ValueMap",
    ),
    ('op = "status_equivalent"\nclasses = [[404, 410], [200, 204]]', "StatusEquivalent"),
    ('op = "ids"\npath = "$..id"\nlegacy_format = "objectid"\ncandidate_format = "uuid"', "Ids"),
    (
        'op = "strings"\npath = "$.msg"\ntrim = true\ncasefold = true\nnfc = true\n'
        'pattern = "\\\\d+"\nreplacement = "N"',
        "Strings",
    ),
    ('op = "strings"\npath = "$.activity"\nsplit = ", "\nsort = true', "Strings"),
    ('op = "strings"\npath = "$.tags[*]"\ntrim = true\ndrop_empty = true', "Strings"),
    ('op = "urls"\npath = "$..href"\nparts = ["path", "query"]\nquery_keys = ["page"]', "Urls"),
    ('op = "errors"\npaths = ["$.code"]\nmin_status = 500', "ErrorsOnly"),
    ('op = "parse_as"\nas = "ndjson"', "ParseAs"),
]


@pytest.mark.parametrize(("body", "kind"), VALID, ids=[v[1] for v in VALID])
def test_each_op_builds_its_normalizer(body: str, kind: str) -> None:
    (normalizer,), errors = pipeline(f'[[routes.compare]]\n{body}\nreason = "why"\n')
    assert errors == []
    assert type(normalizer).__name__ == kind
    op = body.split('"')[1]
    assert (normalizer.name, normalizer.reason) == (f"compare[0]:{op}", "why")  # type: ignore[attr-defined]


INVALID = [
    ('op = "unordred"\npath = "$.a"', "routes[3].compare[0].op: unknown normalizer 'unordred'"),
    ('path = "$.a"', "routes[3].compare[0].op: required"),
    (
        'op = "unordered"\npath = "$.a[0]"',
        "routes[3].compare[0].path: invalid path '$.a[0]': array indices are collapsed",
    ),
    ('op = "unordered"\npaths = ["$.a", "nope"]', "routes[3].compare[0].paths[1]: a path starts with '$'"),
    (
        'op = "unordered"\npath = "$.a"\nkee = "_id"',
        "routes[3].compare[0].kee: unknown key (did you mean 'key'?)",
    ),
    ('op = "unordered"', "routes[3].compare[0].path: required"),
    ('op = "unordered"\npath = "$.a"\nkey = 3', "routes[3].compare[0].key: expected a string, got integer 3"),
    ('op = "sorted_by"\npath = "$.a"', "routes[3].compare[0].key: required"),
    ('op = "tolerance"\npath = "$.a"', "routes[3].compare[0].absolute: set absolute and/or relative"),
    (
        'op = "tolerance"\npath = "header:x"\nabsolute = 1',
        "routes[3].compare[0].path: 'header:x' is a header path",
    ),
    (
        'op = "tolerance"\npath = "$.a"\nrelative = 2',
        "routes[3].compare[0].relative: must be between 0.0 and 1.0",
    ),
    (
        'op = "timestamps"\npath = "$.t"\nprecision = "fortnight"',
        "routes[3].compare[0].precision: expected one of us, ms, s",
    ),
    (
        'op = "empty_equivalent"\npath = "$.n"\nforms = ["null", "zero"]',
        "routes[3].compare[0].forms[1]: expected one of null",
    ),
    ('op = "value_map"\npath = "$.a"', "routes[3].compare[0].map: expected a non-empty table"),
    (
        'op = "value_map"\npath = "$.a"\nmap = { a = [1] }',
        "routes[3].compare[0].map.a: expected a string, number or boolean",
    ),
    (
        'op = "status_equivalent"\nclasses = [[404, 999]]',
        "routes[3].compare[0].classes[0]: expected two or more statuses",
    ),
    (
        'op = "status_equivalent"\nclasses = [404, 410]',
        "routes[3].compare[0].classes: expected an array of status arrays",
    ),
    (
        'op = "ids"\npath = "$.id"\nlegacy_format = "guid"',
        "routes[3].compare[0].legacy_format: expected one of objectid",
    ),
    (
        'op = "ids"\npath = "$.id"\nmapping_file = "/nonexistent/ids.csv"',
        "routes[3].compare[0].mapping_file: cannot read",
    ),
    (
        'op = "strings"\npath = "$.a"\npattern = "("',
        "routes[3].compare[0].pattern: invalid regular expression",
    ),
    (
        'op = "strings"\npath = "$.a"\nreplacement = "x"',
        "routes[3].compare[0].replacement: given without a pattern",
    ),
    (
        'op = "urls"\npath = "$.a"\nparts = ["hostname"]',
        "routes[3].compare[0].parts[0]: expected one of scheme",
    ),
    ('op = "ignore"\nheaders = ["bad header"]', "routes[3].compare[0].headers[0]: not a valid header name"),
    ('op = "parse_as"\nas = "yaml"', "routes[3].compare[0].as: expected one of json"),
    (
        'op = "unordered"\npath = "$.a"\nduplicates = "drop"',
        "routes[3].compare[0].duplicates: expected one of count, ignore, got 'drop'",
    ),
    (
        'op = "timestamps"\npath = "$.t"\ntolerance = 1',
        'routes[3].compare[0].tolerance: expected a duration like "1ms" or "2s", got integer 1',
    ),
    (
        'op = "timestamps"\npath = "$.t"\ntolerance = "1 fortnight"',
        'routes[3].compare[0].tolerance: expected a duration like "1ms" (a number and one of us, ms, s',
    ),
    (
        'op = "timestamps"\npath = "$.t"\ntolerance = "-1ms"',
        "routes[3].compare[0].tolerance: expected a duration",
    ),
    ('op = "strings"\npath = "$.a"\nsort = true', 'routes[3].compare[0].sort: needs split = "<separator>"'),
    (
        'op = "strings"\npath = "$.a"\nsplit = ""\nsort = true',
        "routes[3].compare[0].split: must not be empty",
    ),
    ('op = "strings"\npath = "$.a"\nsplit = 1', "routes[3].compare[0].split: expected a string, got integer"),
    (
        'op = "strings"\npath = "$.a"\ndrop_empty = "yes"',
        "routes[3].compare[0].drop_empty: expected a boolean, got string",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), INVALID, ids=[m.split(": ")[0] + " " + m.split(": ")[1][:30] for _, m in INVALID]
)
def test_errors_are_keyed(body: str, message: str) -> None:
    normalizers, errors = pipeline(f"[[routes.compare]]\n{body}\n")
    assert normalizers == ()
    assert any(e.startswith(message) for e in errors), errors


def test_all_errors_at_once_in_order() -> None:
    _, errors = pipeline(
        '[[routes.compare]]\nop = "ignore"\npath = "$.ok"\n'
        '[[routes.compare]]\nop = "bogus"\nanything = 1\n'
        '[[routes.compare]]\nop = "tolerance"\npath = "$["\nabsolute = -1\n'
    )
    assert [e.split(":")[0] for e in errors] == [
        "routes[3].compare[1].op",
        "routes[3].compare[2].path",
        "routes[3].compare[2].absolute",
    ]


def test_key_as_field_name_or_relative_path() -> None:
    (by_field, by_path), errors = pipeline(
        '[[routes.compare]]\nop = "unordered"\npath = "$.a"\nkey = "odd key"\n'
        '[[routes.compare]]\nop = "sorted_by"\npath = "$.a"\nkey = "$.meta.rank"\n'
    )
    assert errors == []
    assert (
        isinstance(by_field, Unordered) and by_field.key is not None and by_field.key.text == "$['odd key']"
    )
    assert isinstance(by_path, SortedBy) and by_path.key.text == "$.meta.rank"


@pytest.mark.parametrize(
    ("name", "content"),
    [("ids.csv", "5f1d7a3b9c8e4f2a1b3c4d5e, 17\n"), ("ids.json", '{"5f1d7a3b9c8e4f2a1b3c4d5e": 17}')],
)
def test_id_mapping_file(tmp_path: Path, name: str, content: str) -> None:
    file = tmp_path / name
    file.write_text(content)
    (ids,), errors = pipeline(f'[[routes.compare]]\nop = "ids"\npath = "$.id"\nmapping_file = "{file}"\n')
    assert errors == [] and isinstance(ids, Ids)
    assert ids.mapping == {"5f1d7a3b9c8e4f2a1b3c4d5e": "17"}


def test_new_options_reach_their_normalizers() -> None:
    (tags, stamps, activity), errors = pipeline(
        '[[routes.compare]]\nop = "unordered"\npath = "$.tags"\nduplicates = "ignore"\n'
        '[[routes.compare]]\nop = "timestamps"\npath = "$.t"\ntolerance = "1.5ms"\n'
        '[[routes.compare]]\nop = "strings"\npath = "$.a"\nsplit = ", "\nsort = true\ndrop_empty = true\n'
    )
    assert errors == []
    assert isinstance(tags, Unordered) and tags.duplicates == "ignore"
    assert isinstance(stamps, Timestamps) and stamps.tolerance == timedelta(microseconds=1500)
    assert isinstance(activity, Strings) and (activity.split, activity.sort, activity.drop_empty) == (
        ", ",
        True,
        True,
    )


def test_parsed_pipeline_runs_in_compare() -> None:
    normalizers, errors = pipeline(
        '[[routes.compare]]\nop = "strings"\npath = "$.msg"\npattern = "\\\\d+"\nreplacement = "N"\n'
        '[[routes.compare]]\nop = "unordered"\npath = "$.tags"\n'
    )
    assert errors == [] and isinstance(normalizers[0], Strings)
    assert normalizers[0].pattern == re.compile(r"\d+")
    spec = CompareSpec(normalizers=normalizers)  # type: ignore[arg-type]
    json = (("Content-Type", "application/json"),)
    legacy = Observation(200, json, b'{"msg": "took 12ms", "tags": ["a", "b"]}')
    candidate = Observation(200, json, b'{"msg": "took 15ms", "tags": ["b", "a"]}')
    result = compare(spec, legacy, candidate)
    assert result.matched
    assert result.rules_hit == {"compare[0]:strings", "compare[1]:unordered"}
