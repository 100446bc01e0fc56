"""What the shadow path hands to the recorder: one exchange (request, observations, comparison) or a count."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from comparators.model import Comparison, Observation, Verdict


class Counter(enum.StrEnum):
    """Per-route, per-minute counters; every shadow outcome lands in exactly one of the first group."""

    COMPARED = "compared"  # a comparison ran (matched + diverged + candidate_errors)
    MATCHED = "matched"
    DIVERGED = "diverged"
    CANDIDATE_ERRORS = "candidate_errors"
    LEGACY_ERRORS = "legacy_errors"
    DROPPED = "dropped"  # not mirrored: max_in_flight reached or the recorder buffer was full
    TOO_LARGE = "too_large"  # a body exceeded max_compare_bytes: not compared
    SHADOW_FAILURES = "shadow_failures"  # a bug or unexpected exception inside shadow work
    NOT_MIRRORED = "not_mirrored"  # writes on routes that did not opt in, and sampled-out requests


# Recording an exchange is counting it: these counters follow from its verdict, and callers never count them.
VERDICT_COUNTERS: dict[Verdict, tuple[Counter, ...]] = {
    Verdict.MATCHED: (Counter.COMPARED, Counter.MATCHED),
    Verdict.DIVERGED: (Counter.COMPARED, Counter.DIVERGED),
    Verdict.CANDIDATE_ERROR: (Counter.COMPARED, Counter.CANDIDATE_ERRORS),
    Verdict.LEGACY_ERROR: (Counter.LEGACY_ERRORS,),
}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The client's request as received (headers unredacted here: redaction happens before storage)."""

    method: str
    target: str  # raw path and query exactly as received
    headers: tuple[tuple[str, str], ...]
    body: bytes
    request_id: str
    received_at: float  # unix seconds


@dataclass(frozen=True, slots=True)
class Exchange:
    """One mirrored request with what each side answered and how they compared."""

    route: str
    request: RequestInfo
    legacy: Observation
    candidate: Observation
    comparison: Comparison
    secondary: Observation | None = None
    noise: Comparison | None = None  # legacy vs secondary under the same rules, when a secondary exists
    trace_id: str = ""


class Recorder(Protocol):
    """Where shadow outcomes go; both calls return at once and never raise into the caller."""

    def record(self, exchange: Exchange) -> None: ...

    def count(self, route: str, counter: Counter, n: int = 1) -> None: ...
