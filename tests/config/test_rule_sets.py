"""Shared rule sets: `[[rules.NAME]]` spliced into routes by `use`, mounted at a path, every error keyed."""

from __future__ import annotations

import tomllib

import pytest

from comparators import CompareSpec, Observation, compare
from comparators.normalizers import ErrorsOnly, Ignore, StatusEquivalent, Unordered
from config import Config, ConfigError, parse_config

SETS = """
[upstreams]
legacy = "http://legacy"

[[rules.person]]
op = "ignore"
paths = ["$.etag", "header:x-trace"]
reason = "per request"

[[rules.person]]
op = "unordered"
path = "$.roles"
reason = "no order"

[[rules.people]]
op = "unordered"
path = "$"
key = "id"
reason = "paired by id"

[[rules.errors]]
op = "errors"
paths = ["$.code"]
reason = "messages are free text"
"""


def load(routes: str, sets: str = SETS) -> Config:
    return parse_config(tomllib.loads(sets + routes))


def errors_of(routes: str, sets: str = SETS) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(routes, sets)
    return caught.value.errors


def names(config: Config, route: int = 0) -> list[str]:
    return [n.name for n in config.routes[route].compare.normalizers]


def test_sets_run_before_the_route_own_rules_in_the_order_listed() -> None:
    config = load(
        '[[routes]]\nname = "a"\npath = "/a"\nuse = ["errors", "person"]\n'
        '[[routes.compare]]\nop = "status_equivalent"\nclasses = [[404, 410]]\n'
    )
    assert names(config) == [
        "rules.errors[0]:errors",
        "rules.person[0]:ignore",
        "rules.person[1]:unordered",
        "compare[0]:status_equivalent",
    ]
    normalizers = config.routes[0].compare.normalizers
    assert isinstance(normalizers[-1], StatusEquivalent)
    assert normalizers[1].reason == "per request"


def test_a_set_mounted_at_a_path_reads_its_json_paths_below_it() -> None:
    config = load(
        '[[routes]]\nname = "list"\npath = "/people"\n'
        'use = [{ rules = "people", at = "$.data" }, { rules = "person", at = "$.data[*]" }]\n'
        '[[routes]]\nname = "one"\npath = "/people/{id}"\nuse = [{ rules = "person", at = "$.data" }]\n'
    )
    pairing, ignore, roles = config.routes[0].compare.normalizers
    assert isinstance(pairing, Unordered) and [p.text for p in pairing.paths] == ["$.data"]
    assert pairing.key is not None and pairing.key.text == "$['id']"  # relative to the element: unmoved
    assert isinstance(ignore, Ignore)
    assert [p.text for p in ignore.paths] == ["$.data[*].etag", "header:x-trace"]  # headers stay as written
    assert isinstance(roles, Unordered) and [p.text for p in roles.paths] == ["$.data[*].roles"]
    one = config.routes[1].compare.normalizers
    assert [p.text for n in one for p in n.paths] == ["$.data.etag", "header:x-trace", "$.data.roles"]  # type: ignore[attr-defined]
    assert names(config, 1) == ["rules.person[0]:ignore", "rules.person[1]:unordered"]


def test_errors_op_paths_are_mounted_too() -> None:
    config = load('[[routes]]\nname = "a"\npath = "/a"\nuse = [{ rules = "errors", at = "$.result" }]\n')
    (errors,) = config.routes[0].compare.normalizers
    assert isinstance(errors, ErrorsOnly) and [p.text for p in errors.paths] == ["$.result.code"]


def test_a_mounted_set_compares_each_element_with_itself() -> None:
    config = load(
        '[[routes]]\nname = "list"\npath = "/people"\n'
        'use = [{ rules = "people", at = "$.data" }, { rules = "person", at = "$.data[*]" }]\n'
    )
    spec = CompareSpec(normalizers=config.routes[0].compare.normalizers)
    json = (("Content-Type", "application/json"),)
    legacy = b'{"data": [{"id": 1, "etag": "a", "roles": ["x", "y"]}, {"id": 2, "roles": []}]}'
    candidate = b'{"data": [{"id": 2, "roles": []}, {"id": 1, "etag": "b", "roles": ["y", "x"]}]}'
    assert compare(spec, Observation(200, json, legacy), Observation(200, json, candidate)).matched
    changed = candidate.replace(b'"y", "x"', b'"y", "z"')
    result = compare(spec, Observation(200, json, legacy), Observation(200, json, changed))
    assert [d.key() for d in result.differences] == [("$.data[*].roles[*]", "value")]


ERRORS = [
    ('use = ["persn"]', "routes[0].use[0]: unknown rule set 'persn' (did you mean 'person'?)"),
    ('use = "nobody"', "routes[0].use: unknown rule set 'nobody' (defined: person, people, errors)"),
    ('use = [{ rules = "zzz" }]', "routes[0].use[0].rules: unknown rule set 'zzz'"),
    ('use = [{ at = "$.data" }]', "routes[0].use[0].rules: required: the NAME of a [[rules.NAME]] set"),
    ('use = [{ rules = "person", at = "header:x" }]', "routes[0].use[0].at: expected a JSON path"),
    ('use = [{ rules = "person", at = "$.a[0]" }]', "routes[0].use[0].at: invalid path '$.a[0]'"),
    ('use = [{ rules = "person", a = "$.x" }]', "routes[0].use[0].a: unknown key (did you mean 'at'?)"),
    ("use = [3]", 'routes[0].use[0]: expected a rule set: "NAME" or { rules = "NAME", at = "$.path" }'),
    ('use = ["person", "person"]', "routes[0].use[1]: rule set 'person' is already used by this route"),
]


@pytest.mark.parametrize(("use", "message"), ERRORS, ids=[m.split(": ", 1)[1][:40] for _, m in ERRORS])
def test_use_errors_are_keyed(use: str, message: str) -> None:
    found = errors_of(f'[[routes]]\nname = "a"\npath = "/a"\n{use}\n')
    assert any(e.startswith(message) for e in found), found


def test_set_errors_are_keyed_once_however_many_routes_use_it() -> None:
    sets = '[upstreams]\nlegacy = "http://legacy"\n[[rules.bad]]\nop = "unordered"\npath = "$.a[0]"\n'
    routes = "".join(f'[[routes]]\nname = "{n}"\npath = "/{n}"\nuse = ["bad"]\n' for n in "ab")
    assert errors_of(routes, sets) == [
        "rules.bad[0].path: invalid path '$.a[0]': array indices are collapsed: write [*] instead of [0]"
    ]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ('[rules.single]\nop = "ignore"\npath = "$.a"\n', "rules.single: expected an array of tables"),
        ('[[rules."a b"]]\nop = "ignore"\npath = "$.a"\n', "rules.a b: a rule set name is letters"),
        ('[[rules.x]]\nop = "unordred"\npath = "$.a"\n', "rules.x[0].op: unknown normalizer 'unordred'"),
    ],
)
def test_rule_set_errors_are_keyed(sets: str, message: str) -> None:
    found = errors_of("", '[upstreams]\nlegacy = "http://legacy"\n' + sets)
    assert any(e.startswith(message) for e in found), found
