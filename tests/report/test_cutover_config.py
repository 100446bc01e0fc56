"""`[cutover]` and `[routes.cutover]`: durations, defaults, per-route overrides and keyed errors."""

from __future__ import annotations

from typing import Any

import pytest

from config.cutover_section import format_duration, parse_duration
from config.loader import ConfigError, parse_config
from config.model import CutoverSettings
from proxy.evidence import settings_for

LEGACY = {"upstreams": {"legacy": "http://legacy.internal"}}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800), ("12h", 43200), ("30m", 1800), ("90s", 90), ("1w", 604800), ("1d12h", 129600)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "7", "7x", "d7", "0d", "-1h", "7 d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration_uses_the_largest_units() -> None:
    assert [format_duration(s) for s in (604800, 129600, 90, 0.4)] == ["7d", "1d12h", "1m30s", "0s"]


def config(**tables: Any) -> dict[str, Any]:
    return {**LEGACY, **tables}


def test_defaults_global_values_and_route_overrides() -> None:
    route = {"name": "items", "path": "/items", "cutover": {"min_samples": 50, "window": "1d"}}
    loaded = parse_config(
        config(cutover={"window": "12h", "max_latency_ratio": 2}, routes=[route, {"name": "x", "path": "/x"}])
    )
    assert parse_config(config()).cutover == CutoverSettings()
    assert loaded.cutover == CutoverSettings(window=43200, max_latency_ratio=2.0)
    assert settings_for(loaded, "items") == CutoverSettings(
        window=86400, min_samples=50, max_latency_ratio=2.0
    )
    assert settings_for(loaded, "x") == settings_for(loaded, "GET /auto") == loaded.cutover
    assert settings_for(None, "anything") == CutoverSettings()


def test_every_bad_key_is_named() -> None:
    bad = {"window": "soon", "min_samples": 0, "max_divergence_rate": 1.5, "max_latency_ratio": 0, "typo": 1}
    route = {"name": "items", "path": "/items", "cutover": {"max_candidate_error_rate": -1}}
    with pytest.raises(ConfigError) as caught:
        parse_config(config(cutover=bad, routes=[route]))
    assert caught.value.errors == [
        "cutover.window: expected a duration like 7d, 12h, 30m or 1d12h, got 'soon'",
        "cutover.min_samples: must be >= 1, got 0",
        "cutover.max_divergence_rate: must be between 0.0 and 1.0, got 1.5",
        "cutover.max_latency_ratio: must be greater than 0",
        "cutover.typo: unknown key (known: dead_rule_after, max_candidate_error_rate, max_divergence_rate, "
        "max_latency_ratio, min_samples, window)",
        "routes[0].cutover.max_candidate_error_rate: must be between 0.0 and 1.0, got -1.0",
    ]
