"""Value rules: numeric tolerance, timestamps, strings, URLs, value maps, empty equivalence and ids."""

from __future__ import annotations

import email.utils
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from comparators.normalizers.base import Notes, PathRule
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
        if isinstance(value, tuple):  # a header's values
            converted = tuple(self.convert(v) for v in value)
            return value if all(a is b for a, b in zip(converted, value, strict=True)) else converted
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
    """Parse timestamps on both sides and compare them in UTC at a declared precision."""

    op: ClassVar[str] = "timestamps"
    precision: str = "ms"
    epoch: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.epoch not in EPOCH_UNITS:
            raise ValueError(f"epoch must be one of {', '.join(EPOCH_UNITS)}, got {self.epoch!r}")

    def convert(self, value: Any) -> Any:
        instant = parse_instant(value, self.epoch)
        if instant is None:
            return value
        rendered = render_instant(instant, self.precision)
        return value if rendered == value else rendered


@dataclass(frozen=True, kw_only=True)
class Strings(ValueRule):
    """Trim, collapse spaces, case-fold, NFC-normalize and regex-replace strings, in that order."""

    op: ClassVar[str] = "strings"
    trim: bool = False
    collapse_spaces: bool = False
    casefold: bool = False
    nfc: bool = False
    pattern: re.Pattern[str] | None = None
    replacement: str = ""

    def convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip() if self.trim else value
        if self.collapse_spaces:
            text = " ".join(text.split())
        if self.casefold:
            text = text.casefold()
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        if self.pattern is not None:
            text = self.pattern.sub(self.replacement, text)
        return value if text == value else text


URL_PARTS = ("scheme", "host", "path", "query", "fragment")


@dataclass(frozen=True, kw_only=True)
class Urls(ValueRule):
    """Compare URLs by selected parts only (default: the path), e.g. to forget a deployment's host."""

    op: ClassVar[str] = "urls"
    parts: frozenset[str] = frozenset({"path"})
    query_keys: tuple[str, ...] = ()  # when set, only these query keys are compared (sorted)

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(self.parts - set(URL_PARTS))
        if unknown:
            raise ValueError(f"unknown URL part(s) {', '.join(unknown)}; known: {', '.join(URL_PARTS)}")

    def convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            url = urlsplit(value)
        except ValueError:
            return value
        query = ""
        if "query" in self.parts or self.query_keys:
            pairs = parse_qsl(url.query, keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if not self.query_keys or k in self.query_keys]
            query = urlencode(sorted(kept))
        rebuilt = urlunsplit(
            (
                url.scheme if "scheme" in self.parts else "",
                url.netloc if "host" in self.parts else "",
                url.path if "path" in self.parts else "",
                query,
                url.fragment if "fragment" in self.parts else "",
            )
        )
        return value if rebuilt == value else rebuilt


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
