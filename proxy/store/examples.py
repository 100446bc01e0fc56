"""Turn one diverging Exchange into a stored Example: signature, redaction, decoding and truncation."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

from comparators.body import decode_content
from comparators.model import Comparison, Observation
from comparators.paths import MISSING
from proxy.records import Exchange
from proxy.redact import (
    Headers,
    Redactor,
    Secrets,
    redact_body,
    redact_difference_value,
    redact_headers,
    redact_target,
    scrub_bytes,
    scrub_text,
)
from proxy.store.base import Body, Example, Signature, StoredResponse

# One side as redacted so far: headers, the decoded body (or why it is withheld), the decoded size.
_Side = tuple[Observation, bytes | str, int]
FALLBACK_SIGNATURE: Signature = (("error", "error"),)  # a failed comparison that named no difference
MAX_VALUE_CHARS = 4096  # one difference's value, as JSON, in an example


def exchange_signature(comparison: Comparison) -> Signature:
    return comparison.signature() or FALLBACK_SIGNATURE


def signature_hash(route: str, signature: Signature) -> str:
    """A stable 16-hex id of (route, sorted (path, kind) pairs): identical divergences share it."""
    payload = json.dumps([route, [list(pair) for pair in signature]], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def stored_body(data: bytes, limit: int, size: int | None = None) -> Body:
    """UTF-8 text when it is (a cut inside a character is trimmed), else base64; at most `limit` bytes."""
    total = len(data) if size is None else size
    cut = data[:limit]
    try:
        text = cut.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(data) <= limit or exc.start < len(cut) - 3:
            return Body(base64.b64encode(cut).decode("ascii"), "base64", total)
        text = cut[: exc.start].decode("utf-8", "replace")
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        return Body(base64.b64encode(cut).decode("ascii"), "base64", total)
    return Body(text, "text", total)


def withheld(reason: str, size: int) -> Body:
    return Body(f"[withheld: {reason}]", "text", size)


def _header(headers: Headers, name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), "")


class ExampleBuilder:
    """Builds examples with one redactor and one body limit; every secret redacted anywhere is scrubbed."""

    def __init__(self, redactor: Redactor, max_body_bytes: int) -> None:
        self.redactor = redactor
        self.limit = max_body_bytes

    def build(self, exchange: Exchange, signature: str, instance_id: str = "") -> Example:
        secrets = Secrets()
        request = exchange.request
        target = redact_target(self.redactor, request.target, secrets)
        headers = redact_headers(self.redactor, request.headers, secrets)
        body = redact_body(self.redactor, request.body, _header(request.headers, "content-type"), secrets)
        legacy = self._side(exchange.legacy, secrets)
        candidate = self._side(exchange.candidate, secrets)
        differences = self._differences(exchange.comparison, secrets)
        return Example(
            id=uuid.uuid4().hex,
            signature=signature,
            route=exchange.route,
            recorded_at=request.received_at,
            request_id=request.request_id,
            trace_id=exchange.trace_id,
            method=request.method,
            target=scrub_text(self.redactor, target, secrets),
            request_headers=self._scrub_headers(headers, secrets),
            request_body=stored_body(
                scrub_bytes(self.redactor, body, secrets), self.limit, len(request.body)
            ),
            legacy=self._scrubbed(legacy, secrets),
            candidate=self._scrubbed(candidate, secrets),
            verdict=exchange.comparison.verdict.value,
            differences=scrub_text(self.redactor, differences, secrets),
            instance_id=instance_id,
        )

    def _side(self, observation: Observation, secrets: Secrets) -> _Side:
        """Redacted headers now (their secrets become known); the decoded redacted body, or why withheld."""
        headers = redact_headers(self.redactor, observation.headers, secrets)
        redacted = Observation(
            status=observation.status,
            headers=headers,
            error=observation.error,
            error_detail=observation.error_detail,
            elapsed_ms=observation.elapsed_ms,
        )
        decoded, note = decode_content(observation.body, _header(observation.headers, "content-encoding"))
        if note:
            return redacted, note, len(observation.body)  # undecodable bytes could hide anything: keep none
        content_type = _header(observation.headers, "content-type")
        return redacted, redact_body(self.redactor, decoded, content_type, secrets), len(decoded)

    def _scrubbed(self, side: _Side, secrets: Secrets) -> StoredResponse:
        observation, body, size = side
        stored = (
            withheld(body, size)
            if isinstance(body, str)
            else stored_body(scrub_bytes(self.redactor, body, secrets), self.limit, size)
        )
        error = str(observation.error) if observation.error is not None else None
        if error and observation.error_detail:
            error = f"{error}: {scrub_text(self.redactor, observation.error_detail, secrets)}"
        return StoredResponse(
            status=observation.status,
            headers=self._scrub_headers(observation.headers, secrets),
            body=stored,
            error=error,
            elapsed_ms=observation.elapsed_ms,
        )

    def _scrub_headers(self, headers: Headers, secrets: Secrets) -> Headers:
        return tuple((name, scrub_text(self.redactor, value, secrets)) for name, value in headers)

    def _differences(self, comparison: Comparison, secrets: Secrets) -> str:
        rows = []
        for difference in comparison.differences:
            path = difference.path
            rows.append(
                {
                    "path": path,
                    "kind": difference.kind.value,
                    "legacy": _bounded(
                        redact_difference_value(self.redactor, path, difference.legacy, secrets)
                    ),
                    "candidate": _bounded(
                        redact_difference_value(self.redactor, path, difference.candidate, secrets)
                    ),
                }
            )
        return json.dumps(rows)


def _json_default(value: Any) -> Any:
    if value is MISSING:
        return "(missing)"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _bounded(value: Any) -> Any:
    """A difference value as stored: JSON-safe, and cut to MAX_VALUE_CHARS of JSON when larger."""
    if value is MISSING:
        return "(missing)"
    text = json.dumps(value, default=_json_default)
    if len(text) <= MAX_VALUE_CHARS:
        return json.loads(text)
    return text[:MAX_VALUE_CHARS] + "…(truncated)"
