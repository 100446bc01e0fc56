"""Parse a route's `[[routes.compare]]` tables into the ordered normalizer pipeline, every bad field keyed."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Any

from comparators.body import BodyKind
from comparators.normalizers import (
    EmptyEquivalent,
    ErrorsOnly,
    Ids,
    Ignore,
    ParseAs,
    SortedBy,
    StatusEquivalent,
    Strings,
    Timestamps,
    Tolerance,
    Unordered,
    Urls,
    ValueMap,
)
from comparators.normalizers.arrays import DUPLICATES
from comparators.normalizers.text import URL_PARTS
from comparators.normalizers.values import EMPTY_FORMS, EPOCH_UNITS, ID_FORMATS, PRECISIONS, parse_duration
from comparators.paths import Path, parse_path
from comparators.spec import Normalizer
from config.reader import Section, type_name

Builder = Callable[[Section, dict[str, Any]], Normalizer | None]


def parse_pipeline(tables: Iterable[Section], prefix: str = "compare") -> tuple[Normalizer, ...]:
    """Build each normalizer in the order written; unknown ops and bad arguments become keyed errors.

    Each is named `{prefix}[index]:op` in reports (`compare[2]:unordered`, `rules.mission[2]:unordered`).
    """
    pipeline: list[Normalizer] = []
    for index, table in enumerate(tables):
        normalizer = _parse_one(f"{prefix}[{index}]", table)
        if normalizer is not None:
            pipeline.append(normalizer)
    return tuple(pipeline)


def _parse_one(label: str, table: Section) -> Normalizer | None:
    op = table.string("op")
    common = {"name": f"{label}:{op}", "reason": table.string("reason")}
    build = _BUILDERS.get(op)
    if build is None:
        table.seen.update(table.data)  # the op is the error; its arguments cannot be judged without it
        table.finish()
        known = ", ".join(sorted(_BUILDERS))
        table.error(
            "op", f"unknown normalizer {op!r} (known: {known})" if op else f"required (one of: {known})"
        )
        return None
    errors_before = len(table.errors)
    try:
        normalizer = build(table, common)
    except ValueError as exc:
        table.error(None, str(exc))
        normalizer = None
    table.finish()
    return normalizer if len(table.errors) == errors_before else None


def _paths(table: Section, kinds: frozenset[str], required: bool = True) -> tuple[Path, ...]:
    """`path = "..."` and/or `paths = [...]`, each parsed and checked against the kinds the op accepts."""
    found: list[Path] = []
    for name in ("path", "paths"):
        raw = table.raw(name)
        texts = table.strings(name)
        for position, text in enumerate(texts):
            key = f"{name}[{position}]" if isinstance(raw, list) else name
            path = _one_path(table, key, text, kinds)
            if path is not None:
                found.append(path)
    if required and not table.has("path") and not table.has("paths"):
        table.error("path", "required (a path like $.items[*].id, header:<name>, status or body)")
    return tuple(found)


def _one_path(table: Section, key: str, text: str, kinds: frozenset[str]) -> Path | None:
    try:
        path = parse_path(text)
    except ValueError as exc:
        table.error(key, str(exc))
        return None
    if path.kind not in kinds:
        table.error(key, f"{text!r} is a {path.kind} path; this op accepts {', '.join(sorted(kinds))} paths")
        return None
    return path


def _choice(table: Section, name: str, default: str, choices: Iterable[str]) -> str:
    value = table.string(name, default)
    options = tuple(choices)
    if value not in options:
        table.error(name, f"expected one of {', '.join(options)}, got {value!r}")
        return default
    return value


def _key_path(table: Section, required: bool) -> Path | None:
    text = table.optional_string("key")
    if text is None:
        if required:
            table.error(
                "key", "required (a field name like _id, or a path relative to the element like $.meta.id)"
            )
        return None
    try:
        return parse_path(text if text.startswith("$") else f"$['{_quote(text)}']")
    except ValueError as exc:
        table.error("key", str(exc))
        return None


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _ignore(table: Section, common: dict[str, Any]) -> Ignore:
    paths = _paths(table, Ignore.kinds, required=False)
    headers = tuple(parse_path(f"header:{name}") for name in _header_names(table))
    if not paths and not headers and not table.has("path") and not table.has("paths"):
        table.error("paths", "required: at least one path or header to ignore")
    return Ignore(paths=paths + headers, **common)


def _header_names(table: Section) -> list[str]:
    names = []
    for position, name in enumerate(table.strings("headers")):
        if re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
            names.append(name.lower())
        else:
            table.error(f"headers[{position}]", f"not a valid header name: {name!r}")
    return names


def _unordered(table: Section, common: dict[str, Any]) -> Unordered:
    return Unordered(
        paths=_paths(table, Unordered.kinds),
        key=_key_path(table, required=False),
        report_order=table.boolean("report_order", False),
        duplicates=_choice(table, "duplicates", "count", DUPLICATES),
        **common,
    )


def _sorted_by(table: Section, common: dict[str, Any]) -> SortedBy | None:
    paths = _paths(table, SortedBy.kinds)
    key = _key_path(table, required=True)
    descending = table.boolean("descending", False)
    return SortedBy(paths=paths, key=key, descending=descending, **common) if key else None


def _tolerance(table: Section, common: dict[str, Any]) -> Tolerance:
    paths = _paths(table, Tolerance.kinds)
    absolute = table.number("absolute", 0.0)
    relative = table.number("relative", 0.0, maximum=1.0)
    if absolute == 0 and relative == 0 and not table.has("absolute") and not table.has("relative"):
        table.error("absolute", "set absolute and/or relative (e.g. absolute = 1e-6 or relative = 0.001)")
    return Tolerance(paths=paths, absolute=absolute, relative=relative, **common)


def _timestamps(table: Section, common: dict[str, Any]) -> Timestamps:
    return Timestamps(
        paths=_paths(table, Timestamps.kinds),
        precision=_choice(table, "precision", "ms", PRECISIONS),
        epoch=_choice(table, "epoch", "auto", EPOCH_UNITS),
        tolerance=_duration(table, "tolerance"),
        **common,
    )


def _duration(table: Section, name: str) -> timedelta:
    """A duration with its unit ("1ms"): a bare number is refused, since its unit would be a guess."""
    raw = table.raw(name, "0s")
    if not isinstance(raw, str):
        table.error(name, f'expected a duration like "1ms" or "2s", got {type_name(raw)} {raw!r}')
        return timedelta(0)
    try:
        return parse_duration(raw)
    except ValueError as exc:
        table.error(name, str(exc))
        return timedelta(0)


def _empty_equivalent(table: Section, common: dict[str, Any]) -> EmptyEquivalent:
    forms = table.strings("forms", ("null", "missing", "empty_string"))
    for position, form in enumerate(forms):
        if form not in EMPTY_FORMS:
            table.error(f"forms[{position}]", f"expected one of {', '.join(EMPTY_FORMS)}, got {form!r}")
    good = frozenset(f for f in forms if f in EMPTY_FORMS)
    if len(good) < 2:
        table.error("forms", "needs at least two forms to be equivalent")
    return EmptyEquivalent(paths=_paths(table, EmptyEquivalent.kinds), forms=good, **common)


def _value_map(table: Section, common: dict[str, Any]) -> ValueMap:
    paths = _paths(table, ValueMap.kinds)
    raw = table.raw("map")
    mapping: dict[str, Any] = {}
    if not isinstance(raw, dict) or not raw:
        table.error(
            "map", f"expected a non-empty table like {{ yes = true, no = false }}, got {type_name(raw)}"
        )
    else:
        for key, value in raw.items():
            if isinstance(value, dict | list):
                table.error(f"map.{key}", f"expected a string, number or boolean, got {type_name(value)}")
            else:
                mapping[key] = value
    return ValueMap(
        paths=paths,
        mapping=mapping,
        case_insensitive=table.boolean("case_insensitive", False),
        **common,
    )


def _status_equivalent(table: Section, common: dict[str, Any]) -> StatusEquivalent:
    raw = table.raw("classes")
    groups = raw if isinstance(raw, list) and raw and all(isinstance(g, list) for g in raw) else None
    if groups is None:
        table.error("classes", f"expected an array of status arrays like [[404, 410]], got {type_name(raw)}")
        return StatusEquivalent(**common)
    classes = []
    for position, group in enumerate(groups):
        if len(group) < 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in group
        ):
            table.error(
                f"classes[{position}]", f"expected two or more statuses between 100 and 599, got {group!r}"
            )
        else:
            classes.append(frozenset(group))
    return StatusEquivalent(classes=tuple(classes), **common)


def _ids(table: Section, common: dict[str, Any]) -> Ids:
    mapping = _inline_mapping(table)
    mapping.update(_mapping_file(table))
    return Ids(
        paths=_paths(table, Ids.kinds),
        legacy_format=_choice(table, "legacy_format", "any", ID_FORMATS),
        candidate_format=_choice(table, "candidate_format", "any", ID_FORMATS),
        mapping=mapping,
        **common,
    )


def _inline_mapping(table: Section) -> dict[str, str]:
    raw = table.raw("mapping", {})
    if not isinstance(raw, dict):
        table.error("mapping", f"expected a table of legacy id = candidate id, got {type_name(raw)}")
        return {}
    mapping = {}
    for key, value in raw.items():
        if isinstance(value, str | int) and not isinstance(value, bool):
            mapping[key] = str(value)
        else:
            table.error(f"mapping.{key}", f"expected a string or integer id, got {type_name(value)}")
    return mapping


def _mapping_file(table: Section) -> dict[str, str]:
    """A JSON object or a two-column CSV (legacy id, candidate id), read once at config load."""
    name = table.optional_string("mapping_file")
    if name is None:
        return {}
    try:
        text = FilePath(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        table.error("mapping_file", f"cannot read {name}: {exc}")
        return {}
    if name.endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            table.error("mapping_file", f"{name} is not valid JSON: {exc}")
            return {}
        if not isinstance(data, dict):
            table.error("mapping_file", f"{name} must hold a JSON object of legacy id -> candidate id")
            return {}
        return {str(k): str(v) for k, v in data.items()}
    rows = [row for row in csv.reader(text.splitlines()) if row]
    bad = next((n for n, row in enumerate(rows, 1) if len(row) != 2), None)
    if bad is not None:
        table.error("mapping_file", f"{name} line {bad}: expected two columns (legacy id, candidate id)")
        return {}
    return {row[0].strip(): row[1].strip() for row in rows}


def _strings(table: Section, common: dict[str, Any]) -> Strings:
    pattern_text = table.optional_string("pattern")
    pattern = None
    if pattern_text is not None:
        try:
            pattern = re.compile(pattern_text)
        except re.error as exc:
            table.error("pattern", f"invalid regular expression: {exc}")
    elif table.has("replacement"):
        table.error("replacement", "given without a pattern")
    split = table.string("split", "")
    if table.has("split") and not split and isinstance(table.raw("split"), str):
        table.error("split", 'must not be empty (the separator between tokens, e.g. ", ")')
    sort = table.boolean("sort", False)
    if sort and not table.has("split"):
        table.error("sort", 'needs split = "<separator>" (the tokens to sort)')
    return Strings(
        paths=_paths(table, Strings.kinds),
        trim=table.boolean("trim", False),
        collapse_spaces=table.boolean("collapse_spaces", False),
        casefold=table.boolean("casefold", False),
        nfc=table.boolean("nfc", False),
        pattern=pattern,
        replacement=table.string("replacement", ""),
        split=split,
        sort=sort and bool(split),
        drop_empty=table.boolean("drop_empty", False),
        **common,
    )


def _urls(table: Section, common: dict[str, Any]) -> Urls:
    parts = table.strings("parts", ("path",))
    for position, part in enumerate(parts):
        if part not in URL_PARTS:
            table.error(f"parts[{position}]", f"expected one of {', '.join(URL_PARTS)}, got {part!r}")
    return Urls(
        paths=_paths(table, Urls.kinds),
        parts=frozenset(p for p in parts if p in URL_PARTS),
        query_keys=table.strings("query_keys"),
        **common,
    )


def _errors(table: Section, common: dict[str, Any]) -> ErrorsOnly:
    return ErrorsOnly(
        paths=_paths(table, frozenset({"json"}), required=False),
        min_status=table.integer("min_status", 400, minimum=100),
        **common,
    )


def _parse_as(table: Section, common: dict[str, Any]) -> ParseAs:
    kinds = [k.value for k in BodyKind if k is not BodyKind.EMPTY]
    return ParseAs(kind=BodyKind(_choice(table, "as", "json", kinds)), **common)


_BUILDERS: dict[str, Builder] = {
    "ignore": _ignore,
    "unordered": _unordered,
    "sorted_by": _sorted_by,
    "tolerance": _tolerance,
    "timestamps": _timestamps,
    "empty_equivalent": _empty_equivalent,
    "value_map": _value_map,
    "status_equivalent": _status_equivalent,
    "ids": _ids,
    "strings": _strings,
    "urls": _urls,
    "errors": _errors,
    "parse_as": _parse_as,
}
