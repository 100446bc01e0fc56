"""The join's sink: shapes and compares each pair, counts every outcome, keeps the first examples."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from comparators.model import DiffKind
from config.model import ReconcileJob
from proxy.reconcile.comparing import DocumentComparer
from proxy.reconcile.documents import Projection, plain
from proxy.reconcile.keys import Key, render_key
from proxy.reconcile.result import Example, FieldCount, JobResult, Outcome, RuleCount, Status

FIELD_KEYS = 5  # keys listed per differing field
_INDEX = re.compile(r"\[\d+\]")


class Tally:
    """Everything a job has seen so far; `result()` freezes it. Implements merge.JoinSink."""

    def __init__(self, job: ReconcileJob) -> None:
        self.job = job
        self.projection = Projection.build(job.fields, job.key)
        self.comparer = DocumentComparer(job.compare)
        self.counts: Counter[Outcome] = Counter()
        self.matched = 0
        self.fields: dict[tuple[str, DiffKind], list[Any]] = {}  # -> [count, [keys]]
        self.hidden: Counter[tuple[str, str]] = Counter()
        self.reasons: dict[str, str] = {n.name: n.reason for n in job.compare.normalizers}
        self.examples: dict[Outcome, list[Example]] = {outcome: [] for outcome in Outcome}
        self.last_key: Key | None = None
        self.source_read = 0
        self.target_read = 0

    @property
    def checked(self) -> int:
        """Source documents accounted for: matched, different or missing."""
        return self.matched + self.counts[Outcome.DIFFERENT] + self.counts[Outcome.MISSING]

    def _keep(self, outcome: Outcome, make: Any) -> None:
        self.counts[outcome] += 1
        kept = self.examples[outcome]
        if len(kept) < self.job.examples:
            kept.append(make())

    def missing(self, key: Key, document: Any) -> None:
        self.last_key = key
        self.source_read += 1
        self._keep(
            Outcome.MISSING, lambda: self._one_side(Outcome.MISSING, render_key(key), "source", document)
        )

    def extra(self, key: Key, row: Any) -> None:
        self.last_key = key
        self.target_read += 1
        self._keep(Outcome.EXTRA, lambda: self._one_side(Outcome.EXTRA, render_key(key), "target", row))

    def pair(self, key: Key, document: Any, row: Any) -> None:
        self.last_key = key
        self.source_read += 1
        self.target_read += 1
        source, target = self.projection.source(document), self.projection.target(row)
        comparison = self.comparer.compare(source, target)
        for ignored in comparison.ignored:
            self.hidden[(ignored.rule, ignored.path)] += 1
        if comparison.matched:
            self.matched += 1
            return
        shown = render_key(key)
        for difference in comparison.differences:
            entry = self.fields.setdefault((_INDEX.sub("[*]", difference.path), difference.kind), [0, []])
            entry[0] += 1
            if len(entry[1]) < min(FIELD_KEYS, self.job.examples):
                entry[1].append(shown)
        self._keep(
            Outcome.DIFFERENT,
            lambda: Example(
                Outcome.DIFFERENT, shown, plain(source), plain(target), differences=comparison.differences
            ),
        )

    def _read(self, side: str) -> None:
        if side == "source":
            self.source_read += 1
        else:
            self.target_read += 1

    def unkeyed(self, side: str, record: Any) -> None:
        self._read(side)
        self._keep(Outcome.UNKEYED, lambda: self._one_side(Outcome.UNKEYED, "", side, record))

    def duplicate(self, side: str, key: Key, record: Any) -> None:
        self._read(side)
        self._keep(
            Outcome.DUPLICATE, lambda: self._one_side(Outcome.DUPLICATE, render_key(key), side, record)
        )

    def _one_side(self, outcome: Outcome, key: str, side: str, record: Any) -> Example:
        """An example holding one side's record; `side` is named only where it is not implied."""
        named = "" if outcome in (Outcome.MISSING, Outcome.EXTRA) else side
        if side == "source":
            return Example(outcome, key, source=plain(self.projection.source(record)), side=named)
        return Example(outcome, key, target=plain(self.projection.target(record)), side=named)

    def add_unkeyed(self, count: int) -> None:
        """Documents the source queries could not read in key order (counted apart by the source)."""
        self.counts[Outcome.UNKEYED] += count

    def result(self, status: Status | None = None, **details: Any) -> JobResult:
        """Freeze what was seen; the status follows from the counts unless given (interrupted, failed)."""
        if status is None:
            status = Status.DIFFERENT if any(self.counts.values()) else Status.EQUAL
        fields = sorted(
            (
                FieldCount(path, kind, count, tuple(keys))
                for (path, kind), (count, keys) in self.fields.items()
            ),
            key=lambda f: (-f.count, f.path, f.kind.value),
        )
        hidden = sorted(
            (RuleCount(rule, path, n, self.reasons.get(rule, "")) for (rule, path), n in self.hidden.items()),
            key=lambda r: (-r.count, r.rule, r.path),
        )
        return JobResult(
            job=self.job.name,
            status=status,
            matched=self.matched,
            counts={outcome: n for outcome, n in self.counts.items() if n},
            fields=tuple(fields),
            hidden=tuple(hidden),
            examples=tuple(e for outcome in Outcome for e in self.examples[outcome]),
            last_key=render_key(self.last_key) if self.last_key else "",
            **details,
        )
