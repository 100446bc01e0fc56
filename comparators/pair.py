"""What a normalizer sees: both sides of one comparison, parsed, plus what the rules noted so far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from comparators.body import Body, read_body
from comparators.model import Difference, Ignored, Observation

Headers = Mapping[str, tuple[str, ...]]


def header_map(observation: Observation, ignore: frozenset[str]) -> Headers:
    """Lowercase name -> values in order, minus the ignored names (a plain dict: picklable, never mutated)."""
    grouped: dict[str, list[str]] = {}
    for name, value in observation.headers:
        lowered = name.lower()
        if lowered not in ignore:
            grouped.setdefault(lowered, []).append(value)
    return {name: tuple(values) for name, values in grouped.items()}


def grouped_headers(observation: Observation) -> dict[str, list[str]]:
    """Lowercase name -> all its values in order: one pass, for the several lookups reading a side needs."""
    grouped: dict[str, list[str]] = {}
    for name, value in observation.headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def first_value(grouped: dict[str, list[str]], name: str) -> str:
    """What Observation.header(name) returns, from grouped_headers (name in lowercase)."""
    values = grouped.get(name)
    return values[0] if values else ""


@dataclass(frozen=True, slots=True)
class Side:
    """One upstream's response as the rules see it. Never mutated: a rule returns a new Side."""

    status: int | None
    headers: Headers
    body: Body

    # Direct constructors, not dataclasses.replace: these run for every rule of every comparison.
    def with_body_content(self, content: Any) -> Side:
        body = self.body
        return Side(self.status, self.headers, Body(body.kind, content, body.raw, body.note))

    def with_headers(self, headers: dict[str, tuple[str, ...]]) -> Side:
        return Side(self.status, headers, self.body)


def read_side(
    observation: Observation,
    ignore_headers: frozenset[str],
    body: Body | None = None,
    grouped: dict[str, list[str]] | None = None,
) -> Side:
    """Parse one observation; `body` may be passed in when both sides sent the same bytes (parse once).

    `grouped` is grouped_headers(observation), when the caller has it already.
    """
    if grouped is None:
        grouped = grouped_headers(observation)
    if body is None:
        body = read_body(
            observation.body,
            first_value(grouped, "content-type"),
            first_value(grouped, "content-encoding"),
        )
    headers = {name: tuple(values) for name, values in grouped.items() if name not in ignore_headers}
    return Side(observation.status, headers, body)


@dataclass(frozen=True, slots=True)
class Pair:
    """Legacy and candidate as normalized so far, with the notes the rules left on the way."""

    legacy: Side
    candidate: Side
    ignored: tuple[Ignored, ...] = ()
    rules_hit: frozenset[str] = field(default_factory=frozenset)
    differences: tuple[Difference, ...] = ()  # found by a rule itself, e.g. an id of the wrong format

    def with_sides(self, legacy: Side, candidate: Side) -> Pair:
        return Pair(legacy, candidate, self.ignored, self.rules_hit, self.differences)

    def noted(
        self,
        rule: str,
        ignored: tuple[Ignored, ...] = (),
        differences: tuple[Difference, ...] = (),
    ) -> Pair:
        """Record that `rule` matched something, what it hid, and what it found."""
        return Pair(
            self.legacy,
            self.candidate,
            self.ignored + ignored,
            self.rules_hit | {rule},
            self.differences + differences,
        )
