"""Fuzz the comparators (hypothesis, bounded and derandomized): whatever upstreams answer and whatever rules
a config holds, compare() returns a Comparison and never raises."""

from __future__ import annotations

from typing import Any

import orjson
from fuzz_strategies import FUZZ, documents, observations, rules, valid_rules
from hypothesis import given
from hypothesis import strategies as st

from comparators.compare import compare
from comparators.model import DiffKind, Observation, Verdict
from comparators.paths import parse_path
from comparators.spec import CompareSpec
from config.loader import ConfigError, parse_config

JSON = (("Content-Type", "application/json"),)


def pipeline_of(tables: list[dict[str, Any]]) -> CompareSpec | None:
    """The route's spec for these rule tables, or None when the config refuses them (with keyed errors)."""
    try:
        config = parse_config(
            {"upstreams": {"legacy": "http://l"}, "routes": [{"name": "r", "path": "/", "compare": tables}]}
        )
    except ConfigError as exc:
        assert exc.errors and all(e.startswith("routes[0].") for e in exc.errors), exc.errors
        return None
    return config.routes[0].compare


@FUZZ
@given(observations(), observations())
def test_any_wire_answers_compare_without_raising(legacy: Observation, candidate: Observation) -> None:
    result = compare(CompareSpec(), legacy, candidate)
    assert result.verdict in Verdict
    assert all(d.kind in DiffKind for d in result.differences)
    if legacy.error is None and candidate.error is None:
        assert compare(CompareSpec(), legacy, legacy).verdict is Verdict.MATCHED


@FUZZ
@given(st.lists(rules(), max_size=4), observations(), observations())
def test_any_rules_on_any_answers_never_raise(
    tables: list[dict[str, Any]], legacy: Observation, candidate: Observation
) -> None:
    spec = pipeline_of(tables)
    if spec is None:
        return
    result = compare(spec, legacy, candidate)
    assert result.verdict in Verdict
    if legacy.error is None:
        assert compare(spec, legacy, legacy).verdict is Verdict.MATCHED


@FUZZ
@given(st.lists(valid_rules(), min_size=1, max_size=4), observations(), observations())
def test_well_formed_rules_on_any_answers_never_raise(
    tables: list[dict[str, Any]], legacy: Observation, candidate: Observation
) -> None:
    spec = pipeline_of(tables)
    assert spec is not None, tables
    assert compare(spec, legacy, candidate).verdict in Verdict
    if legacy.error is None:
        assert compare(spec, legacy, legacy).verdict is Verdict.MATCHED


@FUZZ
@given(st.lists(valid_rules(), min_size=1, max_size=4), documents, documents)
def test_well_formed_rules_on_any_documents_are_symmetric(
    tables: list[dict[str, Any]], left: Any, right: Any
) -> None:
    spec = pipeline_of(tables)
    assert spec is not None, tables
    a, b = Observation(200, JSON, orjson.dumps(left)), Observation(200, JSON, orjson.dumps(right))
    assert compare(spec, a, b).verdict is compare(spec, b, a).verdict


@FUZZ
@given(st.text(max_size=30))
def test_any_path_text_parses_or_is_refused_with_a_value_error(text: str) -> None:
    try:
        path = parse_path(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert path.kind
