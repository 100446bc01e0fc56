"""Domain values shared by the whole product: observations, differences and comparison results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class TransportError(enum.StrEnum):
    """Why an upstream gave no complete response; a failed exchange is data, not an exception."""

    CONNECT = "connect"  # refused, unreachable, DNS failure, TLS handshake failure
    TIMEOUT = "timeout"  # no complete answer within the deadline
    RESET = "reset"  # connection closed or reset mid-response
    INVALID = "invalid"  # the upstream answered something that is not valid HTTP
    TOO_LARGE = "too_large"  # body exceeded the comparison limit; the response exists but is not compared


@dataclass(frozen=True, slots=True)
class Observation:
    """What one upstream answered to one request: a response, or the transport error that replaced it."""

    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    error: TransportError | None = None
    error_detail: str = ""
    elapsed_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None

    def header_values(self, name: str) -> tuple[str, ...]:
        """All values of one header, in order, matched case-insensitively."""
        lowered = name.lower()
        return tuple(v for k, v in self.headers if k.lower() == lowered)

    def header(self, name: str, default: str = "") -> str:
        values = self.header_values(name)
        return values[0] if values else default

    @classmethod
    def transport_error(cls, error: TransportError, detail: str = "", elapsed_ms: float = 0.0) -> Observation:
        return cls(error=error, error_detail=detail, elapsed_ms=elapsed_ms)


class DiffKind(enum.StrEnum):
    """The closed set of difference kinds; every Difference carries exactly one."""

    VALUE = "value"
    TYPE = "type"
    MISSING = "missing"  # present in legacy, absent in candidate
    EXTRA = "extra"  # absent in legacy, present in candidate
    ORDER = "order"
    STATUS = "status"
    HEADER = "header"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Difference:
    """One flat difference: a path in the project's path syntax, a kind, and both sides' values."""

    path: str
    kind: DiffKind
    legacy: Any = None
    candidate: Any = None

    def key(self) -> tuple[str, str]:
        return (self.path, self.kind.value)


class Verdict(enum.StrEnum):
    """The outcome of one comparison."""

    MATCHED = "matched"
    DIVERGED = "diverged"
    CANDIDATE_ERROR = "candidate_error"  # the candidate gave no response to compare
    LEGACY_ERROR = "legacy_error"  # legacy gave no response; nothing meaningful to compare


@dataclass(frozen=True, slots=True)
class Ignored:
    """A difference that a rule hid: counted per rule so over-broad rules show up."""

    rule: str
    path: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Comparison:
    """The result of comparing a legacy and a candidate observation under one route's rules."""

    verdict: Verdict
    differences: tuple[Difference, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    rules_hit: frozenset[str] = field(default_factory=frozenset)
    # The rules that ran on parsed sides; a rule evaluated often but never hit is a dead rule.
    # Empty on the bytes-identical fast path, where no rule runs.
    rules_evaluated: frozenset[str] = field(default_factory=frozenset)

    @property
    def matched(self) -> bool:
        return self.verdict is Verdict.MATCHED

    def signature(self) -> tuple[tuple[str, str], ...]:
        """The sorted set of (path, kind): identical divergences share a signature."""
        return tuple(sorted({d.key() for d in self.differences}))
