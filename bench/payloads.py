"""The static JSON bodies the benchmark upstreams serve: identical pairs and pairs that always differ."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

KIB = 1024


@dataclass(frozen=True, slots=True)
class Payload:
    """One file served at `path`, with the bytes legacy and candidate each serve there."""

    path: str
    legacy: bytes
    candidate: bytes

    @property
    def differs(self) -> bool:
        return self.legacy != self.candidate


def _record(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "sku": f"SKU-{n:06d}",
        "name": f"Benchmark item {n}",
        "price": round(1.5 + n * 0.73, 2),
        "stock": (n * 13) % 97,
        "active": n % 3 != 0,
        "tags": ["alpha", "beta", "gamma"][: 1 + n % 3],
    }


def json_document(target_bytes: int) -> dict[str, Any]:
    """A document of realistic shape whose compact encoding is at least `target_bytes` long (and close)."""
    items: list[dict[str, Any]] = []
    size = len(encode({"ok": True, "total": 0, "items": []}))
    while size < target_bytes:
        items.append(_record(len(items) + 1))
        size += len(encode(items[-1])) + 1  # the item and its comma (an upper bound, close enough)
    return {"ok": True, "total": len(items), "items": items}


def differing(document: dict[str, Any]) -> dict[str, Any]:
    """The same document with a changed value, a type change and a missing field in every item."""
    return {**document, "items": [_changed(item) for item in document["items"]]}


def _changed(item: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in item.items() if key != "sku"}
    return {**kept, "price": item["price"] + 1, "stock": str(item["stock"])}


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def identical_pair(path: str, size: int) -> Payload:
    body = encode(json_document(size))
    return Payload(path, body, body)


def differing_pair(path: str, size: int) -> Payload:
    document = json_document(size)
    return Payload(path, encode(document), encode(differing(document)))


PAYLOADS: tuple[Payload, ...] = (
    identical_pair("/same-1k.json", KIB),
    identical_pair("/same-50k.json", 50 * KIB),
    differing_pair("/differ-1k.json", KIB),
    differing_pair("/differ-1m.json", KIB * KIB),
)
