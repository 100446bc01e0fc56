"""Parse a route's `[[routes.compare]]` tables into the ordered normalizer pipeline."""

from __future__ import annotations

from collections.abc import Iterable

from comparators.spec import Normalizer
from config.reader import Section


def parse_pipeline(tables: Iterable[Section]) -> tuple[Normalizer, ...]:
    """Build each normalizer in the order written; unknown ops and bad arguments become keyed errors."""
    pipeline: list[Normalizer] = []
    for table in tables:
        op = table.string("op")
        table.error("op", f"unknown normalizer {op!r}")
        table.finish()
    return tuple(pipeline)
