"""What a reconciliation found: frozen per-job results, the run's report, and the hook to store them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from comparators.model import Difference, DiffKind

EXIT_EQUAL, EXIT_DIFFERENT, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class Status(enum.StrEnum):
    """How one job ended; the run's exit code is the worst of its jobs'."""

    EQUAL = "equal"  # every key on both sides, every pair equal under the job's rules
    DIFFERENT = "different"
    INTERRUPTED = "interrupted"  # Ctrl-C: the counts cover the keys checked so far
    FAILED = "failed"  # could not run or finish (unreachable, bad query, out-of-order keys)

    @property
    def exit_code(self) -> int:
        return {
            Status.EQUAL: EXIT_EQUAL,
            Status.DIFFERENT: EXIT_DIFFERENT,
            Status.INTERRUPTED: EXIT_INTERRUPTED,
            Status.FAILED: EXIT_ERROR,
        }[self]


class Outcome(enum.StrEnum):
    """The classes of records a reconciliation reports, each with its first examples."""

    MISSING = "missing"  # in MongoDB, not in PostgreSQL
    EXTRA = "extra"  # in PostgreSQL, not in MongoDB
    DIFFERENT = "different"
    UNKEYED = "unkeyed"  # a key part absent, null or of another type: cannot be matched
    DUPLICATE = "duplicate"  # two records with the same key on one side


@dataclass(frozen=True, slots=True)
class Example:
    """One reported record: its key, what each side holds (as compared), and the differing paths."""

    outcome: Outcome
    key: str
    source: Any = None
    target: Any = None
    differences: tuple[Difference, ...] = ()
    side: str = ""  # for unkeyed and duplicate records: "source" or "target"


@dataclass(frozen=True, slots=True)
class FieldCount:
    """How many pairs differ at one path in one way, with the first keys that do."""

    path: str
    kind: DiffKind
    count: int
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleCount:
    """How many differences one normalizer hid at one path ("ignored but different")."""

    rule: str
    path: str
    count: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class JobResult:
    """One job's totals, per-field counts and examples; what the reports render and the store keeps."""

    job: str
    status: Status
    source: str = ""  # where each side was read, without credentials
    target: str = ""
    source_read: int = 0
    target_read: int = 0
    matched: int = 0
    counts: dict[Outcome, int] = field(default_factory=dict)
    fields: tuple[FieldCount, ...] = ()
    hidden: tuple[RuleCount, ...] = ()
    examples: tuple[Example, ...] = ()
    since: str = ""
    started_at: str = ""  # ISO-8601 UTC
    elapsed: float = 0.0
    last_key: str = ""  # the highest key checked: where an interrupted run stopped
    error: str = ""

    def count(self, outcome: Outcome) -> int:
        return self.counts.get(outcome, 0)

    def examples_of(self, outcome: Outcome) -> tuple[Example, ...]:
        return tuple(e for e in self.examples if e.outcome is outcome)

    @property
    def rate(self) -> float:
        """Source documents per second."""
        return self.source_read / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """Every job of one run."""

    jobs: tuple[JobResult, ...]

    @property
    def exit_code(self) -> int:
        codes = [job.status.exit_code for job in self.jobs]
        # An error outranks an interruption, which outranks differences: a gate must never pass on either.
        for code in (EXIT_ERROR, EXIT_INTERRUPTED, EXIT_DIFFERENT):
            if code in codes:
                return code
        return EXIT_EQUAL


class ResultSink(Protocol):
    """Where finished job results go besides the printed report.

    The hook for the divergence store: a store implementing `save_reconciliation` lets the cutover report
    show the last reconciliation per job. `run_reconcile(..., sink=...)` calls it once per job.
    """

    async def save_reconciliation(self, result: JobResult) -> None: ...
