"""Id correlation: legacy id -> candidate id pairs learned from mirrored writes, used to compare and to route.

A route with `id_paths` learns, from the two answers to each mirrored write, which candidate id names the
resource legacy created (pairs are kept per `id_kind`, persisted in the store, and shared by replicas).
Comparison specs are bound once per config to a live view of their kind's pairs, so the `ids` normalizer of
every route of that kind compares a legacy id equal to its learned candidate id from the next request on.
With `rewrite_ids`, a known id in the request path is replaced by the other side's id before sending.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import structlog

from comparators.body import BodyKind, read_body
from comparators.model import Observation
from comparators.normalizers import Ids
from comparators.normalizers.values import id_text
from comparators.paths import Path, parse_path
from comparators.spec import CompareSpec
from config.model import RouteRule
from proxy.store.cutover import IdPair

log = structlog.get_logger("proxy.idmap")


class LearnedIds(Mapping[str, str]):
    """A rule's own mapping first, then the pairs learned so far for one kind (a live view, never a copy)."""

    def __init__(self, configured: Mapping[str, str], learned: dict[str, str]) -> None:
        self._configured = configured
        self._learned = learned

    def __getitem__(self, key: str) -> str:
        found = self._configured.get(key)
        return found if found is not None else self._learned[key]

    def get(self, key: str, default: Any = None) -> Any:
        found = self._configured.get(key)
        return found if found is not None else self._learned.get(key, default)

    def __iter__(self) -> Iterator[str]:
        yield from self._configured
        yield from (key for key in self._learned if key not in self._configured)

    def __len__(self) -> int:
        return len(self._configured) + sum(1 for key in self._learned if key not in self._configured)

    def __reduce__(self) -> tuple[Any, ...]:
        # A comparison sent to a worker process takes a snapshot; the live view stays here.
        return (dict, (dict(self.items()),))


class IdMap:
    """Learned pairs per kind in both directions, and the pairs not yet written to the store."""

    def __init__(self) -> None:
        self._to_candidate: dict[str, dict[str, str]] = {}
        self._to_legacy: dict[str, dict[str, str]] = {}
        self._pending: list[IdPair] = []
        self._paths: dict[str, Path] = {}

    def bind(self, spec: CompareSpec, kind: str) -> CompareSpec:
        """`spec` with each `ids` rule's mapping extended by the pairs learned for `kind`."""
        if not any(isinstance(step, Ids) for step in spec.normalizers):
            return spec
        learned = self._to_candidate.setdefault(kind, {})
        steps = tuple(
            dataclasses.replace(step, mapping=LearnedIds(step.mapping, learned))
            if isinstance(step, Ids)
            else step
            for step in spec.normalizers
        )
        return dataclasses.replace(spec, normalizers=steps)

    def learn(self, rule: RouteRule, legacy: Observation, candidate: Observation, at: float) -> list[IdPair]:
        """Pairs found at the rule's `id_paths` in two successful write answers (zipped in document order)."""
        if rule.id_paths is None or not (_succeeded(legacy) and _succeeded(candidate)):
            return []
        legacy_ids = self._ids_at(rule.id_paths.legacy, legacy)
        candidate_ids = self._ids_at(rule.id_paths.candidate, candidate)
        if len(legacy_ids) != len(candidate_ids):
            log.warning(
                "id_pairs_unmatched", route=rule.name, legacy=len(legacy_ids), candidate=len(candidate_ids)
            )
            return []
        found = zip(legacy_ids, candidate_ids, strict=True)
        pairs = [IdPair(rule.id_kind, old, new, at, rule.name) for old, new in found]
        self.add(pairs)
        self._pending.extend(pairs)
        return pairs

    def add(self, pairs: Iterable[IdPair]) -> None:
        """Know these pairs from now on (learned here, or read from the store)."""
        for pair in pairs:
            forward = self._to_candidate.setdefault(pair.kind, {})
            stale = forward.get(pair.legacy_id)
            if stale is not None and stale != pair.candidate_id:
                self._to_legacy.get(pair.kind, {}).pop(stale, None)
            forward[pair.legacy_id] = pair.candidate_id
            self._to_legacy.setdefault(pair.kind, {})[pair.candidate_id] = pair.legacy_id

    def candidate_id(self, kind: str, legacy_id: str) -> str | None:
        return self._to_candidate.get(kind, {}).get(legacy_id)

    def to_candidate(self, kind: str, target: str) -> str:
        """The request target with each path segment that is a known legacy id replaced by its candidate's."""
        return _rewrite(target, self._to_candidate.get(kind))

    def to_legacy(self, kind: str, target: str) -> str:
        """The reverse: candidate ids in the path (a client served by the candidate) back to legacy ids."""
        return _rewrite(target, self._to_legacy.get(kind))

    def take_pending(self) -> list[IdPair]:
        pending, self._pending = self._pending, []
        return pending

    def give_back(self, pairs: list[IdPair]) -> None:
        self._pending[:0] = pairs

    def counts(self) -> dict[str, int]:
        return {kind: len(pairs) for kind, pairs in sorted(self._to_candidate.items())}

    def _ids_at(self, text: str, observation: Observation) -> list[str]:
        body = read_body(
            observation.body, observation.header("content-type"), observation.header("content-encoding")
        )
        if body.kind is not BodyKind.JSON:
            return []
        path = self._paths.get(text)
        if path is None:
            path = self._paths[text] = parse_path(text)
        found = (id_text(value) for _, value in path.find(body.content))
        return [value for value in found if value]


def _succeeded(observation: Observation) -> bool:
    return observation.status is not None and 200 <= observation.status < 300


def _rewrite(target: str, mapping: Mapping[str, str] | None) -> str:
    if not mapping:
        return target
    path, mark, query = target.partition("?")
    segments = path.split("/")
    replaced = [mapping.get(segment, segment) for segment in segments]
    if replaced == segments:
        return target
    return "/".join(replaced) + mark + query
