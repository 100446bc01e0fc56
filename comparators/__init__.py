"""Pure normalization and diffing of two HTTP observations: no I/O, no clock, no globals."""

from comparators.compare import compare
from comparators.model import (
    Comparison,
    Difference,
    DiffKind,
    Ignored,
    Observation,
    TransportError,
    Verdict,
)
from comparators.paths import Path, parse_path
from comparators.spec import CompareSpec

__all__ = [
    "CompareSpec",
    "Comparison",
    "DiffKind",
    "Difference",
    "Ignored",
    "Observation",
    "Path",
    "TransportError",
    "Verdict",
    "compare",
    "parse_path",
]
