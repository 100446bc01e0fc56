"""Reconcile keys: one comparable tuple per document and per row, and the sort orders that produce it.

The key order rule (both sides must stream in exactly this order for the merge-join to be correct):

- a `text` key part compares as a Python string, i.e. by Unicode code point. ObjectIds become their
  24-character lowercase hex, UUIDs their lowercase hyphenated form. MongoDB sorts ObjectIds by their 12
  bytes, which is the order of their lowercase hex; it sorts strings by UTF-8 bytes, which is code point
  order. PostgreSQL is told `ORDER BY column::text COLLATE "C"` (byte order, not the locale's, which
  ignores hyphens and case).
- MongoDB sorts different BSON types apart (every string before every ObjectId), so a source whose keys
  mix ObjectIds and strings (legacy ids beside new UUIDs) is read as one query per type combination, each
  in key order, merged on the normalized key.
- an `int` key part compares numerically; both databases sort numbers numerically.
- `lowercase = true` folds case on both sides (PostgreSQL orders by `lower(...)`). MongoDB cannot sort by
  a folded string, so its strings must already be lowercase.
- a key part that is absent, null or of another type makes the document or row unkeyed: it is counted,
  never silently matched.

Each side's stream is checked as it arrives: a key lower than its predecessor stops the run with an error
naming both keys, instead of reporting false missing/extra rows.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bson import ObjectId

from config.model import KeyKind, KeyPart

KeyValue = str | int
Key = tuple[KeyValue, ...]

_MONGO_TYPES = {KeyKind.TEXT: ("objectId", "string"), KeyKind.INT: ("number",)}


def _text(value: Any, lowercase: bool) -> str | None:
    if isinstance(value, str):
        return value.lower() if lowercase else value
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:  # Decimal from a NUMERIC column, Decimal128 from BSON
        number = value.to_decimal() if hasattr(value, "to_decimal") else value
        if number == int(number):
            return int(number)
    except (TypeError, ValueError, ArithmeticError):
        pass
    return None


def key_value(part: KeyPart, value: Any) -> KeyValue | None:
    """One key part normalized for comparison, or None when the value cannot be a key."""
    if part.kind is KeyKind.INT:
        return _integer(value)
    return _text(value, part.lowercase)


def dig(document: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted field path (`a.b`), or None when any step is absent."""
    value: Any = document
    for name in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def source_key(parts: Sequence[KeyPart], document: Mapping[str, Any]) -> Key | None:
    """The key of a MongoDB document (None: unkeyed)."""
    values = tuple(key_value(part, dig(document, part.source)) for part in parts)
    return None if None in values else values  # type: ignore[return-value]


def target_key(parts: Sequence[KeyPart], row: Mapping[str, Any]) -> Key | None:
    """The key of a PostgreSQL row (None: unkeyed)."""
    values = tuple(key_value(part, row.get(part.target)) for part in parts)
    return None if None in values else values  # type: ignore[return-value]


def render_key(key: Key) -> str:
    """A key for people: one part as is, several joined by ` | `."""
    return " | ".join(str(value) for value in key)


def mongo_sort(parts: Sequence[KeyPart]) -> list[tuple[str, int]]:
    return [(part.source, 1) for part in parts]


def mongo_partitions(parts: Sequence[KeyPart]) -> list[dict[str, Any]]:
    """One filter per combination of BSON types the key parts may hold; each query sorts in key order."""
    choices = [[(part.source, bson_type) for bson_type in _MONGO_TYPES[part.kind]] for part in parts]
    return [
        {field: {"$type": bson_type} for field, bson_type in combo} for combo in itertools.product(*choices)
    ]


def mongo_unkeyed(parts: Sequence[KeyPart]) -> dict[str, Any]:
    """The filter matching documents no partition reads: a key part absent, null or of another type."""
    clauses = [{part.source: {"$not": {"$type": list(_MONGO_TYPES[part.kind])}}} for part in parts]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def mongo_after(parts: Sequence[KeyPart], document: Mapping[str, Any]) -> dict[str, Any]:
    """The filter for documents after `document` in key order (its raw key values, compared as stored)."""
    values = [dig(document, part.source) for part in parts]
    clauses = []
    for index, part in enumerate(parts):
        clause: dict[str, Any] = {earlier.source: values[i] for i, earlier in enumerate(parts[:index])}
        clause[part.source] = {"$gt": values[index]}
        clauses.append(clause)
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def postgres_order(parts: Sequence[KeyPart], alias: str = "src") -> str:
    """The ORDER BY list yielding rows in the key order rule's order (NULL keys last: counted as unkeyed)."""
    terms = []
    for part in parts:
        column = f"{alias}.{quote_ident(part.target)}"
        if part.kind is KeyKind.INT:
            terms.append(column)
        elif part.lowercase:
            terms.append(f'lower({column}::text) COLLATE "C"')
        else:
            terms.append(f'({column})::text COLLATE "C"')
    return ", ".join(terms)
