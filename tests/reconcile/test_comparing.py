"""The bridge to the comparators: same verdicts as a whole-document compare(), fewer pipeline runs."""

from __future__ import annotations

import tomllib
from datetime import datetime
from typing import Any

import pytest
from bson import ObjectId

from comparators.compare import compare
from comparators.model import DiffKind
from comparators.spec import CompareSpec
from config.reader import Section
from config.reconcile_section import parse_reconcile
from proxy.reconcile.comparing import DocumentComparer, observation

RULES = """
[[reconcile]]
name = "j"
mongo = { uri = "mongodb://h", database = "d", collection = "c" }
postgres = { dsn = "postgresql://h/d", table = "t" }
key = { source = "_id", target = "id" }
[[reconcile.compare]]
op = "value_map"
paths = ["$.flag", "$['odd key']"]
map = { yes = true, no = false }
reason = "booleans in the column"
[[reconcile.compare]]
op = "empty_equivalent"
path = "$.*"
forms = ["missing", "null", "empty_string"]
[[reconcile.compare]]
op = "unordered"
path = "$.tags"
"""


def spec(extra: str = "") -> CompareSpec:
    errors: list[str] = []
    (job,) = parse_reconcile(Section(tomllib.loads(RULES + extra), "", errors))
    assert errors == []
    return job.compare


PAIRS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"a": 1}, {"a": 1}),
    ({"flag": "yes", "remote": ""}, {"flag": True, "remote": None}),
    ({"flag": "yes"}, {"flag": False}),
    ({"flag": "no", "title": "x", "n": 1}, {"flag": False, "title": "y", "n": 1.5}),
    ({"tags": ["a", "b"], "gone": 3}, {"tags": ["b", "a"], "new": [1]}),
    ({"odd key": "yes", "when": datetime(2025, 1, 1)}, {"odd key": True, "when": "2025-01-01T00:00:00Z"}),
    ({"id": ObjectId("65f0aabbccddeeff00112233")}, {"id": "65f0aabbccddeeff00112233"}),
    ({"nested": {"x": [1, {"y": ""}]}}, {"nested": {"x": [1, {"y": None}]}}),
    ({"one": True}, {"one": 1}),
]


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_same_outcome_as_comparing_whole_documents(source: dict[str, Any], target: dict[str, Any]) -> None:
    rules = spec()
    whole = compare(rules, observation(source), observation(target))

    ours = DocumentComparer(rules).compare(source, target)

    assert ours.verdict == whole.verdict
    assert sorted(d.key() for d in ours.differences) == sorted(d.key() for d in whole.differences)
    assert sorted(i.path for i in ours.ignored) == sorted(i.path for i in whole.ignored)


def test_a_repeated_representation_difference_runs_the_pipeline_once() -> None:
    comparer = DocumentComparer(spec())
    for n in range(50):
        comparison = comparer.compare({"flag": "yes", "n": n}, {"flag": True, "n": n})
        assert comparison.matched
        assert [i.path for i in comparison.ignored] == ["$.flag"]  # still counted on every pair
    assert comparer.pipeline_calls == 1


def test_differences_are_attributed_to_their_own_field_when_remembered() -> None:
    comparer = DocumentComparer(spec())
    first = comparer.compare({"flag": "yes", "title": "a"}, {"flag": False, "title": "b"})
    again = comparer.compare({"flag": "yes", "title": "c"}, {"flag": False, "title": "c"})

    assert [(d.path, d.kind) for d in first.differences] == [
        ("$.flag", DiffKind.VALUE),
        ("$.title", DiffKind.VALUE),
    ]
    assert [(d.path, d.kind, d.legacy, d.candidate) for d in again.differences] == [
        ("$.flag", DiffKind.VALUE, True, False)
    ]
    assert comparer.pipeline_calls == 1


def test_large_values_and_a_full_table_keep_memory_bounded() -> None:
    comparer = DocumentComparer(spec(), entries=3)
    for n in range(10):
        comparer.compare(
            {"flag": "yes", "big": "x" * 300, "n": str(n)}, {"flag": True, "big": "y" * 300, "n": n}
        )
    assert len(comparer.memo) == 3
    assert all(len(left) + len(right) <= 256 for _, left, right in comparer.memo)


def test_jobs_use_shared_rule_sets_like_routes() -> None:
    shared = '[[rules.mission]]\nop = "value_map"\npath = "$.flag"\nmap = { oui = true }\n'
    job_text = RULES.replace(
        'key = { source = "_id", target = "id" }',
        'key = { source = "_id", target = "id" }\nuse = ["mission"]',
    )
    errors: list[str] = []
    (job,) = parse_reconcile(Section(tomllib.loads(shared + job_text), "", errors))

    assert errors == []
    assert [n.name for n in job.compare.normalizers][:2] == [
        "rules.mission[0]:value_map",
        "compare[0]:value_map",
    ]
    assert DocumentComparer(job.compare).compare({"flag": "oui"}, {"flag": True}).matched


def test_rules_judging_http_responses_are_refused_in_reconcile_jobs() -> None:
    errors: list[str] = []
    parse_reconcile(Section(tomllib.loads(RULES + '[[reconcile.compare]]\nop = "errors"\n'), "", errors))
    assert errors == [
        "reconcile[0].compare[3].op: 'errors' judges HTTP responses; reconcile compares documents"
    ]
