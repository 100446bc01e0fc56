"""Pure normalization and diffing of two HTTP observations: no I/O, no clock, no globals."""

from comparators.model import (
    Comparison,
    Difference,
    DiffKind,
    Observation,
    TransportError,
    Verdict,
)

__all__ = [
    "Comparison",
    "DiffKind",
    "Difference",
    "Observation",
    "TransportError",
    "Verdict",
]
