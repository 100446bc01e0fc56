"""Value rules: numeric tolerance, timestamps, value maps, empty equivalence and ids (text rules: text.py)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from comparators.normalizers.base import Notes, PathRule, same
from comparators.paths import MISSING


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class ValueRule(PathRule):
    """A rule that rewrites each side's value on its own; header values are rewritten one by one."""

    kinds: ClassVar[frozenset[str]] = frozenset({"json", "header", "body"})

    def convert(self, value: Any) -> Any:
        """The normalized value, or the very same object when the rule does not apply to it."""
        raise NotImplementedError

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        return self._one(legacy), self._one(candidate)

    def _one(self, value: Any) -> Any:
        if value is MISSING:
            return value
        if isinstance(value, tuple):  # a header's values; a value converted to MISSING is dropped
            converted = tuple(c for c in map(self.convert, value) if c is not MISSING)
            if len(converted) == len(value) and all(a is b for a, b in zip(converted, value, strict=True)):
                return value
            return converted or MISSING
        return self.convert(value)


@dataclass(frozen=True, kw_only=True)
class Tolerance(PathRule):
    """Numbers within `absolute` or within `relative` (fraction of the larger magnitude) count as equal."""

    op: ClassVar[str] = "tolerance"
    absolute: float = 0.0
    relative: float = 0.0

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        if not (is_number(legacy) and is_number(candidate)) or legacy == candidate:
            return legacy, candidate
        gap = abs(legacy - candidate)
        allowed = max(self.absolute, self.relative * max(abs(legacy), abs(candidate)))
        return (legacy, legacy) if gap <= allowed else (legacy, candidate)


PRECISIONS: Mapping[str, timedelta] = {
    "us": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "day": timedelta(days=1),
}
EPOCH_UNITS = ("auto", "s", "ms", "none")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_MS_THRESHOLD = 100_000_000_000  # epoch seconds reach this in year 5138; epoch ms passed it in 1973
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|day)")


def parse_duration(text: str) -> timedelta:
    """A duration written as a number and a unit of PRECISIONS: "1ms", "500us", "2s", "1.5min"."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        units = ", ".join(PRECISIONS)
        raise ValueError(f'expected a duration like "1ms" (a number and one of {units}), got {text!r}')
    return PRECISIONS[match.group(2)] * float(match.group(1))


def parse_instant(value: Any, epoch: str = "auto") -> datetime | None:
    """An aware UTC datetime from ISO-8601, an HTTP date, or epoch seconds/ms; None when it is not one."""
    try:
        if is_number(value):
            if epoch == "none":
                return None
            in_ms = epoch == "ms" or (epoch == "auto" and abs(value) >= _MS_THRESHOLD)
            return _EPOCH + (timedelta(milliseconds=value) if in_ms else timedelta(seconds=value))
        if isinstance(value, str):
            return _parse_text_instant(value.strip())
    except (OverflowError, ValueError):
        return None
    return None


def _parse_text_instant(text: str) -> datetime | None:
    try:
        instant = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
    except ValueError:
        try:
            instant = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)  # a naive timestamp is read as UTC
    return instant.astimezone(UTC)


_TIMESPEC = {"us": "microseconds", "ms": "milliseconds"}


def render_instant(instant: datetime, precision: str) -> str:
    """UTC, truncated to `precision`, ISO-8601 with a Z: `2024-05-01T10:00:00.123Z` at ms."""
    step = PRECISIONS[precision]
    truncated = instant if step == _MICROSECOND else _EPOCH + ((instant - _EPOCH) // step) * step
    text = truncated.replace(tzinfo=None).isoformat(timespec=_TIMESPEC.get(precision, "seconds"))
    return text + "Z"


@dataclass(frozen=True, kw_only=True)
class Timestamps(ValueRule):
    """Parse timestamps on both sides and compare them in UTC at a declared precision, within a tolerance."""

    op: ClassVar[str] = "timestamps"
    precision: str = "ms"
    epoch: str = "auto"
    tolerance: timedelta = timedelta(0)  # instants this close (at the precision) are the same

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.epoch not in EPOCH_UNITS:
            raise ValueError(f"epoch must be one of {', '.join(EPOCH_UNITS)}, got {self.epoch!r}")
        if self.tolerance < timedelta(0):
            raise ValueError(f"tolerance must not be negative, got {self.tolerance}")

    def convert(self, value: Any) -> Any:
        instant = parse_instant(value, self.epoch)
        if instant is None:
            return value
        rendered = render_instant(instant, self.precision)
        return value if rendered == value else rendered

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        left, right = self._one(legacy), self._one(candidate)
        if self.tolerance and not same(left, right) and self._close(left, right):
            return left, left
        return left, right

    def _close(self, left: Any, right: Any) -> bool:
        """Within the tolerance, measured between the rendered instants: normalizing twice changes nothing."""
        if isinstance(left, tuple) and isinstance(right, tuple):  # a header's values, one by one
            return len(left) == len(right) and all(map(self._close, left, right))
        earlier, later = parse_instant(left, self.epoch), parse_instant(right, self.epoch)
        return earlier is not None and later is not None and abs(later - earlier) <= self.tolerance


@dataclass(frozen=True, kw_only=True)
class ValueMap(ValueRule):
    """Map string values to canonical ones on both sides, e.g. "yes" -> true, "no" -> false."""

    op: ClassVar[str] = "value_map"
    kinds: ClassVar[frozenset[str]] = frozenset({"json"})
    mapping: Mapping[str, Any] = field(default_factory=dict)
    case_insensitive: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.case_insensitive:
            object.__setattr__(self, "mapping", {k.casefold(): v for k, v in self.mapping.items()})

    def convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        key = value.casefold() if self.case_insensitive else value
        return self.mapping.get(key, value)


EMPTY_FORMS = ("null", "missing", "empty_string", "empty_array", "empty_object")


def empty_form(value: Any) -> str | None:
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if value == "" and isinstance(value, str):
        return "empty_string"
    if value == [] and isinstance(value, list):
        return "empty_array"
    if value == {} and isinstance(value, dict):
        return "empty_object"
    return None


@dataclass(frozen=True, kw_only=True)
class EmptyEquivalent(PathRule):
    """Treat the declared empty forms (default: null, missing, "") as one value at the selected paths."""

    op: ClassVar[str] = "empty_equivalent"
    forms: frozenset[str] = frozenset({"null", "missing", "empty_string"})

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(self.forms - set(EMPTY_FORMS))
        if unknown:
            raise ValueError(f"unknown empty form(s) {', '.join(unknown)}; known: {', '.join(EMPTY_FORMS)}")

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        if empty_form(legacy) not in self.forms or empty_form(candidate) not in self.forms:
            return legacy, candidate
        canonical = MISSING if "missing" in self.forms else None
        return (legacy if legacy is canonical else canonical), (
            candidate if candidate is canonical else canonical
        )


ID_FORMATS: Mapping[str, re.Pattern[str]] = {
    "objectid": re.compile(r"[0-9a-fA-F]{24}"),
    "uuid": re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"),
    "int": re.compile(r"-?[0-9]+"),
    "any": re.compile(r".+", re.DOTALL),
}


def id_text(value: Any) -> str | None:
    """An id as text: strings as they are, integers in decimal; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


@dataclass(frozen=True, kw_only=True)
class Ids(PathRule):
    """Ids whose format changed: equal through `mapping` when given, else when both have their format."""

    op: ClassVar[str] = "ids"
    legacy_format: str = "any"
    candidate_format: str = "any"
    mapping: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        for label, name in (
            ("legacy_format", self.legacy_format),
            ("candidate_format", self.candidate_format),
        ):
            if name not in ID_FORMATS:
                raise ValueError(f"{label} must be one of {', '.join(ID_FORMATS)}, got {name!r}")

    def settle(self, path: str, legacy: Any, candidate: Any, notes: Notes) -> tuple[Any, Any]:
        left, right = id_text(legacy), id_text(candidate)
        if left is None or right is None:
            return legacy, candidate
        expected = self.mapping.get(left)
        if expected is not None:
            return (legacy, legacy) if right == expected else (legacy, candidate)
        if ID_FORMATS[self.legacy_format].fullmatch(left) and ID_FORMATS[self.candidate_format].fullmatch(
            right
        ):
            return legacy, legacy
        return legacy, candidate
