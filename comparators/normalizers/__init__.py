"""The normalizer pipeline: small configured callables mapping a (legacy, candidate) Pair to a new Pair."""

from comparators.normalizers.arrays import SortedBy, Unordered
from comparators.normalizers.base import Notes, PathRule, Rule, same
from comparators.normalizers.structure import ErrorsOnly, Ignore, ParseAs, StatusEquivalent
from comparators.normalizers.text import Strings, Urls
from comparators.normalizers.values import (
    EmptyEquivalent,
    Ids,
    Timestamps,
    Tolerance,
    ValueMap,
    ValueRule,
)

__all__ = [
    "EmptyEquivalent",
    "ErrorsOnly",
    "Ids",
    "Ignore",
    "Notes",
    "ParseAs",
    "PathRule",
    "Rule",
    "SortedBy",
    "StatusEquivalent",
    "Strings",
    "Timestamps",
    "Tolerance",
    "Unordered",
    "Urls",
    "ValueMap",
    "ValueRule",
    "same",
]
