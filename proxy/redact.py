"""Redaction before anything is stored or logged: headers, query parameters and JSON body paths.

A redacted value becomes ``[redacted:<8 hex>]``, a (keyed) SHA-256 of the value, so equal secrets still
compare equal across requests, sides and replicas. Every value redacted from a request is also remembered as
a secret and scrubbed wherever it shows up again (an upstream echoing a token in its body, a cookie in a
difference).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus

import orjson

from comparators.paths import ANY_INDEX, ANY_KEY, MISSING, Path, parse_path, render_key
from config.model import RedactSettings

MIN_SECRET_LENGTH = 4  # shorter values are too likely to occur by chance to be scrubbed everywhere
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Redactor:
    """What to redact and the key of the hash; built once from the config."""

    headers: frozenset[str] = frozenset()
    query_params: frozenset[str] = frozenset()
    body_paths: tuple[Path, ...] = ()
    key: bytes = field(default=b"", repr=False)

    @classmethod
    def from_settings(cls, settings: RedactSettings, key: bytes = b"") -> Redactor:
        """Raise ValueError naming the first body path that does not parse."""
        paths = []
        for index, text in enumerate(settings.body_paths):
            try:
                paths.append(parse_path(text))
            except ValueError as exc:
                raise ValueError(f"redact.body_paths[{index}]: {exc}") from None
        return cls(
            headers=frozenset(h.lower() for h in settings.headers),
            query_params=frozenset(p.lower() for p in settings.query_params),
            body_paths=tuple(p for p in paths if p.is_json),
            key=key,
        )

    def mask(self, value: str) -> str:
        data = value.encode("utf-8", "surrogatepass")
        digest = hmac.new(self.key, data, hashlib.sha256) if self.key else hashlib.sha256(data)
        return f"[redacted:{digest.hexdigest()[:8]}]"

    def mask_json(self, value: Any) -> str:
        if isinstance(value, str):
            return self.mask(value)
        try:
            text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # nested deeper than orjson writes (254 levels): hash a stand-in, never the value
            text = f"<{type(value).__name__} nested too deep>"
        return self.mask(text)


@dataclass
class Secrets:
    """Values redacted so far for one exchange: scrubbed wherever they appear again."""

    values: set[str] = field(default_factory=set)

    def add(self, *values: str) -> None:
        for value in values:
            if len(value) >= MIN_SECRET_LENGTH:
                self.values.add(value)

    def add_json(self, value: Any) -> None:
        """Every string and number inside a redacted JSON value (walked without recursion: any depth)."""
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str):
                self.add(item)
            elif item is not None and not isinstance(item, bool):
                self.add(str(item))

    def forms(self) -> list[str]:
        """Each secret as written raw and JSON-escaped, longest first so overlapping secrets go whole."""
        found = {form for value in self.values for form in (value, json.dumps(value)[1:-1])}
        return sorted(found, key=len, reverse=True)


def scrub_text(redactor: Redactor, text: str, secrets: Secrets) -> str:
    for form in secrets.forms():
        if form in text:
            text = text.replace(form, redactor.mask(form))
    return text


def scrub_bytes(redactor: Redactor, data: bytes, secrets: Secrets) -> bytes:
    for form in secrets.forms():
        raw = form.encode("utf-8", "surrogatepass")
        if raw in data:
            data = data.replace(raw, redactor.mask(form).encode())
    return data


def redact_header_value(redactor: Redactor, name: str, value: str, secrets: Secrets) -> str:
    """One header's value; cookies keep their names and attributes, credentials keep their scheme."""
    lowered = name.lower()
    if lowered not in redactor.headers:
        return value
    if lowered in COOKIE_HEADERS:
        return _redact_cookies(redactor, value, secrets, only_first=lowered == "set-cookie")
    if lowered in CREDENTIAL_HEADERS and " " in value.strip():
        scheme, _, credential = value.strip().partition(" ")
        secrets.add(value, credential.strip())
        return f"{scheme} {redactor.mask(credential.strip())}"
    secrets.add(value)
    return redactor.mask(value)


def _redact_cookies(redactor: Redactor, value: str, secrets: Secrets, only_first: bool) -> str:
    """`a=1; b=2` keeps the names; for Set-Cookie only the first pair is a value, the rest are attributes."""
    parts = value.split(";")
    for index, part in enumerate(parts):
        if only_first and index > 0:
            break
        name, sep, cookie = part.partition("=")
        if sep and cookie.strip():
            secrets.add(cookie.strip(), unquote(cookie.strip()))
            parts[index] = f"{name}={redactor.mask(cookie.strip())}"
    return ";".join(parts)


def redact_headers(redactor: Redactor, headers: Iterable[tuple[str, str]], secrets: Secrets) -> Headers:
    return tuple((name, redact_header_value(redactor, name, value, secrets)) for name, value in headers)


def redact_query(redactor: Redactor, query: str, secrets: Secrets) -> str:
    """Redact configured parameters in a raw query string, leaving every other byte as it was."""
    parts = query.split("&")
    for index, part in enumerate(parts):
        name, sep, value = part.partition("=")
        if sep and value and unquote_plus(name).lower() in redactor.query_params:
            plain = unquote_plus(value)
            secrets.add(value, plain)
            parts[index] = f"{name}={redactor.mask(plain)}"
    return "&".join(parts)


def redact_target(redactor: Redactor, target: str, secrets: Secrets) -> str:
    path, sep, query = target.partition("?")
    return f"{path}?{redact_query(redactor, query, secrets)}" if sep else target


def redact_json(redactor: Redactor, document: Any, secrets: Secrets) -> tuple[Any, int]:
    """Replace the value at every configured body path; returns the new document and how many were hit."""
    total = 0
    for path in redactor.body_paths:

        def mask(_: str, value: Any) -> Any:
            if value is MISSING:
                return value
            secrets.add_json(value)
            return redactor.mask_json(value)

        document, hits = path.edit(document, mask)
        total += hits
    return document, total


def redact_body(redactor: Redactor, body: bytes, content_type: str, secrets: Secrets) -> bytes:
    """A JSON body loses its configured paths, a form body its configured parameters; others pass as is."""
    if not body:
        return body
    if "application/x-www-form-urlencoded" in content_type.lower():
        text = body.decode("latin-1")
        return redact_query(redactor, text, secrets).encode("latin-1")
    if not redactor.body_paths:
        return body
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    redacted, hits = redact_json(redactor, document, secrets)
    if not hits:
        return body
    try:
        return orjson.dumps(redacted)
    except TypeError:  # deeper than orjson writes (254 levels): keep none of the body rather than all of it
        return redactor.mask(body.decode("utf-8", "replace")).encode()


def redact_difference_value(redactor: Redactor, path: str, value: Any, secrets: Secrets) -> Any:
    """A difference's value: masked when its path is redacted, with redacted keys masked inside containers."""
    if value is MISSING or value is None:
        return value
    if path.startswith("header:"):
        name = path[len("header:") :]
        return redact_header_value(redactor, name, value, secrets) if isinstance(value, str) else value
    if any(p.matches(path) for p in redactor.body_paths):
        secrets.add_json(value)
        return redactor.mask_json(value)
    if isinstance(value, dict | list):
        return _redact_nested(redactor, value, secrets)
    return value


def _redact_nested(redactor: Redactor, value: Any, secrets: Secrets) -> Any:
    """Inside a subtree the absolute paths no longer apply: redact every key a body path ends with."""
    for path in redactor.body_paths:
        last = path.segments[-1] if path.segments else ANY_KEY
        if last in (ANY_KEY, ANY_INDEX):
            secrets.add_json(value)
            return redactor.mask_json(value)
        deep = parse_path("$.." + render_key(last).removeprefix("."))

        def mask(_: str, found: Any) -> Any:
            secrets.add_json(found)
            return redactor.mask_json(found)

        value, _ = deep.edit(value, mask)
    return value
