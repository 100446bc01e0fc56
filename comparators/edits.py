"""Copy-on-write edits of parsed JSON documents, and the MISSING marker for a value one side lacks."""

from __future__ import annotations

from typing import Any, Final


class _Missing:
    """The value of a path that is absent on one side; falsy and unique."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

Step = str | int  # a concrete step: an object key or a real array index
Location = tuple[Step, ...]


def apply_edits(document: Any, edits: list[tuple[Location, Any]]) -> Any:
    """Copy-on-write: set or delete (MISSING) each location, copying each touched container once."""
    if not edits:
        return document
    root: list[Any] = [document]
    copies: set[int] = set()
    deletions: list[tuple[Location, Any]] = []
    for location, value in edits:
        if not location:
            root[0] = value
            continue
        parent = _copied_parent(root, location, copies)
        if parent is None:
            continue
        if value is MISSING:
            deletions.append((location, parent))
        elif isinstance(parent, list):
            parent[location[-1]] = value  # type: ignore[index]
        else:
            parent[location[-1]] = value
    # Delete list items from the highest index down, so earlier deletions do not shift later ones.
    for location, parent in sorted(deletions, key=lambda d: _sort_key(d[0]), reverse=True):
        step = location[-1]
        if _has(parent, step):
            del parent[step]
    return root[0]


def _copied_parent(root: list[Any], location: Location, copies: set[int]) -> Any:
    """The (copied) container holding the last step of `location`, or None when the path is absent."""
    holder: Any = root
    step: Step = 0
    last = len(location) - 1
    for position, next_step in enumerate(location):
        node = holder[step]
        if not _can_step(node, next_step):
            return None
        if id(node) not in copies:
            node = node.copy()
            copies.add(id(node))
            holder[step] = node
        if position < last and not _has(node, next_step):
            return None
        holder, step = node, next_step
    if isinstance(holder, list) and step == len(holder):
        holder.append(MISSING)  # an index only the other side has: extend, then overwrite
    return holder


def _can_step(node: Any, step: Step) -> bool:
    """Whether `step` can be set in `node` (a list may grow by one, for an index only the other side has)."""
    if isinstance(node, dict):
        return isinstance(step, str)
    return isinstance(node, list) and isinstance(step, int) and step <= len(node)


def _has(container: Any, step: Step) -> bool:
    if isinstance(container, dict):
        return step in container
    return isinstance(step, int) and step < len(container)


def _sort_key(location: Location) -> tuple[tuple[int, Any], ...]:
    return tuple((1, step) if isinstance(step, int) else (0, step) for step in location)
