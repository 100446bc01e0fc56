"""A typed reader over raw TOML tables that collects every error with its key path instead of stopping."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from config.model import HostPort

T = TypeVar("T")

_MISSING = object()


def type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


def parse_hostport(text: str) -> HostPort:
    """Parse HOST:PORT (IPv6 in brackets); raise ValueError naming what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} is out of range 0..65535")
    return HostPort(host.strip("[]") or "0.0.0.0", number)


def parse_upstream_url(text: str) -> str:
    """Validate an upstream base URL (http or https, a host, no query); return it without a trailing slash."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"expected an http:// or https:// URL, got {text!r}")
    if not parts.hostname:
        raise ValueError(f"URL {text!r} has no host")
    if parts.query or parts.fragment:
        raise ValueError(f"URL {text!r} must not carry a query or fragment")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"URL {text!r}: {exc}") from None
    return text.rstrip("/")


class Section:
    """One table of the config file, read field by field; wrong fields become errors, not exceptions."""

    def __init__(self, data: Any, key: str, errors: list[str]) -> None:
        self.key = key
        self.errors = errors
        self.seen: set[str] = set()
        if isinstance(data, Mapping):
            self.data: Mapping[str, Any] = data
        else:
            self.data = {}
            self.error(None, f"expected a table, got {type_name(data)}")

    def path(self, name: str | None) -> str:
        if name is None:
            return self.key or "<root>"
        return f"{self.key}.{name}" if self.key else name

    def error(self, name: str | None, message: str) -> None:
        self.errors.append(f"{self.path(name)}: {message}")

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        self.seen.add(name)
        return self.data.get(name, default)

    def _typed(self, name: str, default: T, kinds: tuple[type, ...], label: str) -> T:
        value = self.raw(name, _MISSING)
        if value is _MISSING:
            return default
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.error(name, f"expected {label}, got {type_name(value)} {value!r}")
            return default
        return cast(T, value)

    def string(self, name: str, default: str = "") -> str:
        return self._typed(name, default, (str,), "a string")

    def optional_string(self, name: str) -> str | None:
        value = self._typed(name, None, (str,), "a string")
        return value or None

    def boolean(self, name: str, default: bool) -> bool:
        return self._typed(name, default, (bool,), "a boolean")

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        value = self._typed(name, default, (int,), "an integer")
        if minimum is not None and value < minimum:
            self.error(name, f"must be >= {minimum}, got {value}")
            return default
        return value

    def number(self, name: str, default: float, minimum: float = 0.0, maximum: float | None = None) -> float:
        value = float(self._typed(name, default, (int, float), "a number"))
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.error(name, f"must be {bounds}, got {value}")
            return default
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw(name, _MISSING)
        if value is _MISSING:
            return default
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            self.error(name, f"expected an array of strings, got {type_name(value)}")
            return default
        good: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, str):
                good.append(item)
            else:
                self.error(f"{name}[{index}]", f"expected a string, got {type_name(item)} {item!r}")
        return tuple(good)

    def parsed(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        """A string field turned into a value by `parse`, whose ValueError becomes this key's error."""
        if not self.has(name):
            self.seen.add(name)
            return default
        text = self.string(name, "")
        if not isinstance(self.data.get(name), str):
            return default
        try:
            return parse(text)
        except ValueError as exc:
            self.error(name, str(exc))
            return default

    def section(self, name: str) -> Section:
        return Section(self.raw(name, {}), self.path(name), self.errors)

    def tables(self, name: str) -> Iterator[Section]:
        """Each table of an array of tables, keyed `name[i]`."""
        value = self.raw(name, [])
        if not isinstance(value, list):
            self.error(name, f"expected an array of tables, got {type_name(value)}")
            return
        for index, item in enumerate(value):
            yield Section(item, f"{self.path(name)}[{index}]", self.errors)

    def finish(self) -> None:
        """Report every key nobody asked for, with a suggestion when one is close."""
        known = sorted(self.seen)
        for name in self.data:
            if name not in self.seen:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
                self.error(name, f"unknown key{hint}")
