"""The one path syntax of the project: parsing, rendering, matching and copy-on-write edits of JSON documents.

Grammar::

    status | body | header:<name> | $ step*
    step := .name | .* | ['any key'] | [*] | ..name | ..* | ..['any key'] | ..[*]

Array indices are always collapsed to ``[*]``: differences are counted per field, not per position.
``..`` means "at any depth below". Keys that are not plain names are written ``['a key']`` (``\\'`` and
``\\\\`` escape). Edits never mutate their inputs: every touched container on the way down is copied once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Final

from comparators.edits import MISSING, Location, Step, apply_edits

__all__ = [
    "ANY_INDEX",
    "ANY_KEY",
    "DEEP",
    "MISSING",
    "Location",
    "Path",
    "Step",
    "parse_path",
    "render",
    "render_key",
]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$@-]+")


ANY_KEY: Final = "\x00*"  # a segment matching any object key (never a real key once parsed)
ANY_INDEX: Final = "\x00[*]"  # a segment matching any array index
DEEP: Final = "\x00.."  # a segment matching zero or more steps


def render_key(key: str) -> str:
    if _PLAIN_KEY.fullmatch(key):
        return f".{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"['{escaped}']"


def render(location: Location) -> str:
    """The collapsed path of a concrete location: `("a", 3, "b")` -> `$.a[*].b`."""
    return "$" + "".join("[*]" if isinstance(step, int) else render_key(step) for step in location)


def _parse_steps(text: str) -> tuple[str, ...]:
    """Parse the part after `$` into segments; raise ValueError saying where the syntax breaks."""
    segments: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("..", i):
            segments.append(DEEP)
            i += 2
            if i < len(text) and text[i] == "[":
                continue
        elif text[i] == ".":
            i += 1
        elif text[i] != "[":
            raise ValueError(f"expected '.' or '[' at offset {i + 1}, got {text[i]!r}")
        if i >= len(text):
            raise ValueError("path ends with a dot")
        segment, i = _parse_segment(text, i)
        segments.append(segment)
    return tuple(segments)


def _parse_segment(text: str, i: int) -> tuple[str, int]:
    if text.startswith("[*]", i):
        return ANY_INDEX, i + 3
    if text.startswith("['", i):
        return _parse_quoted(text, i + 2)
    if text[i] == "[":
        inner = text[i + 1 : text.find("]", i)] if "]" in text[i:] else text[i + 1 :]
        if inner.lstrip("-").isdigit():
            raise ValueError(f"array indices are collapsed: write [*] instead of [{inner}]")
        raise ValueError(f"expected [*] or ['key'] at offset {i + 1}, got {text[i : i + 12]!r}")
    if text[i] == "*":
        return ANY_KEY, i + 1
    match = _PLAIN_KEY.match(text, i)
    if not match:
        raise ValueError(
            f"expected a key name at offset {i + 1}, got {text[i]!r} (quote odd keys: ['a key'])"
        )
    return match.group(), match.end()


def _parse_quoted(text: str, i: int) -> tuple[str, int]:
    chars: list[str] = []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
        elif char == "'":
            if not text.startswith("]", i + 1):
                raise ValueError(f"expected ']' after the quoted key at offset {i + 2}")
            return "".join(chars), i + 2
        else:
            chars.append(char)
            i += 1
    raise ValueError("unterminated quoted key")


class _Matcher:
    """A tiny NFA over path segments; states are positions in the segment tuple."""

    def __init__(self, segments: tuple[str, ...]) -> None:
        self.segments = segments
        self.final = len(segments)
        self.start = self._close(frozenset({0}))
        self._memo: dict[tuple[frozenset[int], Step], frozenset[int]] = {}
        self._wanted: dict[frozenset[int], frozenset[str] | None] = {}
        self._finals: dict[frozenset[int], tuple[frozenset[str], bool]] = {}

    def _close(self, states: frozenset[int]) -> frozenset[int]:
        """Add the position after each DEEP, since DEEP also matches zero steps."""
        closed = set(states)
        for state in states:
            while state < self.final and self.segments[state] == DEEP:
                state += 1
                closed.add(state)
        return frozenset(closed)

    def advance(self, states: frozenset[int], step: Step) -> frozenset[int]:
        key = (states, -1 if isinstance(step, int) else step)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._advance(states, step)
        return found

    def _advance(self, states: frozenset[int], step: Step) -> frozenset[int]:
        nxt: set[int] = set()
        for state in states:
            if state >= self.final:
                continue
            segment = self.segments[state]
            if segment == DEEP:
                nxt.add(state)
            elif isinstance(step, int):
                if segment == ANY_INDEX:
                    nxt.add(state + 1)
            elif segment in (ANY_KEY, step):
                nxt.add(state + 1)
        return self._close(frozenset(nxt))

    def final_keys(self, states: frozenset[int]) -> tuple[frozenset[str], bool]:
        """The keys whose step completes a match from these states, and whether any key does."""
        found = self._finals.get(states)
        if found is None:
            last = {self.segments[s] for s in states if s == self.final - 1}
            found = self._finals[states] = (frozenset(last - {ANY_KEY, ANY_INDEX, DEEP}), ANY_KEY in last)
        return found

    def wanted_keys(self, states: frozenset[int]) -> frozenset[str] | None:
        """The only object keys worth visiting from these states, or None when any key may match."""
        if states in self._wanted:
            return self._wanted[states]
        found = self._wanted[states] = self._wanted_keys(states)
        return found

    def _wanted_keys(self, states: frozenset[int]) -> frozenset[str] | None:
        keys: set[str] = set()
        for state in states:
            if state >= self.final:
                continue
            segment = self.segments[state]
            if segment in (DEEP, ANY_KEY):
                return None
            if segment != ANY_INDEX:
                keys.add(segment)
        return frozenset(keys)


# One position of the parallel walk: (legacy value, candidate value, NFA states, step, parent node).
# A plain tuple: the walk visits every node of both documents for `..` paths, so it must be cheap.
_Node = tuple[Any, Any, frozenset[int], Any, Any]


def _location(node: _Node) -> Location:
    steps: list[Step] = []
    current: Any = node
    while current is not None and current[4] is not None:
        steps.append(current[3])
        current = current[4]
    return tuple(reversed(steps))


PairEdit = Callable[[str, Any, Any], tuple[Any, Any]]


@dataclass(frozen=True)
class Path:
    """A compiled path. `kind` is "json", "status", "body" or "header"; `name` holds the header name."""

    text: str
    kind: str
    segments: tuple[str, ...] = ()
    name: str = ""

    @property
    def is_json(self) -> bool:
        return self.kind == "json"

    def matches(self, concrete: str) -> bool:
        """Whether a concrete collapsed path (as found in a Difference) is covered by this path."""
        if not self.is_json:
            return concrete.lower() == self.text.lower() if self.kind == "header" else concrete == self.text
        if not concrete.startswith("$"):
            return False
        try:
            steps = _parse_steps(concrete[1:])
        except ValueError:
            return False
        matcher = self._matcher()
        states = matcher.start
        for segment in steps:
            step: Step = 0 if segment == ANY_INDEX else segment
            states = matcher.advance(states, step)
            if not states:
                return False
        return matcher.final in states

    def find(self, document: Any) -> list[tuple[str, Any]]:
        """Every (collapsed path, value) this path selects in one document."""
        return [(render(_location(node)), node[0]) for node in self._walk(document, MISSING)]

    def locate(self, document: Any) -> list[tuple[Location, Any]]:
        """Every (concrete location, value) this path selects in one document, in document order."""
        return [(_location(node), node[0]) for node in self._walk(document, MISSING)]

    def edit_pair(self, legacy: Any, candidate: Any, edit: PairEdit) -> tuple[Any, Any, int]:
        """Apply `edit(path, legacy_value, candidate_value)` at every location either side has.

        Values absent on one side are MISSING; returning MISSING deletes. Returns both new documents
        (inputs untouched, untouched subtrees shared) and how many locations matched.
        """
        legacy_edits: list[tuple[Location, Any]] = []
        candidate_edits: list[tuple[Location, Any]] = []
        count = 0
        walk = self._walk(legacy, candidate)
        node = next(walk, None)
        while node is not None:
            count += 1
            location = _location(node)
            new_legacy, new_candidate = edit(render(location), node[0], node[1])
            if new_legacy is not node[0]:
                legacy_edits.append((location, new_legacy))
            if new_candidate is not node[1]:
                candidate_edits.append((location, new_candidate))
            unchanged = new_legacy is node[0] and new_candidate is node[1]
            node = _send(walk, unchanged)  # `$..x` may match again below an x left as it was
        return apply_edits(legacy, legacy_edits), apply_edits(candidate, candidate_edits), count

    def edit(self, document: Any, edit: Callable[[str, Any], Any]) -> tuple[Any, int]:
        """Single-document form of `edit_pair`."""
        new, _, count = self.edit_pair(document, MISSING, lambda p, value, _: (edit(p, value), MISSING))
        return new, count

    def _matcher(self) -> _Matcher:
        """The compiled NFA, cached on the Path (not a field: neither compared nor pickled), memo bounded."""
        matcher: _Matcher | None = self.__dict__.get("_compiled")
        if matcher is None or len(matcher._memo) > _MEMO_LIMIT:
            matcher = _Matcher(self.segments)
            self.__dict__["_compiled"] = matcher
        return matcher

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_compiled"}

    def _walk(self, legacy: Any, candidate: Any) -> Generator[_Node, bool | None, None]:
        """Depth-first over both documents in parallel, yielding matched nodes.

        Below a match it goes on only when sent True (the match was left unchanged) and the path can match
        deeper (`..`); plain iteration never descends into a match.
        """
        matcher = self._matcher()
        final = matcher.final
        stack: list[_Node] = [(legacy, candidate, matcher.start, None, None)]
        children: list[_Node] = []
        while stack:
            node = stack.pop()
            states = node[2]
            if final in states:
                descend = yield node
                if not descend or len(states) == 1:
                    continue
            children.clear()
            _children(node, matcher, children)
            stack.extend(reversed(children))


def _send(walk: Generator[_Node, bool | None, None], value: bool) -> _Node | None:
    try:
        return walk.send(value)
    except StopIteration:
        return None


def _children(node: _Node, matcher: _Matcher, out: list[_Node]) -> None:
    """Append the children worth visiting: a match, or a container a match may lie below."""
    left, right, states, _, _ = node
    if type(left) is dict or type(right) is dict:
        lmap = left if type(left) is dict else {}
        rmap = right if type(right) is dict else {}
        wanted = matcher.wanted_keys(states)
        final_keys, any_key_final = matcher.final_keys(states)
        advance = matcher.advance
        keys: Any = sorted(wanted) if wanted is not None else _union_keys(lmap, rmap)
        for key in keys:
            lval, rval = lmap.get(key, MISSING), rmap.get(key, MISSING)
            if type(lval) in _CONTAINERS or type(rval) in _CONTAINERS:
                after = advance(states, key)
                if after:
                    out.append((lval, rval, after, key, node))
            elif (any_key_final or key in final_keys) and (lval is not MISSING or rval is not MISSING):
                out.append((lval, rval, advance(states, key), key, node))  # a scalar can only be a match
    if type(left) is list or type(right) is list:
        llist = left if type(left) is list else []
        rlist = right if type(right) is list else []
        after = matcher.advance(states, 0)
        if not after:
            return
        is_final = matcher.final in after
        for index in range(max(len(llist), len(rlist))):
            lval = llist[index] if index < len(llist) else MISSING
            rval = rlist[index] if index < len(rlist) else MISSING
            if is_final or type(lval) in _CONTAINERS or type(rval) in _CONTAINERS:
                out.append((lval, rval, after, index, node))


_CONTAINERS = (dict, list)
_MEMO_LIMIT = 4096  # `..` paths meet every key of every document; do not let the memo grow without end


def _union_keys(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    return list(left) + [key for key in right if key not in left]


def parse_path(text: str) -> Path:
    """Compile one path; raise ValueError with a message fit for a config error."""
    stripped = text.strip()
    if stripped in ("status", "body"):
        return Path(stripped, stripped)
    if stripped.lower().startswith("header:"):
        name = stripped[len("header:") :].strip().lower()
        if not name or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9a-z-]+", name):
            raise ValueError(f"expected header:<name> with a valid header name, got {text!r}")
        return Path(f"header:{name}", "header", name=name)
    if not stripped.startswith("$"):
        raise ValueError(f"a path starts with '$', 'header:', 'status' or 'body', got {text!r}")
    try:
        segments = _parse_steps(stripped[1:])
    except ValueError as exc:
        raise ValueError(f"invalid path {text!r}: {exc}") from None
    if segments and segments[-1] == DEEP:
        raise ValueError(f"invalid path {text!r}: '..' must be followed by a key, * or [*]")
    return Path(stripped, "json", segments)
