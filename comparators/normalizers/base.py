"""The machinery every normalizer shares: applying a per-location rule to JSON, header, status or body paths.

A normalizer maps a Pair to a new Pair. It notes a hit when one of its paths matched anything (for dead-rule
detection) and an Ignored entry when what it removed or equalized actually differed between the sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from comparators.body import Body, BodyKind
from comparators.model import Difference, Ignored
from comparators.pair import Pair, Side
from comparators.paths import MISSING, Path
from comparators.walk import documents_equal


def same(legacy: Any, candidate: Any) -> bool:
    """Exact JSON equality where MISSING equals only MISSING."""
    if legacy is MISSING or candidate is MISSING:
        return legacy is candidate
    return documents_equal(legacy, candidate)


@dataclass
class Notes:
    """What one rule saw during one call; local to the call, folded into the Pair at the end."""

    hit: bool = False
    ignored: list[Ignored] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    def fold(self, pair: Pair, rule: str, legacy: Side, candidate: Side) -> Pair:
        if not self.hit:
            return pair
        return Pair(
            legacy,
            candidate,
            pair.ignored + tuple(self.ignored),
            pair.rules_hit | {rule},
            pair.differences + tuple(self.differences),
        )


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A named, explained pipeline step; subclasses implement `__call__(pair) -> pair`."""

    op: ClassVar[str] = ""
    name: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.op)

    def __call__(self, pair: Pair) -> Pair:
        raise NotImplementedError

    def ignored(self, path: str) -> Ignored:
        return Ignored(self.name, path, self.reason)


@dataclass(frozen=True, kw_only=True)
class PathRule(Rule):
    """A rule applied at every location its paths select, on both sides at once.

    Subclasses implement `settle(path, legacy, candidate, notes) -> (legacy, candidate)`, where an absent
    value is MISSING and returning MISSING deletes; returning the same objects means "no change".
    """

    kinds: ClassVar[frozenset[str]] = frozenset({"json"})  # path kinds this rule accepts
    paths: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        for path in self.paths:
            if path.kind not in self.kinds:
                allowed = ", ".join(sorted(self.kinds))
                raise ValueError(
                    f"{self.op} does not apply to {path.text!r} (accepted path kinds: {allowed})"
                )

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        raise NotImplementedError

    def __call__(self, pair: Pair) -> Pair:
        notes = Notes()
        legacy, candidate = pair.legacy, pair.candidate
        for path in self.paths:
            legacy, candidate = self._apply(path, legacy, candidate, notes)
        return notes.fold(pair, self.name, legacy, candidate)

    def _settle_noting(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        reported = len(notes.differences)
        new_legacy, new_candidate = self.settle(path, legacy, candidate, notes)
        if new_legacy is legacy and new_candidate is candidate:
            return legacy, candidate  # nothing changed, so nothing was hidden
        # Hidden only if the rule itself reported nothing here and the sides now agree.
        if (
            len(notes.differences) == reported
            and same(new_legacy, new_candidate)
            and not same(legacy, candidate)
        ):
            notes.ignored.append(self.ignored(path))
        return new_legacy, new_candidate

    def _apply(self, path: Path, legacy: Side, candidate: Side, notes: Notes) -> tuple[Side, Side]:
        if path.kind == "json":
            return self._apply_json(path, legacy, candidate, notes)
        if path.kind == "header":
            return self._apply_header(path.name, legacy, candidate, notes)
        if path.kind == "status":
            left, right = self._settle_noting("status", legacy.status, candidate.status, notes)
            notes.hit = True
            return _with_status(legacy, left), _with_status(candidate, right)
        return self._apply_body(legacy, candidate, notes)

    def _apply_json(self, path: Path, legacy: Side, candidate: Side, notes: Notes) -> tuple[Side, Side]:
        left, right = structured(legacy), structured(candidate)
        if left is MISSING and right is MISSING:
            return legacy, candidate

        def edit(concrete: str, lvalue: Any, rvalue: Any) -> tuple[Any, Any]:
            return self._settle_noting(concrete, lvalue, rvalue, notes)

        new_left, new_right, count = path.edit_pair(left, right, edit)
        if count == 0:
            return legacy, candidate
        notes.hit = True
        return _with_content(legacy, left, new_left), _with_content(candidate, right, new_right)

    def _apply_header(self, name: str, legacy: Side, candidate: Side, notes: Notes) -> tuple[Side, Side]:
        left = legacy.headers.get(name, MISSING)
        right = candidate.headers.get(name, MISSING)
        if left is MISSING and right is MISSING:
            return legacy, candidate
        notes.hit = True
        new_left, new_right = self._settle_noting(f"header:{name}", left, right, notes)
        return _with_header(legacy, name, left, new_left), _with_header(candidate, name, right, new_right)

    def _apply_body(self, legacy: Side, candidate: Side, notes: Notes) -> tuple[Side, Side]:
        left, right = whole_body(legacy), whole_body(candidate)
        if left is MISSING and right is MISSING:
            return legacy, candidate
        notes.hit = True
        new_left, new_right = self._settle_noting("body", left, right, notes)
        return _with_content(legacy, left, new_left), _with_content(candidate, right, new_right)


def structured(side: Side) -> Any:
    """The parsed document of a JSON-like body, MISSING for other kinds."""
    return side.body.content if side.body.kind.structured else MISSING


def whole_body(side: Side) -> Any:
    """A text body as one string for `body` paths; MISSING when empty, not text or structured."""
    return side.body.content if side.body.kind is BodyKind.TEXT else MISSING


def _with_status(side: Side, status: Any) -> Side:
    if status is side.status:
        return side
    return Side(None if status is MISSING else status, side.headers, side.body)


def _with_content(side: Side, old: Any, new: Any) -> Side:
    if new is old:
        return side
    if new is MISSING:
        return without_body(side)
    return side.with_body_content(new)


def without_body(side: Side) -> Side:
    return Side(side.status, side.headers, Body(BodyKind.EMPTY, None, b""))


def _with_header(side: Side, name: str, old: Any, new: Any) -> Side:
    if new is old:
        return side
    headers = dict(side.headers)
    if new is MISSING:
        headers.pop(name, None)
    else:
        headers[name] = new
    return side.with_headers(headers)
