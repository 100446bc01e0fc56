"""Shared rule sets: `[[rules.NAME]]` pipelines that routes splice in with `use`, mounted at a JSON path.

A set is written for the value it describes (`$` is, say, one mission) and parsed once, its errors keyed
`rules.NAME[i]…`. A route's `use = ["NAME", { rules = "NAME", at = "$.data[*]" }]` runs the sets in the order
listed, before its own `[[routes.compare]]`; `at` moves the set's JSON paths below that path (header, status
and body paths have no place in the document and stay as written). Rules keep the set's names in reports
(`rules.NAME[2]:unordered`), so a set may be used once per route.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from typing import Any

from comparators.normalizers import ErrorsOnly, PathRule
from comparators.paths import Path, parse_path
from comparators.spec import Normalizer
from config.compare_section import parse_pipeline
from config.reader import Section, type_name

RuleSets = Mapping[str, tuple[Normalizer, ...]]
_NAME = re.compile(r"[A-Za-z0-9_-]+")


def parse_rule_sets(section: Section) -> dict[str, tuple[Normalizer, ...]]:
    """Every `[[rules.NAME]]` array of normalizer tables, by name."""
    sets: dict[str, tuple[Normalizer, ...]] = {}
    for name in section.data:
        if not _NAME.fullmatch(name):
            section.seen.add(name)
            section.error(name, "a rule set name is letters, digits, '-' and '_'")
            continue
        sets[name] = parse_pipeline(section.tables(name), prefix=section.path(name))
    section.finish()
    return sets


def parse_route_pipeline(route: Section, rule_sets: RuleSets) -> tuple[Normalizer, ...]:
    """The sets the route uses, mounted and in the order listed, then its own `[[routes.compare]]`."""
    return _used(route, rule_sets) + parse_pipeline(route.tables("compare"))


def _used(route: Section, rule_sets: RuleSets) -> tuple[Normalizer, ...]:
    raw = route.raw("use", [])
    entries = raw if isinstance(raw, list) else [raw]
    pipeline: list[Normalizer] = []
    names: set[str] = set()
    for position, entry in enumerate(entries):
        key = f"use[{position}]" if isinstance(raw, list) else "use"
        found = _entry(route, key, entry, rule_sets)
        if found is None:
            continue
        name, at = found
        if name in names:
            route.error(key, f"rule set {name!r} is already used by this route (its rule names would repeat)")
            continue
        names.add(name)
        pipeline.extend(mount(rule_sets[name], at))
    return tuple(pipeline)


def _entry(route: Section, key: str, entry: Any, rule_sets: RuleSets) -> tuple[str, Path | None] | None:
    """(set name, mount path) of one `use` entry: "NAME" or { rules = "NAME", at = "PATH" }."""
    if isinstance(entry, str):
        return (entry, None) if _known(route, key, entry, rule_sets) else None
    if not isinstance(entry, dict):
        shapes = '"NAME" or { rules = "NAME", at = "$.path" }'
        route.error(key, f"expected a rule set: {shapes}, got {type_name(entry)}")
        return None
    table = Section(entry, route.path(key), route.errors)
    name = table.string("rules")
    known = _known(table, "rules", name, rule_sets)
    at = _mount_path(table)
    table.finish()
    return (name, at) if known else None


def _known(section: Section, key: str, name: str, rule_sets: RuleSets) -> bool:
    if name in rule_sets:
        return True
    if not name:
        section.error(key, "required: the NAME of a [[rules.NAME]] set")
        return False
    close = difflib.get_close_matches(name, list(rule_sets), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"defined: {', '.join(rule_sets) or 'none'}"
    section.error(key, f"unknown rule set {name!r} ({hint})")
    return False


def _mount_path(table: Section) -> Path | None:
    text = table.optional_string("at")
    if text is None:
        return None
    try:
        path = parse_path(text)
    except ValueError as exc:
        table.error("at", str(exc))
        return None
    if not path.is_json:
        table.error("at", f"expected a JSON path like $.data[*], got {text!r}")
        return None
    return path


def mount(normalizers: tuple[Normalizer, ...], at: Path | None) -> tuple[Normalizer, ...]:
    """The rules with their JSON paths below `at`: `$.addresses` at `$.data[*]` is `$.data[*].addresses`."""
    if at is None or not at.segments:
        return normalizers
    return tuple(
        dataclasses.replace(n, paths=tuple(rebase(p, at) for p in n.paths))
        if isinstance(n, PathRule | ErrorsOnly)
        else n
        for n in normalizers
    )


def rebase(path: Path, at: Path) -> Path:
    return parse_path(at.text + path.text[1:]) if path.is_json else path
