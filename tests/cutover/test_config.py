"""The cutover keys of a route: parsed into frozen values, every mistake named by its key path."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, parse_config
from config.model import Fallback, IdPaths, Mode, Promote, RollbackSettings


def _routes(**keys: Any) -> dict[str, Any]:
    route = {"name": "items", "path": "/items/{id}", **keys}
    return {"upstreams": {"legacy": "http://legacy", "candidate": "http://candidate"}, "routes": [route]}


def test_defaults_change_nothing() -> None:
    [rule] = parse_config(_routes()).routes
    assert (rule.mode, rule.fallback, rule.promote, rule.rollback) == (
        Mode.SHADOW,
        Fallback.NONE,
        Promote.MANUAL,
        None,
    )
    assert (rule.id_paths, rule.id_kind, rule.rewrite_ids) == (None, "default", False)


def test_every_key_is_read() -> None:
    [rule] = parse_config(
        _routes(
            mode="candidate_primary",
            fallback="legacy",
            promote="auto",
            rollback={"window": "10m", "min_samples": 50, "max_candidate_error_rate": 0.01},
            id_paths={"legacy": "$.data._id", "candidate": "$.data.id"},
            id_kind="mission",
            rewrite_ids=True,
        )
    ).routes
    assert (rule.mode, rule.fallback, rule.promote) == (Mode.CANDIDATE_PRIMARY, Fallback.LEGACY, Promote.AUTO)
    assert rule.rollback == RollbackSettings(window=600.0, min_samples=50, max_candidate_error_rate=0.01)
    assert rule.id_paths == IdPaths("$.data._id", "$.data.id")
    assert (rule.id_kind, rule.rewrite_ids) == ("mission", True)
    [simple] = parse_config(_routes(rollback=True)).routes
    assert simple.rollback == RollbackSettings()


ERRORS = [
    ({"fallback": "candidate"}, "routes[0].fallback: expected one of none, legacy, got 'candidate'"),
    ({"promote": "yes"}, "routes[0].promote: expected one of manual, auto, got 'yes'"),
    ({"rollback": "soon"}, "routes[0].rollback: expected true, false or a table, got string"),
    ({"rollback": {"window": "fast"}}, "routes[0].rollback.window: expected a duration like 7d"),
    ({"rollback": {"max_divergence_rate": 2}}, "routes[0].rollback.max_divergence_rate: must be between 0.0"),
    ({"rollback": {"widnow": "5m"}}, "routes[0].rollback.widnow: unknown key (did you mean 'window'?)"),
    ({"id_paths": {"legacy": "$.data._id"}}, "routes[0].id_paths.candidate: required"),
    (
        {"id_paths": {"legacy": "status", "candidate": "$.id"}},
        "routes[0].id_paths.legacy: expected a JSON path",
    ),
    ({"rewrite_ids": "yes"}, "routes[0].rewrite_ids: expected a boolean"),
]


@pytest.mark.parametrize(("keys", "error"), ERRORS)
def test_a_mistake_is_named_by_its_key(keys: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(_routes(**keys))
    assert any(line.startswith(error) for line in raised.value.errors), raised.value.errors


@pytest.mark.parametrize("mode", ["candidate_primary", "candidate"])
def test_a_candidate_mode_needs_a_candidate(mode: str) -> None:
    data = _routes(mode=mode)
    del data["upstreams"]["candidate"]
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    assert raised.value.errors == [
        f"routes[0].mode: {mode} needs a candidate (upstreams.candidate or --candidate)"
    ]
    assert parse_config(data, candidate="http://candidate").routes[0].mode is Mode(mode)


def test_command_line_flags_override_keys_the_file_names_too() -> None:
    """A reload re-reads the file with the same flags; a flag over a key the file names is not an error."""
    data = _routes()
    data["store"] = {"url": "sqlite:///file.db"}
    config = parse_config(
        data, legacy="http://flag-legacy", candidate="http://flag-candidate", store="sqlite:///f.db"
    )
    assert (config.legacy, config.candidate, config.store.url) == (
        "http://flag-legacy",
        "http://flag-candidate",
        "sqlite:///f.db",
    )


def test_the_example_config_loads_with_every_cutover_key() -> None:
    from pathlib import Path

    from config import load_config

    example = Path(__file__).resolve().parents[2] / "config" / "examples" / "cutover.toml"
    missions = {rule.name: rule for rule in load_config(example).routes}["missions"]
    assert (missions.fallback, missions.promote, missions.rewrite_ids) == (
        Fallback.LEGACY,
        Promote.AUTO,
        True,
    )
    assert missions.rollback == RollbackSettings(300.0, 20, 0.05, 0.02)
