"""Turn a response body into a comparable value: undo Content-Encoding, detect the content kind, parse it."""

from __future__ import annotations

import enum
import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import brotli
import orjson

MAX_DECODED_BYTES = 64 * 1024 * 1024  # a decompression bomb becomes an undecodable body, not an OOM
PREVIEW_CHARS = 200

_JSON_TYPES = frozenset({"application/json", "text/json"})
_NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"}
)
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded"})
_TEXT_SUFFIXES = ("+xml",)
_TEXT_TYPES = frozenset(
    {"application/xml", "application/javascript", "application/xhtml+xml", "image/svg+xml"}
)


class BodyKind(enum.StrEnum):
    """How a body is compared: JSON-like kinds structurally, text and bytes as a whole."""

    EMPTY = "empty"
    JSON = "json"
    NDJSON = "ndjson"  # content is a list of documents, one per line
    FORM = "form"  # content is {key: value or [values]}
    TEXT = "text"
    BYTES = "bytes"

    @property
    def structured(self) -> bool:
        return self in (BodyKind.JSON, BodyKind.NDJSON, BodyKind.FORM)


@dataclass(frozen=True, slots=True)
class Body:
    """A decoded body: `content` is the parsed document, a str, or bytes; `raw` the decoded bytes."""

    kind: BodyKind
    content: Any
    raw: bytes = b""
    note: str = ""  # why the body is not what its headers claim (undecodable, invalid JSON)

    def describe(self) -> str:
        """A short, bounded description for a difference: kind, size, digest, preview."""
        prefix = f"{self.note}; " if self.note else ""
        if self.kind is BodyKind.TEXT and isinstance(self.content, str):
            return prefix + _preview_text(self.content, len(self.raw), self.raw)
        return prefix + describe_bytes(self.raw)


def describe_bytes(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    preview = data[:PREVIEW_CHARS].decode("utf-8", "replace")
    more = "…" if len(data) > PREVIEW_CHARS else ""
    return f"{len(data)} bytes sha256:{digest} {preview!r}{more}"


def _preview_text(text: str, size: int, raw: bytes) -> str:
    digest = hashlib.sha256(raw).hexdigest()[:12]
    more = "…" if len(text) > PREVIEW_CHARS else ""
    return f"{size} bytes sha256:{digest} {text[:PREVIEW_CHARS]!r}{more}"


def media_type(content_type: str) -> tuple[str, str]:
    """(lowercase media type, charset or '') of a Content-Type value."""
    parts = content_type.split(";")
    charset = ""
    for param in parts[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return parts[0].strip().lower(), charset


def decode_content(data: bytes, content_encoding: str) -> tuple[bytes, str]:
    """Undo every listed encoding (last applied first); on failure return the raw bytes and why."""
    if not content_encoding:  # most bodies: nothing to undo
        return data, ""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    decoded = data
    for coding in reversed(codings):
        try:
            decoded = _decode_one(decoded, coding)
        except (OSError, ValueError, zlib.error, brotli.error) as exc:
            return data, f"undecodable {coding} body ({exc})"
    return decoded, ""


def _decode_one(data: bytes, coding: str) -> bytes:
    if coding in ("identity", ""):
        return data
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, zlib.MAX_WBITS | 16)
    if coding == "deflate":
        try:
            return _inflate(data, zlib.MAX_WBITS)
        except zlib.error:
            return _inflate(data, -zlib.MAX_WBITS)  # some servers send raw deflate without the zlib header
    if coding == "br":
        decompressor = brotli.Decompressor()
        out = decompressor.process(data, output_buffer_limit=MAX_DECODED_BYTES + 1)
        if len(out) > MAX_DECODED_BYTES or not decompressor.is_finished():
            raise ValueError(f"truncated or larger than {MAX_DECODED_BYTES} bytes once decoded")
        return bytes(out)
    raise ValueError(f"unsupported content-encoding {coding!r}")


def _inflate(data: bytes, wbits: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    out = decompressor.decompress(data, MAX_DECODED_BYTES + 1)
    if len(out) > MAX_DECODED_BYTES:
        raise ValueError(f"larger than {MAX_DECODED_BYTES} bytes once decoded")
    if not decompressor.eof:
        raise ValueError("truncated stream")
    return out


def parse_json(data: bytes) -> Any:
    """orjson first; the stdlib for what orjson refuses (1e400); ValueError when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        first_error = str(exc)
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError(f"invalid JSON: {first_error}") from None


def read_body(data: bytes, content_type: str, content_encoding: str = "") -> Body:
    """Decode and parse a body by its declared type, sniffing JSON when the type does not say."""
    decoded, note = decode_content(data, content_encoding)
    if note:
        return Body(BodyKind.BYTES, decoded, decoded, note)
    if not decoded:
        return Body(BodyKind.EMPTY, None, decoded)
    media, charset = media_type(content_type)
    return parse_as(decoded, _declared_kind(media), charset)


def _declared_kind(media: str) -> BodyKind | None:
    if media in _JSON_TYPES or media.endswith("+json"):
        return BodyKind.JSON
    if media in _NDJSON_TYPES:
        return BodyKind.NDJSON
    if media in _FORM_TYPES:
        return BodyKind.FORM
    if media.startswith("text/") or media in _TEXT_TYPES or media.endswith(_TEXT_SUFFIXES):
        return BodyKind.TEXT
    return None


def parse_as(data: bytes, kind: BodyKind | None, charset: str = "") -> Body:
    """Parse decoded bytes as `kind` (None: sniff JSON, else bytes); a parse failure is a note."""
    if not data:
        return Body(BodyKind.EMPTY, None, data)
    if kind is BodyKind.JSON:
        try:
            return Body(BodyKind.JSON, parse_json(data), data)
        except ValueError as exc:
            return Body(BodyKind.BYTES, data, data, str(exc))
    if kind is BodyKind.NDJSON:
        return _parse_ndjson(data)
    if kind is BodyKind.FORM:
        return _parse_form(data, charset)
    sniffed = _sniff_json(data)
    if sniffed is not None:
        return sniffed
    if kind is BodyKind.TEXT:
        return _parse_text(data, charset)
    return Body(BodyKind.BYTES, data, data)


def _sniff_json(data: bytes) -> Body | None:
    start = data.lstrip()[:1]
    if start not in (b"{", b"["):
        return None
    try:
        return Body(BodyKind.JSON, parse_json(data), data)
    except ValueError:
        return None


def _parse_ndjson(data: bytes) -> Body:
    documents = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            documents.append(parse_json(line))
        except ValueError as exc:
            return Body(BodyKind.BYTES, data, data, f"invalid NDJSON line {number}: {exc}")
    return Body(BodyKind.NDJSON, documents, data)


def _parse_form(data: bytes, charset: str) -> Body:
    try:
        text = data.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError) as exc:
        return Body(BodyKind.BYTES, data, data, f"undecodable form body ({exc})")
    fields: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        existing = fields.get(key)
        if existing is None:
            fields[key] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            fields[key] = [existing, value]
    return Body(BodyKind.FORM, fields, data)


def _parse_text(data: bytes, charset: str) -> Body:
    try:
        return Body(BodyKind.TEXT, data.decode(charset or "utf-8"), data)
    except (LookupError, UnicodeDecodeError):
        return Body(BodyKind.BYTES, data, data)
