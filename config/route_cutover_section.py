"""Parse a route's cutover keys (fallback, promote, rollback, ids), every bad key named with its path.

    [[routes]]
    name = "missions"
    mode = "shadow"                 # legacy | shadow | candidate_primary | candidate
    fallback = "legacy"             # candidate_primary: legacy's answer when the candidate fails
    promote = "auto"                # shadow -> candidate_primary -> candidate after READY windows
    rollback = { window = "5m", min_samples = 20, max_divergence_rate = 0.05 }  # or `true`
    id_paths = { legacy = "$.data._id", candidate = "$.data.id" }
    id_kind = "mission"             # the id namespace shared by the write route and the read routes
    rewrite_ids = true              # legacy ids in the candidate's request path become candidate ids

`rollback = true` takes the defaults of RollbackSettings; a table overrides the keys it names.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from comparators.paths import parse_path
from config.cutover_section import parse_duration
from config.model import Fallback, IdPaths, Mode, Promote, RollbackSettings, RouteRule
from config.reader import Section, type_name

CANDIDATE_MODES = frozenset({Mode.CANDIDATE_PRIMARY, Mode.CANDIDATE})


def _choice(section: Section, name: str, default: Any, kind: type[Any]) -> Any:
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"expected one of {', '.join(m.value for m in kind)}, got {text!r}") from None

    return section.parsed(name, default, parse)


def parse_route_cutover(section: Section) -> dict[str, Any]:
    """RouteRule's cutover fields read from one [[routes]] table (defaults for absent keys)."""
    return {
        "fallback": _choice(section, "fallback", Fallback.NONE, Fallback),
        "promote": _choice(section, "promote", Promote.MANUAL, Promote),
        "rollback": _rollback(section),
        "id_paths": _id_paths(section),
        "id_kind": section.string("id_kind", "default") or "default",
        "rewrite_ids": section.boolean("rewrite_ids", False),
    }


def parse_rollback(section: Section, base: RollbackSettings) -> RollbackSettings:
    """`base` with the keys this table names; an invalid key keeps base's value and adds a keyed error."""
    settings = replace(
        base,
        window=section.parsed("window", base.window, parse_duration),
        min_samples=section.integer("min_samples", base.min_samples, 1),
        max_divergence_rate=section.number("max_divergence_rate", base.max_divergence_rate, 0.0, 1.0),
        max_candidate_error_rate=section.number(
            "max_candidate_error_rate", base.max_candidate_error_rate, 0.0, 1.0
        ),
    )
    section.finish()
    return settings


def _rollback(section: Section) -> RollbackSettings | None:
    if not section.has("rollback"):
        section.seen.add("rollback")
        return None
    value = section.raw("rollback")
    if isinstance(value, bool):
        return RollbackSettings() if value else None
    if not isinstance(value, dict):
        section.error("rollback", f"expected true, false or a table, got {type_name(value)}")
        return None
    return parse_rollback(section.section("rollback"), RollbackSettings())


def _id_paths(section: Section) -> IdPaths | None:
    if not section.has("id_paths"):
        section.seen.add("id_paths")
        return None
    table = section.section("id_paths")
    sides = {name: table.string(name) for name in ("legacy", "candidate")}
    table.finish()
    for name, text in sides.items():
        if not text:
            table.error(name, "required: the JSON path of this side's new id in a write's response")
            continue
        try:
            if not parse_path(text).is_json:
                table.error(name, f"expected a JSON path starting with '$', got {text!r}")
        except ValueError as exc:
            table.error(name, str(exc))
    return IdPaths(sides["legacy"], sides["candidate"]) if all(sides.values()) else None


def check_route_modes(routes: tuple[RouteRule, ...], candidate: str | None, errors: list[str]) -> None:
    """A route cannot be served by the candidate, or promoted towards it, when none is configured."""
    if candidate is not None:
        return
    for index, route in enumerate(routes):
        if route.mode in CANDIDATE_MODES:
            needs = "needs a candidate (upstreams.candidate or --candidate)"
            errors.append(f"routes[{index}].mode: {route.mode.value} {needs}")
