"""Turn a MongoDB document and a PostgreSQL row into the two JSON documents the comparators compare.

Both sides are serialized the way an API would: ObjectId as its hex string, datetimes as ISO-8601 UTC
(naive values are UTC, as pymongo and a `TIMESTAMP` column return them), NUMERIC and Decimal128 as numbers,
UUIDs as lowercase strings, binary as base64. What differs in representation beyond that (yes/no vs
booleans, "" vs NULL, precision, array order) is for the job's `[[reconcile.compare]]` normalizers.
"""

from __future__ import annotations

import base64
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from bson import Decimal128, ObjectId

from config.model import FieldMap, KeyPart

JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _default(value: Any) -> Any:
    """orjson's fallback for the types BSON and asyncpg produce that JSON lacks."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and value.is_finite() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)  # Regex, Timestamp, Code, MinKey, ranges, intervals: readable beats lost


def to_json(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys), so equal values give equal bytes whichever side they come from."""
    return orjson.dumps(value, default=_default, option=JSON_OPTIONS)


def plain(value: Any) -> Any:
    """The value as plain JSON types (for reports and for comparators that take parsed documents)."""
    return orjson.loads(to_json(value))


def split_path(path: str) -> tuple[str, ...]:
    """`$.a.b` -> ("a", "b"): field mappings use plain dotted paths, validated at config load."""
    return tuple(path[2:].split(".")) if path.startswith("$.") else ()


_ABSENT = object()


def _get(document: Mapping[str, Any], steps: Sequence[str]) -> Any:
    """The value at `steps`, or _ABSENT."""
    if len(steps) == 1:
        return document.get(steps[0], _ABSENT)
    value: Any = document
    for step in steps:
        if not isinstance(value, Mapping) or step not in value:
            return _ABSENT
        value = value[step]
    return value


def _put(document: dict[str, Any], steps: Sequence[str], value: Any) -> None:
    if len(steps) == 1:
        document[steps[0]] = value
        return
    node = document
    for step in steps[:-1]:
        child = node.get(step)
        if not isinstance(child, dict):
            child = node[step] = {}
        node = child
    node[steps[-1]] = value


@dataclass(frozen=True, slots=True)
class Projection:
    """How a job shapes both sides into documents of the source's shape before comparing them."""

    fields: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (source steps, target steps)
    drop_source: frozenset[str]  # top-level names left out of whole-document comparisons (the key)
    drop_target: frozenset[str]

    @classmethod
    def build(cls, fields: Sequence[FieldMap], key: Sequence[KeyPart]) -> Projection:
        return cls(
            fields=tuple((split_path(f.source), split_path(f.target)) for f in fields),
            drop_source=frozenset(part.source for part in key if "." not in part.source),
            drop_target=frozenset(part.target for part in key),
        )

    def source(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The document as compared: mapped fields only (absent stays absent), else all but the key."""
        if not self.fields:
            return {k: v for k, v in document.items() if k not in self.drop_source}
        shaped: dict[str, Any] = {}
        for steps, _ in self.fields:
            value = _get(document, steps)
            if value is not _ABSENT:
                _put(shaped, steps, value)
        return shaped

    def target(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row as compared, in the document's shape: each mapped column at its document path."""
        if not self.fields:
            return {k: v for k, v in row.items() if k not in self.drop_target}
        shaped: dict[str, Any] = {}
        for source_steps, target_steps in self.fields:
            value = _get(row, target_steps)
            if value is not _ABSENT:
                _put(shaped, source_steps, value)
        return shaped
