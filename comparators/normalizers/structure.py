"""Rules that change what is compared at all: ignore, errors-only, status classes, and re-parsing a body."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

from comparators.body import Body, BodyKind, media_type, parse_as
from comparators.normalizers.base import Notes, PathRule, Rule, same, structured, without_body
from comparators.pair import Pair, Side
from comparators.paths import MISSING, Location, Path


@dataclass(frozen=True, kw_only=True)
class Ignore(PathRule):
    """Drop the selected JSON paths, headers, the status or the whole body on both sides before comparing."""

    op: ClassVar[str] = "ignore"
    kinds: ClassVar[frozenset[str]] = frozenset({"json", "header", "status", "body"})

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        return MISSING, MISSING

    def _apply_body(self, legacy: Side, candidate: Side, notes: Notes) -> tuple[Side, Side]:
        if legacy.body.kind is BodyKind.EMPTY and candidate.body.kind is BodyKind.EMPTY:
            return legacy, candidate
        notes.hit = True
        if legacy.body.raw != candidate.body.raw or legacy.body.kind is not candidate.body.kind:
            notes.ignored.append(self.ignored("body"))
        return without_body(legacy), without_body(candidate)


@dataclass(frozen=True, kw_only=True)
class ErrorsOnly(Rule):
    """When either status is an error, compare only the status and the declared body paths."""

    op: ClassVar[str] = "errors"
    paths: tuple[Path, ...] = ()
    min_status: int = 400

    def __call__(self, pair: Pair) -> Pair:
        statuses = (pair.legacy.status, pair.candidate.status)
        if not any(status is not None and status >= self.min_status for status in statuses):
            return pair
        notes = Notes(hit=True)
        legacy, candidate = self._reduce(pair.legacy), self._reduce(pair.candidate)
        for name in sorted(pair.legacy.headers.keys() | pair.candidate.headers.keys()):
            if pair.legacy.headers.get(name) != pair.candidate.headers.get(name):
                notes.ignored.append(self.ignored(f"header:{name}"))
        if not _bodies_equal(pair.legacy, pair.candidate) and _bodies_equal(legacy, candidate):
            notes.ignored.append(self.ignored("body"))
        return notes.fold(pair, self.name, legacy, candidate)

    def _reduce(self, side: Side) -> Side:
        document = structured(side)
        if document is MISSING:
            return Side(side.status, {}, without_body(side).body)
        return Side(side.status, {}, _with_content(side.body, keep_only(document, self.paths)))


def _with_content(body: Body, content: Any) -> Body:
    return Body(body.kind, content, body.raw, body.note)


def _bodies_equal(legacy: Side, candidate: Side) -> bool:
    left, right = legacy.body, candidate.body
    if left.kind is not right.kind:
        return False
    return same(left.content, right.content) if left.kind.structured else left.content == right.content


class _Built(dict[Any, Any]):
    """An object under construction by `keep_only` (as opposed to a kept value, never walked)."""


class _Slots(dict[Any, Any]):
    """An array under construction: kept positions by index, compacted into a list at the end."""


def keep_only(document: Any, paths: tuple[Path, ...]) -> Any:
    """A new document holding only what `paths` select, at the same places (array positions compacted)."""
    root: dict[Any, Any] = _Slots() if isinstance(document, list) else _Built()
    for path in paths:
        for location, value in path.locate(document):
            if not location:
                return document
            _place(root, location, value)
    return _finish(root)


def _place(root: dict[Any, Any], location: Location, value: Any) -> None:
    holder = root
    for step, next_step in itertools.pairwise(location):
        child = holder.get(step)
        if not isinstance(child, _Built | _Slots):
            child = _Slots() if isinstance(next_step, int) else _Built()
            holder[step] = child
        holder = child
    holder[location[-1]] = value


def _finish(root: dict[Any, Any]) -> Any:
    """Turn the skeleton into plain dicts and lists, bottom-up without recursion."""
    order: list[dict[Any, Any]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(child for child in node.values() if isinstance(child, _Built | _Slots))
    built: dict[int, Any] = {}
    for node in reversed(order):
        items = {key: built.get(id(value), value) for key, value in node.items()}
        built[id(node)] = [items[key] for key in sorted(items)] if isinstance(node, _Slots) else dict(items)
    return built[id(root)]


@dataclass(frozen=True, kw_only=True)
class StatusEquivalent(Rule):
    """Treat statuses of one class as equal (e.g. 404 and 410): each maps to its class's smallest member."""

    op: ClassVar[str] = "status_equivalent"
    classes: tuple[frozenset[int], ...] = ()

    def _canonical(self, status: int | None) -> int | None:
        for group in self.classes:
            if status in group:
                return min(group)
        return status

    def __call__(self, pair: Pair) -> Pair:
        left, right = pair.legacy.status, pair.candidate.status
        new_left, new_right = self._canonical(left), self._canonical(right)
        if new_left == left and new_right == right and not any(left in g or right in g for g in self.classes):
            return pair
        notes = Notes(hit=True)
        if left != right and new_left == new_right:
            notes.ignored.append(self.ignored("status"))
        legacy = Side(new_left, pair.legacy.headers, pair.legacy.body)
        candidate = Side(new_right, pair.candidate.headers, pair.candidate.body)
        return notes.fold(pair, self.name, legacy, candidate)


@dataclass(frozen=True, kw_only=True)
class ParseAs(Rule):
    """Re-read both bodies as one content kind, whatever their Content-Type says (decoded bytes first)."""

    op: ClassVar[str] = "parse_as"
    kind: BodyKind = BodyKind.JSON

    def __call__(self, pair: Pair) -> Pair:
        if not (pair.legacy.body.raw or pair.candidate.body.raw):
            return pair
        return Notes(hit=True).fold(
            pair, self.name, self._reparse(pair.legacy), self._reparse(pair.candidate)
        )

    def _reparse(self, side: Side) -> Side:
        if side.body.kind is self.kind or side.body.note.startswith("undecodable"):
            return side
        _, charset = media_type(side.headers.get("content-type", ("",))[0])
        return Side(side.status, side.headers, parse_as(side.body.raw, self.kind, charset))
