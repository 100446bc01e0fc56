"""A route's comparison rules: which headers to skip and the ordered normalizer pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

DEFAULT_IGNORED_HEADERS: frozenset[str] = frozenset(
    {
        "date",
        "server",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "age",
        "via",
        "x-request-id",
    }
)


@runtime_checkable
class Normalizer(Protocol):
    """One configured step of a route's pipeline (built like a structlog processor).

    `name` identifies the rule in reports (e.g. ``compare[2]:unordered``); `reason` says why it exists.
    """

    # Read-only properties so frozen dataclasses satisfy the protocol.
    @property
    def name(self) -> str: ...

    @property
    def reason(self) -> str: ...

    def __call__(self, pair: Any) -> Any: ...


@dataclass(frozen=True)
class CompareSpec:
    """Everything the pure comparator needs to know about one route."""

    ignore_headers: frozenset[str] = DEFAULT_IGNORED_HEADERS
    normalizers: tuple[Normalizer, ...] = field(default=())
