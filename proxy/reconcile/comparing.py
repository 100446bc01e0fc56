"""The one bridge to the comparators: a document and a row, shaped alike, compared by the job's pipeline.

No comparison logic lives here. Documents are serialized to canonical JSON (documents.to_json) and handed
to `comparators.compare.compare` as two 200 application/json observations, so the reconcile pipeline is
exactly a route's pipeline: same normalizers, same flat Differences, same "ignored" notes.

Two savings make a large collection affordable, neither of which judges a difference itself:

- the comparators' bytes-equal fast path, field by field: a top-level field whose canonical JSON is the
  same on both sides is equal and left out (the comparators never run rules on identical bodies either);
- memoization: `compare` is pure, and every reconcile rule acts per location, so the outcome for one field
  depends only on that field's two values. Outcomes of small fields (flags, empty strings, dates) are
  kept, keyed by (field, both values' bytes), in a bounded table: a "yes"/true pair seen once is never
  sent through the pipeline again. The HTTP-only rules that look across a whole response (errors,
  status_equivalent, parse_as) are refused in reconcile jobs, which is what makes this sound.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from comparators.compare import compare
from comparators.model import Comparison, Difference, Ignored, Observation, Verdict
from comparators.paths import render
from comparators.spec import CompareSpec
from proxy.reconcile.documents import to_json

CACHE_ENTRIES = 20_000
CACHEABLE_BYTES = 256  # both values' JSON together; larger values are rarely repeated
_HEADERS = (("content-type", "application/json"),)
_ABSENT = b""  # canonical JSON is never empty: stands for (and tests false as) a field one side lacks
_MATCHED = Comparison(Verdict.MATCHED)


def observation(document: Any) -> Observation:
    """A document as the body of a JSON response, which is what the comparators compare."""
    return Observation(status=200, headers=_HEADERS, body=to_json(document))


@dataclass(frozen=True, slots=True)
class FieldOutcome:
    """What the pipeline said about one top-level field of one pair."""

    differences: tuple[Difference, ...] = ()
    ignored: tuple[Ignored, ...] = ()


def _belongs(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _slice(comparison: Comparison, name: str) -> FieldOutcome:
    prefix = render((name,))
    return FieldOutcome(
        tuple(d for d in comparison.differences if _belongs(d.path, prefix)),
        tuple(i for i in comparison.ignored if _belongs(i.path, prefix)),
    )


class DocumentComparer:
    """Compares pairs under one job's spec, remembering the outcome of small fields (see the module doc)."""

    def __init__(self, spec: CompareSpec, entries: int = CACHE_ENTRIES) -> None:
        self.spec = spec
        self.entries = entries
        self.memo: dict[tuple[str, bytes, bytes], FieldOutcome] = {}
        self.pipeline_calls = 0

    def compare(self, source: Mapping[str, Any], target: Mapping[str, Any]) -> Comparison:
        """Source document against target row, both already in the document's shape."""
        if to_json(source) == to_json(target):  # one C call per side settles most equal pairs
            return _MATCHED
        outcomes: list[FieldOutcome] = []
        pending: list[tuple[str, bytes, bytes]] = []
        left: dict[str, Any] = {}
        right: dict[str, Any] = {}
        for name, left_json, right_json in _differing(source, target):
            known = self.memo.get((name, left_json, right_json))
            if known is not None:
                outcomes.append(known)
                continue
            pending.append((name, left_json, right_json))
            if left_json:
                left[name] = source[name]
            if right_json:
                right[name] = target[name]
        if pending:
            outcomes.extend(self._run(pending, left, right))
        differences = tuple(sorted((d for o in outcomes for d in o.differences), key=lambda d: d.key()))
        ignored = tuple(i for o in outcomes for i in o.ignored)
        if not differences:
            return Comparison(Verdict.MATCHED, ignored=ignored) if ignored else _MATCHED
        return Comparison(Verdict.DIVERGED, differences, ignored)

    def _run(
        self, pending: list[tuple[str, bytes, bytes]], left: dict[str, Any], right: dict[str, Any]
    ) -> Iterator[FieldOutcome]:
        self.pipeline_calls += 1
        comparison = compare(self.spec, observation(left), observation(right))
        for key in pending:
            outcome = _slice(comparison, key[0])
            if len(key[1]) + len(key[2]) <= CACHEABLE_BYTES:
                self._remember(key, outcome)
            yield outcome

    def _remember(self, key: tuple[str, bytes, bytes], outcome: FieldOutcome) -> None:
        if len(self.memo) >= self.entries:
            del self.memo[next(iter(self.memo))]  # oldest first: bounded memory, flat in the collection size
        # orjson's small outputs keep a 4 KiB buffer each: keep compact copies, not the originals.
        name, left, right = key
        self.memo[(name, bytes(memoryview(left)), bytes(memoryview(right)))] = outcome


def _differing(source: Mapping[str, Any], target: Mapping[str, Any]) -> Iterator[tuple[str, bytes, bytes]]:
    """Each top-level field whose canonical JSON differs, with both sides' bytes (empty when absent)."""
    for name, value in source.items():
        if name not in target:
            yield name, to_json(value), _ABSENT
        elif value is not target[name]:
            left, right = to_json(value), to_json(target[name])
            if left != right:
                yield name, left, right
    for name, value in target.items():
        if name not in source:
            yield name, _ABSENT, to_json(value)


def compare_documents(spec: CompareSpec, source: Mapping[str, Any], target: Mapping[str, Any]) -> Comparison:
    """One pair, without memory (the engine keeps a DocumentComparer per job)."""
    return DocumentComparer(spec).compare(source, target)
