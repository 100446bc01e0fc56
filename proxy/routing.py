"""Attribute each request to a route: the first configured rule that matches, else an automatic template."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from comparators.spec import CompareSpec
from config.model import SAFE_METHODS, Mode, RouteRule

ID = "{id}"
MAX_AUTO_ROUTES = 2_000  # beyond this many distinct templates, new ones fold into one per method
_HEX24 = re.compile(r"[0-9a-fA-F]{24}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True, slots=True)
class Route:
    """The route an exchange belongs to, with what the shadow path needs to know about it."""

    name: str
    compare: CompareSpec
    sample_rate: float
    rule: RouteRule | None = None  # None: an automatic route
    mode: Mode = Mode.SHADOW  # the configured mode; the live one is in proxy.modes.ModeTable

    def mirrors(self, method: str) -> bool:
        """Whether requests with this method may be sent to the candidate at all."""
        if self.rule is None:
            return method in SAFE_METHODS
        return self.rule.mirrors(method)


def is_identifier(segment: str) -> bool:
    """Integers, 24-hex object ids and UUIDs: the path segments that name one resource."""
    if segment.isdigit():
        return True
    size = len(segment)
    if size == 24:
        return _HEX24.fullmatch(segment) is not None
    return size == 36 and _UUID.fullmatch(segment) is not None


@lru_cache(maxsize=8192)
def auto_template(method: str, path: str) -> str:
    """`GET /v0/mission/{id}` for `GET /v0/mission/65a1f0c2e4b0a1b2c3d4e5f6`."""
    segments = [ID if is_identifier(s) else s for s in path.split("/")]
    return f"{method} {'/'.join(segments)}"


@dataclass(frozen=True, slots=True)
class _Pattern:
    rule: RouteRule
    segments: tuple[str | None, ...]  # None: a {param} segment, matching any one non-empty segment

    @classmethod
    def compile(cls, rule: RouteRule) -> _Pattern:
        parts = rule.path.split("/")
        return cls(rule, tuple(None if p.startswith("{") and p.endswith("}") else p for p in parts))

    def matches(self, method: str, parts: list[str]) -> bool:
        methods = self.rule.methods
        if method not in methods and "*" not in methods:
            return False
        if len(parts) != len(self.segments):
            return False
        return all(p == s if s is not None else p != "" for p, s in zip(parts, self.segments, strict=True))


class Router:
    """Matches (method, path) to a Route; configured rules in order first, then automatic templates."""

    def __init__(
        self, rules: tuple[RouteRule, ...], default_compare: CompareSpec, sample_rate: float
    ) -> None:
        self._patterns = tuple(_Pattern.compile(rule) for rule in rules)
        self._configured = {
            rule.name: Route(rule.name, rule.compare, _rate(rule, sample_rate), rule, rule.mode)
            for rule in rules
        }
        self._default_compare = default_compare
        self._sample_rate = sample_rate
        self._auto: dict[str, Route] = {}

    def configured(self, name: str) -> Route | None:
        """The configured route of that name, if any."""
        return self._configured.get(name)

    def match(self, method: str, path: str) -> Route:
        """The route of a request; `path` is the raw path without the query string."""
        if self._patterns:
            parts = path.split("/")
            for pattern in self._patterns:
                if pattern.matches(method, parts):
                    return self._configured[pattern.rule.name]
        return self._automatic(auto_template(method, path), method)

    def _automatic(self, name: str, method: str) -> Route:
        route = self._auto.get(name)
        if route is None:
            if len(self._auto) >= MAX_AUTO_ROUTES:
                name = f"{method} (other)"
                route = self._auto.get(name)
            if route is None:
                route = Route(name, self._default_compare, self._sample_rate)
                self._auto[name] = route
        return route


def _rate(rule: RouteRule, default: float) -> float:
    return default if rule.sample_rate is None else rule.sample_rate
